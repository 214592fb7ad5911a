//! The restore runbook of the open file, in the Overview: the members, data
//! dirs, token, etcd version, snapshot path and `--bump-revision` as fields
//! (prefilled from what the worker read from the file: `protocol::RestoreFacts`),
//! the core's `restore::plan` computed on every edit, its steps in order with
//! each member's commands, a Copy button on each and a "Copy all" that gives
//! the whole runbook as a shell script.
//!
//! What it does not: build commands itself (the core does, exactly as
//! `etcd-lens restore-plan` prints them) or keep a runbook for other input
//! than shown: while a field is wrong its error is shown next to it and no
//! runbook is, since commands for other members than typed could restore the
//! wrong cluster.
//!
//! The form's logic (`RunbookForm`, `script`) is pure and unit-tested natively.

use etcd_lens_core::restore::{
    self, EtcdVersion, MembersSource, PlanMember, RestoreError, RestoreInput, RestorePlan, Step,
    StepId, VersionSource,
};
use leptos::prelude::*;

use crate::protocol::{RestoreFacts, RestoreMember};
use crate::state::Inspection;

/// One input of the runbook's form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Members,
    Version,
    DataDir,
    Token,
    SnapshotPath,
    BumpRevision,
}

impl Field {
    pub const ALL: [Field; 6] = [
        Field::Members,
        Field::Version,
        Field::DataDir,
        Field::Token,
        Field::SnapshotPath,
        Field::BumpRevision,
    ];

    /// The `data-testid` and element id suffix (`runbook-{id}`): the CLI flag's name where there is one.
    pub fn id(self) -> &'static str {
        match self {
            Field::Members => "members",
            Field::Version => "version",
            Field::DataDir => "data-dir",
            Field::Token => "token",
            Field::SnapshotPath => "snapshot-path",
            Field::BumpRevision => "bump-revision",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Field::Members => "Members (name=peer-url,…)",
            Field::Version => "etcd version after the restore",
            Field::DataDir => "Data dir ({name} becomes the member's name)",
            Field::Token => "Initial cluster token",
            Field::SnapshotPath => "Snapshot file on every member",
            Field::BumpRevision => "Bump the revision by (empty: no --bump-revision)",
        }
    }

    fn placeholder(self) -> &'static str {
        match self {
            Field::Members => {
                "m1=https://10.0.0.1:2380,m2=https://10.0.0.2:2380,m3=https://10.0.0.3:2380"
            }
            Field::Version => "3.4, 3.5, 3.6 or with the patch: 3.5.21",
            Field::DataDir => "/var/lib/etcd",
            Field::Token => "etcd-restore-…",
            Field::SnapshotPath => "/var/tmp/snapshot.db",
            Field::BumpRevision => "e.g. 1000000000",
        }
    }
}

/// Why the form gives no runbook: a message per field that is wrong.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(pub Vec<(Field, String)>);

impl FieldErrors {
    pub fn get(&self, f: Field) -> Option<&str> {
        self.0
            .iter()
            .find(|(g, _)| *g == f)
            .map(|(_, m)| m.as_str())
    }
}

/// Which field a refusal of the core's is about.
pub fn field_of(e: &RestoreError) -> Field {
    match e {
        RestoreError::Version { .. } | RestoreError::UnsupportedVersion { .. } => Field::Version,
        RestoreError::NoMembers
        | RestoreError::MemberSyntax { .. }
        | RestoreError::MemberName { .. }
        | RestoreError::UnnamedMember { .. }
        | RestoreError::NoPeerUrl { .. }
        | RestoreError::PeerUrl { .. }
        | RestoreError::DuplicatePeerUrl { .. } => Field::Members,
        RestoreError::EmptyDataDir
        | RestoreError::DataDirPlaceholder { .. }
        | RestoreError::SharedDataDir { .. } => Field::DataDir,
        RestoreError::Token => Field::Token,
        RestoreError::BumpUnavailable { .. } | RestoreError::BumpZero => Field::BumpRevision,
    }
}

/// The open file as the runbook sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenFile {
    pub facts: RestoreFacts,
    pub file_name: String,
    /// Layers were peeled off (age, gzip, zstd, zip): the file to copy is the plain one inside.
    pub wrapped: bool,
}

