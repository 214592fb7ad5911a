//! The Live page's state: [`LiveState`] holds the page's signals and its
//! actions (all API calls are here); it is made once by the app, so
//! switching tabs keeps what was shown and late replies never meet a
//! disposed signal. The page (`pages::live`) and the components in
//! `components::live_*` only render it. A 401 from any call forgets the
//! token and asks for it again.

use leptos::prelude::*;
use leptos::task::spawn_local;
use web_sys::File;

use etcd_lens_core::scorecard::Scorecard;

use crate::live::{
    ClusterList, ClusterStatus, Conn, DrillAnswer, Holding, NO_SERVER, ScheduleDraft,
    ScheduleEditBody, ScheduleList, ScheduleRow, ScheduleSource, Snapshot, SnapshotList,
    SnapshotState, Started, TOKEN_EXPIRED, TOKEN_REFUSED, paths,
};
use crate::web::api::{self, ApiError};
use crate::web::fetched::{self, Purpose};
use crate::web::{clock, session};

/// How often the status refreshes: every few seconds, and the server caches
/// each answer for 2 s, so more pages do not mean more load on etcd.
pub const REFRESH_MS: u64 = 5_000;
/// How often a running snapshot is asked about.
const POLL_MS: i32 = 500;
/// Polls of a running snapshot that may fail in a row before the page gives up.
const POLL_FAILURES: u32 = 5;

/// A stored file being fetched into the tab.
#[derive(Debug, Clone, PartialEq)]
pub struct Fetching {
    pub id: String,
    pub purpose: Purpose,
    pub done_bytes: u64,
    pub total_bytes: Option<u64>,
}

#[derive(Clone, Copy)]
pub struct LiveState {
    pub conn: RwSignal<Conn>,
    /// The API token: here and in session storage, nowhere else.
    pub(crate) token: RwSignal<Option<String>>,
    /// The token could not be kept in session storage (it lasts until reload).
    pub token_not_kept: RwSignal<Option<String>>,
    pub clusters: RwSignal<Option<ClusterList>>,
    pub selected: RwSignal<Option<String>>,
    pub status: RwSignal<Option<ClusterStatus>>,
    /// The last refresh failed (the status shown is older).
    pub status_error: RwSignal<Option<String>>,
    pub paused: RwSignal<bool>,
    pub catalog: RwSignal<Vec<Snapshot>>,
    pub catalog_error: RwSignal<Option<String>>,
    /// The snapshot this page started, as last asked.
    pub job: RwSignal<Option<Snapshot>>,
    pub job_error: RwSignal<Option<String>>,
    pub fetching: RwSignal<Option<Fetching>>,
    /// A row's action failed: (snapshot id, why).
    pub row_error: RwSignal<Option<(String, String)>>,
    /// A note after a fetch: (snapshot id, what).
    pub row_note: RwSignal<Option<(String, String)>>,
    /// The snapshot whose Delete was clicked once and waits for the confirmation.
    pub confirm_delete: RwSignal<Option<String>>,
    pub(crate) refresh_seq: RwSignal<u32>,
    pub(crate) in_flight: RwSignal<bool>,
    /// The last "which snapshot still holds this key" answer (or why it failed).
    pub holding: RwSignal<Option<Result<Holding, String>>>,
    pub holding_busy: RwSignal<bool>,
    /// The selected cluster's scorecard, or why it could not be had.
    pub scorecard: RwSignal<Option<Result<Scorecard, String>>>,
    pub scorecard_busy: RwSignal<bool>,
    /// The selected cluster's schedules (snapshot and drill).
    pub schedules: RwSignal<Vec<ScheduleRow>>,
    /// Where its snapshot schedules come from (file or page).
    pub schedule_source: RwSignal<Option<ScheduleSource>>,
    /// The editor's rows while editing.
    pub schedule_drafts: RwSignal<Option<Vec<ScheduleDraft>>>,
    /// Why the last save or reset was refused.
    pub schedule_error: RwSignal<Option<String>>,
    pub schedule_busy: RwSignal<bool>,
    /// The snapshot whose drill is running (one at a time from the page).
    pub drilling: RwSignal<Option<String>>,
}

impl Default for LiveState {
    fn default() -> Self {
        Self::new()
    }
}