impl OpenFile {
    /// The members as the form shows them: `name=peer-url,…`, a name repeated
    /// for each of its peer URLs (as `--members` and `--initial-cluster` take them).
    pub fn members_text(&self) -> String {
        self.facts
            .members
            .iter()
            .flat_map(|m| m.peer_urls.iter().map(move |u| format!("{}={u}", m.name)))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The file's cluster version as the runbook takes it: major.minor only
    /// (`cluster/clusterVersion` is `3.5.0` whatever the binaries' patch).
    pub fn cluster_version(&self) -> Option<Result<EtcdVersion, RestoreError>> {
        let cv = self.facts.cluster_version.as_deref()?;
        Some(EtcdVersion::parse(cv).map(|v| EtcdVersion { patch: None, ..v }))
    }

    /// The plain snapshot's name: a wrapped file's without its layers' extensions.
    pub fn plain_name(&self) -> String {
        let base = self
            .file_name
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or_default();
        if !self.wrapped {
            return if base.is_empty() {
                "snapshot.db".into()
            } else {
                base.to_string()
            };
        }
        let mut s = base;
        while let Some(stripped) = [".age", ".gz", ".zst", ".zip", ".asc"]
            .iter()
            .find_map(|ext| s.strip_suffix(ext))
        {
            s = stripped;
        }
        if s == base || s.is_empty() {
            format!("{}.db", if s.is_empty() { "snapshot" } else { s })
        } else {
            s.to_string()
        }
    }

    /// Where the members came from, for the line under the field.
    pub fn members_source(&self, form: &RunbookForm) -> String {
        let n = self.facts.members.len();
        match &self.facts.members_error {
            Some(e) => format!("The file's members cannot be used ({e}): type them."),
            None if form.members.trim() == self.members_text() => format!(
                "From the file's members bucket ({n} member{}).",
                if n == 1 { "" } else { "s" }
            ),
            None => format!("As typed (the file has: {}).", self.members_text()),
        }
    }

    /// Where the version came from, for the line under the field.
    pub fn version_source(&self, form: &RunbookForm) -> String {
        let cv = self.facts.cluster_version.as_deref();
        match (self.cluster_version(), cv) {
            (Some(Ok(v)), Some(cv)) if form.version.trim() == v.to_string() => format!(
                "From the file's cluster version (cluster/clusterVersion {cv}): major.minor only, the binaries' patch is not in the file. Give it (e.g. {v}.21) to know whether --bump-revision exists."
            ),
            (Some(Err(e)), Some(cv)) => {
                format!("The file's cluster version {cv:?} is not usable ({e}): type the version.")
            }
            (_, Some(cv)) => format!("As typed (the file's cluster version is {cv})."),
            (_, None) => {
                "The file has no cluster version (cluster/clusterVersion): type 3.4, 3.5 or 3.6."
                    .into()
            }
        }
    }
}

/// The form as typed: every field keeps its text, right or wrong.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunbookForm {
    pub members: String,
    pub version: String,
    pub data_dir_pattern: String,
    pub token: String,
    pub snapshot_path: String,
    pub bump_revision: String,
}

impl RunbookForm {
    /// The form for a file just opened: what `etcd-lens restore-plan FILE`
    /// uses without flags (members and version from the file, `/var/lib/etcd`,
    /// `etcd-restore-r<revision>`), and a path on the hosts the browser cannot
    /// know: `/var/tmp/` and the plain file's name.
    pub fn prefilled(file: &OpenFile) -> Self {
        Self {
            members: file.members_text(),
            version: match file.cluster_version() {
                Some(Ok(v)) => v.to_string(),
                _ => String::new(),
            },
            data_dir_pattern: "/var/lib/etcd".into(),
            token: format!("etcd-restore-r{}", file.facts.revision),
            snapshot_path: format!("/var/tmp/{}", file.plain_name()),
            bump_revision: String::new(),
        }
    }

    pub fn get(&self, f: Field) -> &str {
        match f {
            Field::Members => &self.members,
            Field::Version => &self.version,
            Field::DataDir => &self.data_dir_pattern,
            Field::Token => &self.token,
            Field::SnapshotPath => &self.snapshot_path,
            Field::BumpRevision => &self.bump_revision,
        }
    }

    pub fn set(&mut self, f: Field, value: String) {
        match f {
            Field::Members => self.members = value,
            Field::Version => self.version = value,
            Field::DataDir => self.data_dir_pattern = value,
            Field::Token => self.token = value,
            Field::SnapshotPath => self.snapshot_path = value,
            Field::BumpRevision => self.bump_revision = value,
        }
    }

    /// The core's input, or what is wrong with each field that does not parse.
    /// Members equal to the file's keep their client URLs and learner flags
    /// (as `restore-plan` without `--members`); a version equal to the file's
    /// says it came from there.
    pub fn input(&self, file: &OpenFile) -> Result<RestoreInput, FieldErrors> {
        let mut errors = Vec::new();
        let members =
            if file.facts.members_error.is_none() && self.members.trim() == file.members_text() {
                Some((
                    file.facts.members.iter().map(plan_member).collect(),
                    MembersSource::Snapshot,
                ))
            } else {
                restore::parse_members(&self.members)
                    .map(|m| (m, MembersSource::Given))
                    .map_err(|e| errors.push((Field::Members, e.to_string())))
                    .ok()
            };
        let typed = self.version.trim();
        let version = match file.cluster_version() {
            _ if typed.is_empty() => {
                errors.push((
                    Field::Version,
                    "give the etcd version of the restored cluster: 3.4, 3.5 or 3.6 (with the patch, e.g. 3.5.21, to know whether --bump-revision exists)".into(),
                ));
                None
            }
            Some(Ok(v)) if typed == v.to_string() => Some((v, VersionSource::ClusterVersion)),
            _ => EtcdVersion::parse(typed)
                .map(|v| (v, VersionSource::Given))
                .map_err(|e| errors.push((Field::Version, e.to_string())))
                .ok(),
        };
        let bump = self.bump_revision.trim();
        let bump_revision = if bump.is_empty() {
            None
        } else {
            match bump.parse::<u64>() {
                Ok(n) => Some(n),
                Err(_) => {
                    errors.push((
                        Field::BumpRevision,
                        format!("{bump:?} is not a whole number of revisions (e.g. 1000000000)"),
                    ));
                    None
                }
            }
        };
        let snapshot_path = self.snapshot_path.trim();
        if snapshot_path.is_empty() {
            errors.push((
                Field::SnapshotPath,
                "give the path the plain snapshot file will have on every member".into(),
            ));
        }
        match (members, version) {
            (Some((members, members_source)), Some((version, version_source)))
                if errors.is_empty() =>
            {
                Ok(RestoreInput {
                    members,
                    members_source,
                    version,
                    version_source,
                    data_dir_pattern: self.data_dir_pattern.clone(),
                    initial_cluster_token: self.token.clone(),
                    snapshot_path: snapshot_path.to_string(),
                    skip_hash_check: !file.facts.has_trailer,
                    revision: file.facts.revision,
                    kubernetes: file.facts.kubernetes,
                    bump_revision,
                })
            }
            _ => Err(FieldErrors(errors)),
        }
    }

    /// The runbook for this form, or what is wrong (the core's refusal shown
    /// at the field it is about).
    pub fn plan(&self, file: &OpenFile) -> Result<RestorePlan, FieldErrors> {
        let input = self.input(file)?;
        let mut plan =
            restore::plan(&input).map_err(|e| FieldErrors(vec![(field_of(&e), e.to_string())]))?;
        if file.wrapped {
            plan.warnings.push(format!(
                "{} is encrypted or compressed: decrypt/decompress it to {} (the plain snapshot) on every member",
                file.file_name, plan.snapshot_path
            ));
        }
        Ok(plan)
    }
}

fn plan_member(m: &RestoreMember) -> PlanMember {
    PlanMember {
        name: m.name.clone(),
        peer_urls: m.peer_urls.clone(),
        client_urls: m.client_urls.clone(),
        learner: m.learner,
    }
}

/// One line about the plan, as `etcd-lens restore-plan` heads its text.
pub fn summary(p: &RestorePlan) -> String {
    let source = match p.members_source {
        MembersSource::Snapshot => "from the snapshot",
        MembersSource::Given => "as given",
    };
    let version = match p.version_source {
        VersionSource::Given => "",
        VersionSource::ClusterVersion => " (the snapshot's cluster version)",
    };
    format!(
        "etcd {}{version}, {} restores; {} member{} {source}; snapshot revision {}",
        p.version,
        p.tool.program(),
        p.members.len(),
        if p.members.len() == 1 { "" } else { "s" },
        p.revision
    )
}

/// A step's id as the core serialises it (`move_data_dirs_aside`).
fn step_id(id: StepId) -> String {
    serde_json::to_value(id)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// What a step's per-member command is, for its Copy button's name.
fn command_kind(id: StepId) -> &'static str {
    match id {
        StepId::MoveDataDirsAside => "move-aside",
        StepId::Restore => "restore",
        StepId::StartEtcd => "start",
        _ => "",
    }
}