impl LiveState {
    pub fn new() -> Self {
        Self {
            conn: RwSignal::new(Conn::Unknown),
            token: RwSignal::new(session::token()),
            token_not_kept: RwSignal::new(None),
            clusters: RwSignal::new(None),
            selected: RwSignal::new(None),
            status: RwSignal::new(None),
            status_error: RwSignal::new(None),
            paused: RwSignal::new(false),
            catalog: RwSignal::new(Vec::new()),
            catalog_error: RwSignal::new(None),
            job: RwSignal::new(None),
            job_error: RwSignal::new(None),
            fetching: RwSignal::new(None),
            row_error: RwSignal::new(None),
            row_note: RwSignal::new(None),
            confirm_delete: RwSignal::new(None),
            refresh_seq: RwSignal::new(0),
            in_flight: RwSignal::new(false),
            holding: RwSignal::new(None),
            holding_busy: RwSignal::new(false),
            scorecard: RwSignal::new(None),
            scorecard_busy: RwSignal::new(false),
            schedules: RwSignal::new(Vec::new()),
            schedule_source: RwSignal::new(None),
            schedule_drafts: RwSignal::new(None),
            schedule_error: RwSignal::new(None),
            schedule_busy: RwSignal::new(false),
            drilling: RwSignal::new(None),
        }
    }

    pub(crate) fn token(self) -> Option<String> {
        self.token.get_untracked()
    }

    /// An error from a call: a 401 forgets the token and asks again (and
    /// gives `None`); anything else becomes the message to show.
    pub(crate) fn fail(self, e: ApiError) -> Option<String> {
        match e {
            ApiError::Unauthorized => {
                self.forget_token(Some(TOKEN_EXPIRED.into()));
                None
            }
            e => Some(e.to_string()),
        }
    }

    /// Drop the token (refused, or the user asked) and show the form.
    pub fn forget_token(self, notice: Option<String>) {
        session::clear_token();
        self.token.set(None);
        self.conn.set(Conn::NeedToken { notice });
    }

    /// The user entered a token.
    pub fn give_token(self, token: String) {
        let token = token.trim().to_string();
        if token.is_empty() {
            return;
        }
        self.token_not_kept.set(session::set_token(&token).err());
        self.token.set(Some(token));
        self.connect(true);
    }

    /// Ask the server whether it is there and takes the token; then load
    /// the clusters. `typed`: the token was just entered (a refusal says so).
    pub fn connect(self, typed: bool) {
        self.conn.set(Conn::Checking);
        spawn_local(async move {
            let token = self.token();
            match api::health(token.as_deref()).await {
                Ok(()) => {
                    self.conn.set(Conn::Connected);
                    self.load_clusters().await;
                }
                Err(ApiError::Unauthorized) => {
                    let notice = match (&token, typed) {
                        (None, _) => None,
                        (Some(_), true) => Some(TOKEN_REFUSED.into()),
                        (Some(_), false) => Some(TOKEN_EXPIRED.into()),
                    };
                    self.forget_token(notice);
                }
                Err(ApiError::NoServer(why)) => self
                    .conn
                    .set(Conn::NoServer(format!("{NO_SERVER} ({why})"))),
                Err(e) => self.conn.set(Conn::Failed(e.to_string())),
            }
        });
    }

    pub(crate) async fn load_clusters(self) {
        match api::json::<ClusterList>("GET", paths::CLUSTERS, self.token().as_deref()).await {
            Ok(list) => {
                let keep = self
                    .selected
                    .get_untracked()
                    .filter(|s| list.clusters.iter().any(|c| &c.name == s));
                let first = list.clusters.first().map(|c| c.name.clone());
                self.clusters.set(Some(list));
                self.selected.set(keep.or(first));
                self.check_practices();
                self.refresh(true).await;
            }
            Err(e) => {
                if let Some(m) = self.fail(e) {
                    self.conn.set(Conn::Failed(m));
                }
            }
        }
    }

    /// Pick another cluster: its status replaces the last one's at once.
    pub fn select(self, name: String) {
        if self.selected.get_untracked().as_deref() == Some(name.as_str()) {
            return;
        }
        self.selected.set(Some(name));
        self.status.set(None);
        self.status_error.set(None);
        self.job.set(None);
        self.job_error.set(None);
        self.scorecard.set(None);
        self.schedules.set(Vec::new());
        self.schedule_source.set(None);
        self.schedule_drafts.set(None);
        self.schedule_error.set(None);
        spawn_local(self.refresh(true));
        self.check_practices();
    }

    /// Ask for the selected cluster's status and the catalog. A tick skips
    /// while a refresh is on its way (`force` does not); only the newest
    /// refresh's answers are shown.
    pub async fn refresh(self, force: bool) {
        if (!force && self.in_flight.get_untracked())
            || self.conn.get_untracked() != Conn::Connected
        {
            return;
        }
        let Some(name) = self.selected.get_untracked() else {
            return;
        };
        let seq = self.refresh_seq.get_untracked() + 1;
        self.refresh_seq.set(seq);
        self.in_flight.set(true);
        let token = self.token();
        let status =
            api::json::<ClusterStatus>("GET", &paths::status(&name), token.as_deref()).await;
        let catalog = api::json::<SnapshotList>("GET", paths::SNAPSHOTS, token.as_deref()).await;
        let schedules =
            api::json::<ScheduleList>("GET", &paths::schedules(&name), token.as_deref()).await;
        if self.refresh_seq.get_untracked() != seq {
            return;
        }
        self.in_flight.set(false);
        // A schedules answer that failed keeps the last one; the status error says why.
        if let Ok(s) = schedules {
            self.show_schedules(s);
        }
        match status {
            Ok(s) => {
                self.status.set(Some(s));
                self.status_error.set(None);
            }
            Err(e) => self.status_error.set(self.fail(e)),
        }
        self.show_catalog(catalog);
    }

    pub(crate) fn show_catalog(self, catalog: Result<SnapshotList, ApiError>) {
        match catalog {
            Ok(list) => {
                self.catalog.set(list.snapshots);
                self.catalog_error.set(None);
            }
            Err(e) => self.catalog_error.set(self.fail(e)),
        }
    }

    pub(crate) async fn refresh_catalog(self) {
        let c = api::json::<SnapshotList>("GET", paths::SNAPSHOTS, self.token().as_deref()).await;
        self.show_catalog(c);
    }

    /// Start a snapshot of the selected cluster and follow it to its end.
    pub fn take_snapshot(self) {
        let Some(cluster) = self.selected.get_untracked() else {
            return;
        };
        self.job_error.set(None);
        spawn_local(async move {
            let token = self.token();
            let started =
                api::json::<Started>("POST", &paths::take_snapshot(&cluster), token.as_deref())
                    .await;
            let id = match started {
                Ok(s) => s.id,
                Err(e) => {
                    self.job_error.set(self.fail(e));
                    return;
                }
            };
            self.job.set(Some(Snapshot {
                id: id.clone(),
                cluster,
                status: SnapshotState::Running,
                ..Snapshot::default()
            }));
            self.refresh_catalog().await;
            let mut failures = 0;
            loop {
                clock::sleep_ms(POLL_MS).await;
                match api::json::<Snapshot>("GET", &paths::snapshot(&id), self.token().as_deref())
                    .await
                {
                    Ok(s) => {
                        failures = 0;
                        let running = s.status == SnapshotState::Running;
                        self.job.set(Some(s));
                        if !running {
                            break;
                        }
                    }
                    Err(ApiError::Unauthorized) => {
                        self.fail(ApiError::Unauthorized);
                        return;
                    }
                    Err(e) => {
                        failures += 1;
                        if failures >= POLL_FAILURES {
                            self.job_error.set(Some(format!(
                                "Lost track of snapshot {id}: {e}. The catalog below shows it once it is done."
                            )));
                            break;
                        }
                    }
                }
            }
            self.refresh_catalog().await;
            self.check_practices();
        });
    }

    /// Fetch a stored snapshot into the tab for `purpose`.
    pub(crate) async fn fetch(self, s: &Snapshot, purpose: Purpose) -> Option<fetched::Fetched> {
        self.row_error.set(None);
        self.row_note.set(None);
        self.fetching.set(Some(Fetching {
            id: s.id.clone(),
            purpose,
            done_bytes: 0,
            total_bytes: s.stored_bytes,
        }));
        let res = api::request("GET", &paths::download(&s.id), self.token().as_deref()).await;
        let got = match res {
            Ok(res) => {
                let progress = move |n: u64| {
                    self.fetching.update(|f| {
                        if let Some(f) = f {
                            f.done_bytes = n;
                        }
                    })
                };
                fetched::fetch_into_tab(res, &s.file_name(), purpose, s.stored_bytes, progress)
                    .await
                    .map_err(Some)
            }
            Err(e) => Err(self.fail(e)),
        };
        self.fetching.set(None);
        match got {
            Ok(f) => {
                if !f.in_private_storage {
                    self.row_note.set(Some((
                        s.id.clone(),
                        "This browser could not stream it to its private storage: it is held in memory.".into(),
                    )));
                }
                Some(f)
            }
            Err(Some(why)) => {
                self.row_error.set(Some((s.id.clone(), why)));
                None
            }
            Err(None) => None,
        }
    }

    /// Save a stored snapshot as a download (still encrypted when it is).
    pub fn download(self, s: Snapshot) {
        spawn_local(async move {
            let Some(f) = self.fetch(&s, Purpose::Download).await else {
                return;
            };
            match fetched::save(&f.file, &s.file_name()) {
                Ok(url) => {
                    f.keep(Some(url));
                }
                Err(e) => self.row_error.set(Some((s.id.clone(), e))),
            }
        });
    }

    /// Open a stored snapshot in the inspector, as if it had been dropped.
    pub fn open<F>(self, s: Snapshot, on_open: F)
    where
        F: Fn(File) + 'static,
    {
        spawn_local(async move {
            let Some(f) = self.fetch(&s, Purpose::Open).await else {
                return;
            };
            let file = f.file.clone();
            on_open(file);
            // Only now is the previous opened file let go.
            f.keep(None);
        });
    }