/// `text` as `# ` comment lines of at most about 78 columns.
fn comment(out: &mut String, indent: &str, text: &str) {
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && indent.len() + line.len() + word.len() + 3 > 78 {
            out.push_str(&format!("# {indent}{line}\n"));
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        out.push_str(&format!("# {indent}{line}\n"));
    }
}

/// The whole runbook as one shell script: the steps in order as comments,
/// each member's commands as lines under `# on NAME:`, the examples as
/// comments. It begins with `exit 1`: the lines are for different hosts, and
/// running the file as it is on one host must do nothing.
pub fn script(p: &RestorePlan) -> String {
    let mut s = String::from("#!/bin/sh\n");
    comment(&mut s, "", &format!("Restore runbook: {}.", summary(p)));
    s.push_str(&format!("# initial cluster: {}\n", p.initial_cluster));
    s.push_str(&format!("# token:           {}\n", p.initial_cluster_token));
    comment(
        &mut s,
        "",
        "A runbook, not a script for one host: run each member's lines on that member, the steps in order. The next line stops the file from running as it is.",
    );
    s.push_str("exit 1\n");
    for (i, step) in p.steps.iter().enumerate() {
        s.push('\n');
        s.push_str(&format!("# {}. {}\n", i + 1, step.title));
        comment(&mut s, "   ", &step.detail);
        for e in &step.examples {
            s.push_str(&format!("#    e.g. {e}\n"));
        }
        for c in &step.commands {
            s.push_str(&format!("# on {}:\n{}\n", c.member, c.command.shell));
        }
    }
    s.push('\n');
    comment(
        &mut s,
        "",
        &format!(
            "--bump-revision / --mark-compacted: {}",
            p.bump_revision.note
        ),
    );
    for w in &p.warnings {
        comment(&mut s, "", &format!("warning: {w}"));
    }
    s
}

/// What the last Copy did: which button, and the browser's refusal if it refused.
type LastCopy = RwSignal<Option<(String, Result<(), String>)>>;

/// Copy `text` (what it is: `what`) and say so at the button `key`.
fn copy_text(last: LastCopy, key: String, text: String) {
    leptos::task::spawn_local(async move {
        let r = crate::web::clipboard::write_text(&text).await;
        last.set(Some((key, r)));
    });
}

/// A Copy button and, beside it, what copying did.
fn copy_button(
    last: LastCopy,
    key: String,
    testid: &'static str,
    label: String,
    aria_label: String,
    text: String,
) -> impl IntoView {
    let k = key.clone();
    let status = move || {
        last.with(|l| match l {
            Some((at, Ok(()))) if *at == k => "Copied".to_string(),
            Some((at, Err(e))) if *at == k => {
                format!("Could not copy: {e}. Select the text and copy it by hand.")
            }
            _ => String::new(),
        })
    };
    let state = {
        let k = key.clone();
        move || {
            last.with(|l| match l {
                Some((at, Ok(()))) if *at == k => "copied",
                Some((at, Err(_))) if *at == k => "failed",
                _ => "",
            })
        }
    };
    view! {
        <button type="button" class="copy" data-testid=testid aria-label=aria_label
            on:click=move |_| copy_text(last, key.clone(), text.clone())>{label}</button>
        <span class="copy-status" role="status" data-testid=format!("{testid}-status") data-state=state>{status}</span>
    }
}

fn render_step(index: usize, step: Step, last: LastCopy) -> impl IntoView {
    let id = step_id(step.id);
    let kind = command_kind(step.id);
    let commands = step
        .commands
        .into_iter()
        .map(|c| {
            let key = format!("{index}/{}", c.member);
            let aria = format!("Copy {}'s {kind} command", c.member);
            view! {
                <li data-testid="runbook-command" data-step=id.clone() data-member=c.member.clone()>
                    <span class="runbook-member">{c.member.clone()}</span>
                    <code class="runbook-shell" data-testid="runbook-shell">{c.command.shell.clone()}</code>
                    {copy_button(last, key, "runbook-copy", "Copy".into(), aria, c.command.shell)}
                </li>
            }
        })
        .collect_view();
    let examples = (!step.examples.is_empty()).then(|| {
        view! {
            <ul class="runbook-examples" aria-label="Examples to adapt to the hosts">
                {step.examples.into_iter().map(|e| view! { <li><code>{e}</code></li> }).collect_view()}
            </ul>
        }
    });
    view! {
        <li class="runbook-step" data-testid="runbook-step" data-step=id>
            <h4>{step.title}</h4>
            <p>{step.detail}</p>
            <ul class="runbook-commands">{commands}</ul>
            {examples}
        </li>
    }
}