    /// Delete a stored snapshot (after the second click).
    pub fn delete(self, id: String) {
        self.confirm_delete.set(None);
        self.row_error.set(None);
        spawn_local(async move {
            match api::request("DELETE", &paths::snapshot(&id), self.token().as_deref()).await {
                Ok(_) => self.refresh_catalog().await,
                Err(e) => {
                    if let Some(m) = self.fail(e) {
                        self.row_error.set(Some((id, m)));
                    }
                }
            }
        });
    }

    /// Ask the server which catalogued snapshot of the selected cluster still holds `key`.
    pub fn find_holding(self, key: String) {
        let Some(cluster) = self.selected.get_untracked() else {
            return;
        };
        self.holding_busy.set(true);
        self.holding.set(None);
        spawn_local(async move {
            let r = api::json::<Holding>(
                "GET",
                &paths::holding(&cluster, &key),
                self.token().as_deref(),
            )
            .await;
            self.holding_busy.set(false);
            match r {
                Ok(h) => self.holding.set(Some(Ok(h))),
                Err(e) => {
                    if let Some(m) = self.fail(e) {
                        self.holding.set(Some(Err(m)));
                    }
                }
            }
        });
    }

    /// Ask for the selected cluster's scorecard (each practice judged).
    pub fn check_practices(self) {
        let Some(cluster) = self.selected.get_untracked() else {
            return;
        };
        self.scorecard_busy.set(true);
        spawn_local(async move {
            let r =
                api::json::<Scorecard>("GET", &paths::scorecard(&cluster), self.token().as_deref())
                    .await;
            self.scorecard_busy.set(false);
            if self.selected.get_untracked().as_deref() != Some(cluster.as_str()) {
                return;
            }
            match r {
                Ok(c) => self.scorecard.set(Some(Ok(c))),
                Err(e) => {
                    if let Some(m) = self.fail(e) {
                        self.scorecard.set(Some(Err(m)));
                    }
                }
            }
        });
    }

    /// A restore drill of snapshot `id` (the server restores it into a
    /// throwaway etcd); its verdict lands in the row and the catalog.
    pub fn drill(self, id: String) {
        if self.drilling.get_untracked().is_some() {
            return;
        }
        self.drilling.set(Some(id.clone()));
        self.row_error.set(None);
        self.row_note.set(None);
        spawn_local(async move {
            let r =
                api::json::<DrillAnswer>("POST", &paths::drill(&id), self.token().as_deref()).await;
            self.drilling.set(None);
            match r {
                Ok(a) => {
                    let note = a.describe();
                    if a.verdict == "passed" {
                        self.row_note.set(Some((id, note)));
                    } else {
                        self.row_error.set(Some((id, note)));
                    }
                }
                Err(e) => {
                    if let Some(m) = self.fail(e) {
                        self.row_error.set(Some((id, m)));
                    }
                }
            }
            self.refresh_catalog().await;
            self.check_practices();
        });
    }

    fn show_schedules(self, s: ScheduleList) {
        self.schedules.set(s.schedules);
        self.schedule_source.set(Some(s.source));
    }

    /// Edit the snapshot schedules: the rows start as what runs now.
    pub fn edit_schedules(self) {
        let rows = self
            .schedule_source
            .with_untracked(|s| {
                s.as_ref().map(|s| {
                    s.effective
                        .iter()
                        .map(ScheduleDraft::of)
                        .collect::<Vec<_>>()
                })
            })
            .unwrap_or_default();
        self.schedule_error.set(None);
        self.schedule_drafts.set(Some(rows));
    }

    /// Save the editor's rows (`Some`) or go back to the file's (`None`).
    pub fn save_schedules(self, reset: bool) {
        let Some(cluster) = self.selected.get_untracked() else {
            return;
        };
        let body = ScheduleEditBody {
            schedules: ScheduleDraft::specs(
                &self.schedule_drafts.get_untracked().unwrap_or_default(),
            ),
        };
        self.schedule_busy.set(true);
        self.schedule_error.set(None);
        spawn_local(async move {
            let token = self.token();
            let path = paths::schedules(&cluster);
            let r = if reset {
                api::json::<ScheduleList>("DELETE", &path, token.as_deref()).await
            } else {
                api::send_json::<ScheduleList>("PUT", &path, token.as_deref(), &body).await
            };
            self.schedule_busy.set(false);
            match r {
                Ok(list) => {
                    self.show_schedules(list);
                    self.schedule_drafts.set(None);
                    self.check_practices();
                }
                Err(e) => {
                    if let Some(m) = self.fail(e) {
                        self.schedule_error.set(Some(m));
                    }
                }
            }
        });
    }
}