fn render_plan(p: RestorePlan, last: LastCopy) -> impl IntoView {
    let all = script(&p);
    let summary = summary(&p);
    let note = p.bump_revision.note.clone();
    let warnings = p.warnings.clone();
    view! {
        <div class="runbook" data-testid="runbook-plan">
            <p data-testid="runbook-summary">{summary}</p>
            <dl class="facts">
                <dt>"initial cluster"</dt>
                <dd><code data-testid="runbook-initial-cluster">{p.initial_cluster.clone()}</code></dd>
                <dt>"token"</dt>
                <dd><code data-testid="runbook-cluster-token">{p.initial_cluster_token.clone()}</code></dd>
            </dl>
            <p>{copy_button(last, "all".into(), "runbook-copy-all", "Copy all as a shell script".into(),
                "Copy all as a shell script".into(), all)}</p>
            <ol class="runbook-steps">
                {p.steps.into_iter().enumerate().map(|(i, s)| render_step(i, s, last)).collect_view()}
            </ol>
            <h4>"--bump-revision / --mark-compacted"</h4>
            <p data-testid="runbook-bump-note">{note}</p>
            {(!warnings.is_empty()).then(|| view! {
                <ul class="warnings" data-testid="runbook-warnings">
                    {warnings.into_iter().map(|w| view! { <li>{w}</li> }).collect_view()}
                </ul>
            })}
        </div>
    }
}

/// The runbook section: folded until opened; it waits for the key index (the
/// revision and the Kubernetes check need it).
#[component]
pub fn RestoreRunbook(state: RwSignal<Inspection>) -> impl IntoView {
    let open = Memo::new(move |_| {
        state.with(|s| {
            let facts = s.index.as_ref()?.restore_facts.clone()?;
            Some(OpenFile {
                facts,
                file_name: s.file_name.clone().unwrap_or_default(),
                wrapped: !s.layers.is_empty(),
            })
        })
    });
    let form = RwSignal::new(
        open.with_untracked(|o| o.as_ref().map(RunbookForm::prefilled))
            .unwrap_or_default(),
    );
    // Another file (or its facts arriving): the form starts from it.
    Effect::new(move |_| {
        if let Some(f) = open.with(|o| o.as_ref().map(RunbookForm::prefilled))
            && form.with_untracked(|x| *x != f)
        {
            form.set(f);
        }
    });
    let result = Memo::new(move |_| open.with(|o| o.as_ref().map(|o| form.with(|f| f.plan(o)))));
    let last: LastCopy = RwSignal::new(None);
    let field = move |f: Field| {
        let id = format!("runbook-{}", f.id());
        let (hint_id, error_id) = (format!("{id}-hint"), format!("{id}-error"));
        let error = move || {
            result.with(|r| match r {
                Some(Err(e)) => e.get(f).map(str::to_string),
                _ => None,
            })
        };
        let described = {
            let (h, e) = (hint_id.clone(), error_id.clone());
            move || match error() {
                Some(_) => format!("{h} {e}"),
                None => h.clone(),
            }
        };
        let invalid = move || error().is_some().then_some("true");
        let on_input = move |ev: leptos::ev::Event| {
            let v = event_target_value(&ev);
            // A "Copied" said of the commands before the edit is not of these.
            last.set(None);
            form.update(|x| x.set(f, v));
        };
        let value = move || form.with(|x| x.get(f).to_string());
        let control = if f == Field::Members {
            view! {
                <textarea id=id.clone() data-testid=id.clone() rows="2" spellcheck="false"
                    placeholder=f.placeholder() aria-describedby=described aria-invalid=invalid
                    prop:value=value on:input=on_input></textarea>
            }
            .into_any()
        } else {
            view! {
                <input id=id.clone() data-testid=id.clone() type="text" spellcheck="false" autocomplete="off"
                    inputmode=if f == Field::BumpRevision { "numeric" } else { "text" }
                    placeholder=f.placeholder() aria-describedby=described aria-invalid=invalid
                    prop:value=value on:input=on_input />
            }
            .into_any()
        };
        let hint = move || {
            open.with(|o| {
                let Some(o) = o else { return String::new() };
                form.with(|x| match f {
                    Field::Members => o.members_source(x),
                    Field::Version => o.version_source(x),
                    Field::DataDir => "Each member's data dir; the restore creates it.".into(),
                    Field::Token => "A fresh token, so the restored members never talk to the old ones.".into(),
                    Field::SnapshotPath => "Where the one plain snapshot file will lie on every member (the browser does not know its path on your hosts).".into(),
                    Field::BumpRevision => "Adds --bump-revision N --mark-compacted: see the note under the steps.".into(),
                })
            })
        };
        view! {
            <div class="runbook-field">
                <label for=id.clone()>{f.label()}</label>
                {control}
                <p class="hint" id=hint_id data-testid=format!("{id}-source")>{hint}</p>
                {move || error().map(|e| view! {
                    <p class="field-error" id=error_id.clone() data-testid=error_id.clone()>{e}</p>
                })}
            </div>
        }
    };
    view! {
        <details class="restore-runbook" data-testid="restore-runbook">
            <summary data-testid="runbook-toggle">"Restore runbook: the commands that restore this snapshot, member by member"</summary>
            <Show when=move || open.with(Option::is_some) fallback=|| view! {
                <p class="hint" data-testid="runbook-pending">"The runbook needs the key index (the snapshot's revision and whether it holds Kubernetes objects); it appears when the index is built."</p>
            }>
                <p class="hint">"The same runbook as " <code>"etcd-lens restore-plan"</code> ": edit the fields and the steps follow. Nothing runs from here."</p>
                <form class="runbook-inputs" aria-label="Restore runbook inputs" on:submit=|ev| ev.prevent_default()>
                    {Field::ALL.map(field).collect_view()}
                </form>
                {move || match result.get() {
                    Some(Ok(p)) => render_plan(p, last).into_any(),
                    Some(Err(_)) => view! {
                        <p class="error" data-testid="runbook-invalid">"No runbook until the fields marked above are fixed: commands for other input than shown could restore the wrong cluster."</p>
                    }
                    .into_any(),
                    None => ().into_any(),
                }}
            </Show>
        </details>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(name: &str, peer: &str, client: &str) -> RestoreMember {
        RestoreMember {
            name: name.into(),
            peer_urls: vec![peer.into()],
            client_urls: vec![client.into()],
            learner: false,
        }
    }

    /// Three members on three hosts, etcd 3.5, revision 42, Kubernetes, a trailer.
    fn file() -> OpenFile {
        OpenFile {
            facts: RestoreFacts {
                members: vec![
                    member("a", "https://10.0.0.1:2380", "https://10.0.0.1:2379"),
                    member("b", "https://10.0.0.2:2380", "https://10.0.0.2:2379"),
                    member("c", "https://10.0.0.3:2380", "https://10.0.0.3:2379"),
                ],
                members_error: None,
                cluster_version: Some("3.5.0".into()),
                revision: 42,
                has_trailer: true,
                kubernetes: true,
            },
            file_name: "night.db".into(),
            wrapped: false,
        }
    }

    fn restore_lines(p: &RestorePlan) -> Vec<String> {
        p.members.iter().map(|m| m.restore.shell.clone()).collect()
    }

    #[test]
    fn the_form_starts_from_the_file_as_restore_plan_does_without_flags() {
        let f = file();
        let form = RunbookForm::prefilled(&f);
        assert_eq!(
            form.members,
            "a=https://10.0.0.1:2380,b=https://10.0.0.2:2380,c=https://10.0.0.3:2380"
        );
        assert_eq!(form.version, "3.5");
        assert_eq!(form.data_dir_pattern, "/var/lib/etcd");
        assert_eq!(form.token, "etcd-restore-r42");
        assert_eq!(form.snapshot_path, "/var/tmp/night.db");
        assert_eq!(form.bump_revision, "");
        let input = form.input(&f).unwrap();
        assert_eq!(input.members_source, MembersSource::Snapshot);
        assert_eq!(input.version_source, VersionSource::ClusterVersion);
        assert_eq!(input.members[0].client_urls, ["https://10.0.0.1:2379"]);
        assert!(!input.skip_hash_check && input.kubernetes && input.revision == 42);
        let p = form.plan(&f).unwrap();
        assert_eq!(
            summary(&p),
            "etcd 3.5 (the snapshot's cluster version), etcdutl restores; 3 members from the snapshot; snapshot revision 42"
        );
        // The file's client URLs reach the health check, as with restore-plan FILE.
        let health = p
            .steps
            .iter()
            .find(|s| s.id == StepId::CheckHealth)
            .unwrap();
        assert!(health.examples[0].contains("https://10.0.0.1:2379,https://10.0.0.2:2379"));
        assert!(
            f.members_source(&form)
                .starts_with("From the file's members bucket (3 members)")
        );
        assert!(
            f.version_source(&form)
                .contains("cluster/clusterVersion 3.5.0")
        );
    }

    #[test]
    fn typed_members_give_the_cores_commands_for_them() {
        let f = file();
        let mut form = RunbookForm::prefilled(&f);
        form.set(
            Field::Members,
            "x=http://127.0.0.1:12380, y=http://127.0.0.1:22380".into(),
        );
        form.set(Field::DataDir, "/srv/etcd-{name}".into());
        form.set(Field::Version, "3.4.23".into());
        let p = form.plan(&f).unwrap();
        assert_eq!(p.members_source, MembersSource::Given);
        assert_eq!(p.version_source, VersionSource::Given);
        let expected = restore::plan(&RestoreInput {
            members: restore::parse_members("x=http://127.0.0.1:12380,y=http://127.0.0.1:22380")
                .unwrap(),
            members_source: MembersSource::Given,
            version: EtcdVersion::parse("3.4.23").unwrap(),
            version_source: VersionSource::Given,
            data_dir_pattern: "/srv/etcd-{name}".into(),
            initial_cluster_token: "etcd-restore-r42".into(),
            snapshot_path: "/var/tmp/night.db".into(),
            skip_hash_check: false,
            revision: 42,
            kubernetes: true,
            bump_revision: None,
        })
        .unwrap();
        assert_eq!(p, expected);
        assert_eq!(
            restore_lines(&p)[0],
            "ETCDCTL_API=3 etcdctl snapshot restore /var/tmp/night.db --name=x \
             --initial-cluster=x=http://127.0.0.1:12380,y=http://127.0.0.1:22380 \
             --initial-cluster-token=etcd-restore-r42 \
             --initial-advertise-peer-urls=http://127.0.0.1:12380 --data-dir=/srv/etcd-x"
        );
        assert!(
            f.members_source(&form)
                .starts_with("As typed (the file has: a=")
        );
        assert!(f.version_source(&form).starts_with("As typed"));
    }

    #[test]
    fn each_wrong_field_shows_its_own_error_and_no_runbook() {
        let f = file();
        let mut form = RunbookForm::prefilled(&f);
        form.set(Field::Members, "a=https://10.0.0.1:2380,b".into());
        form.set(Field::BumpRevision, "lots".into());
        form.set(Field::SnapshotPath, "  ".into());
        let e = form.plan(&f).unwrap_err();
        assert_eq!(
            e.get(Field::Members),
            Some(
                RestoreError::MemberSyntax { entry: "b".into() }
                    .to_string()
                    .as_str()
            )
        );
        assert_eq!(
            e.get(Field::BumpRevision),
            Some("\"lots\" is not a whole number of revisions (e.g. 1000000000)")
        );
        assert!(e.get(Field::SnapshotPath).is_some());
        assert_eq!(e.get(Field::Version), None);
        // The core's refusals land at their field.
        form = RunbookForm::prefilled(&f);
        form.set(Field::Members, "a=ftp://10.0.0.1:2380".into());
        let e = form.plan(&f).unwrap_err();
        assert_eq!(
            e.0,
            [(
                Field::Members,
                "peer URL \"ftp://10.0.0.1:2380\" of \"a\": expected http://host:port or https://host:port".into()
            )]
        );
        form = RunbookForm::prefilled(&f);
        form.set(Field::Token, "two words".into());
        assert_eq!(form.plan(&f).unwrap_err().0[0].0, Field::Token);
        form = RunbookForm::prefilled(&f);
        form.set(Field::Version, "3.3".into());
        assert_eq!(
            form.plan(&f).unwrap_err().get(Field::Version),
            Some("etcd 3.3 is not supported: this runbook is for etcd 3.4 and later")
        );
        form.set(Field::Version, "".into());
        assert!(form.plan(&f).unwrap_err().get(Field::Version).is_some());
    }

    #[test]
    fn bump_revision_follows_the_versions_that_have_it() {
        let f = file();
        let mut form = RunbookForm::prefilled(&f);
        form.set(Field::Version, "3.5.1".into());
        // Not asked: the plan says the version lacks it.
        let p = form.plan(&f).unwrap();
        assert!(
            p.bump_revision
                .note
                .contains("etcd 3.5.1 does not have them")
        );
        form.set(Field::BumpRevision, "1000000000".into());
        assert_eq!(
            form.plan(&f).unwrap_err().get(Field::BumpRevision),
            Some(
                "--bump-revision needs etcdctl 3.4.27+ / etcdutl 3.5.10+; etcd 3.5.1 does not have it"
            )
        );
        form.set(Field::Version, "3.5.10".into());
        let p = form.plan(&f).unwrap();
        assert!(restore_lines(&p)[0].ends_with("--bump-revision=1000000000 --mark-compacted"));
        form.set(Field::BumpRevision, "0".into());
        assert_eq!(
            form.plan(&f).unwrap_err().get(Field::BumpRevision),
            Some("--bump-revision must be greater than 0")
        );
    }

    #[test]
    fn members_on_one_host_need_name_in_the_data_dir() {
        let mut f = file();
        for (i, m) in f.facts.members.iter_mut().enumerate() {
            m.peer_urls = vec![format!("http://127.0.0.1:{}", 2380 + i)];
        }
        let mut form = RunbookForm::prefilled(&f);
        let e = form.plan(&f).unwrap_err();
        assert!(
            e.get(Field::DataDir)
                .unwrap()
                .contains("put {name} in the data-dir pattern"),
            "{e:?}"
        );
        form.set(Field::DataDir, "/tmp/r/{name}".into());
        assert!(form.plan(&f).is_ok());
    }

    #[test]
    fn a_file_without_members_or_version_asks_for_them() {
        let mut f = file();
        f.facts.members = Vec::new();
        f.facts.members_error = Some(RestoreError::NoMembers.to_string());
        f.facts.cluster_version = None;
        f.facts.has_trailer = false;
        let mut form = RunbookForm::prefilled(&f);
        assert_eq!((form.members.as_str(), form.version.as_str()), ("", ""));
        let e = form.plan(&f).unwrap_err();
        assert!(e.get(Field::Members).is_some() && e.get(Field::Version).is_some());
        assert!(
            f.members_source(&form)
                .starts_with("The file's members cannot be used")
        );
        assert!(
            f.version_source(&form)
                .starts_with("The file has no cluster version")
        );
        form.set(Field::Members, "solo=http://10.0.0.9:2380".into());
        form.set(Field::Version, "3.6".into());
        let p = form.plan(&f).unwrap();
        assert!(restore_lines(&p)[0].ends_with("--skip-hash-check"));
    }

    #[test]
    fn a_wrapped_file_is_copied_as_the_plain_snapshot_inside() {
        let mut f = file();
        f.wrapped = true;
        for (name, plain) in [
            ("night.db.zst.age", "night.db"),
            ("backup.age", "backup"),
            ("weird", "weird.db"),
            (".age", "snapshot.db"),
        ] {
            f.file_name = name.into();
            assert_eq!(f.plain_name(), plain, "{name}");
        }
        f.file_name = "night.db.age".into();
        let p = RunbookForm::prefilled(&f).plan(&f).unwrap();
        assert_eq!(p.snapshot_path, "/var/tmp/night.db");
        assert!(p.warnings.iter().any(|w| w.starts_with(
            "night.db.age is encrypted or compressed: decrypt/decompress it to /var/tmp/night.db"
        )));
    }

    #[test]
    fn the_script_holds_every_command_in_step_order_behind_an_exit() {
        let f = file();
        let p = RunbookForm::prefilled(&f).plan(&f).unwrap();
        let s = script(&p);
        assert!(s.starts_with("#!/bin/sh\n# Restore runbook: etcd 3.5"));
        let exit = s.find("\nexit 1\n").unwrap();
        let mut at = exit;
        for step in &p.steps {
            for c in &step.commands {
                let line = format!("# on {}:\n{}\n", c.member, c.command.shell);
                let found = s[at..]
                    .find(&line)
                    .unwrap_or_else(|| panic!("{line} in order:\n{s}"));
                at += found;
            }
        }
        // Every other line is a comment or blank: only the commands run.
        let commands: Vec<&str> = p
            .steps
            .iter()
            .flat_map(|st| st.commands.iter().map(|c| c.command.shell.as_str()))
            .collect();
        for line in s.lines().skip(1) {
            assert!(
                line.is_empty()
                    || line.starts_with('#')
                    || line == "exit 1"
                    || commands.contains(&line),
                "{line}"
            );
        }
        assert!(s.contains("# --bump-revision / --mark-compacted: Add --bump-revision N"));
    }

    #[test]
    fn every_refusal_has_a_field() {
        let cases = [
            (RestoreError::NoMembers, Field::Members),
            (RestoreError::EmptyDataDir, Field::DataDir),
            (RestoreError::Token, Field::Token),
            (RestoreError::BumpZero, Field::BumpRevision),
            (RestoreError::Version { given: "x".into() }, Field::Version),
        ];
        for (e, f) in cases {
            assert_eq!(field_of(&e), f, "{e}");
        }
    }
}
