//! What the worker computes for the page, from the core's types into the
//! protocol's. No browser types here: it is tested natively on real files.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;

use etcd_lens_core::age::{self, AgeFormat, AgeSource, Secret, SecretNeeded};
use etcd_lens_core::audit::{Decryption, EncryptionConfig};
use etcd_lens_core::container::{self, Codec, Layer};
use etcd_lens_core::k8s::{self, DEFAULT_PREFIX, Encoding};
use etcd_lens_core::mvcc::KeyIndex;
use etcd_lens_core::snapshot::Snapshot;
use etcd_lens_core::status;
use etcd_lens_core::{MemSource, ReadAt, bolt};

use crate::protocol::{
    AuditView, CheckView, FindingRow, HistogramBin, IndexView, KeyDetail, KeyPage, KeyQuery,
    KeyRow, MemberView, Overview, RevisionValue, RevisionView, RoleView, SecretPrompt, SpaceRow,
    SpaceUsage, StatusView, TreeNode, UnlockSecret, UserView,
};

/// Longest list page the page may ask for.
pub const MAX_PAGE_ROWS: u32 = 1000;
/// Bytes of a value shown as text (per revision) or as hex.
const TEXT_CAP_BYTES: usize = 256 * 1024;
const HEX_CAP_BYTES: usize = 4096;

/// Largest decompressed or de-armored file held in memory (decompressed files
/// normally go to private storage instead; see `web::opfs`).
pub const MAX_IN_MEMORY_BYTES: u64 = 1 << 30;
/// Largest decompressed file spooled to private storage (well above etcd's
/// 8 GiB suggested maximum; the browser's quota may stop it sooner).
pub const MAX_SPOOL_BYTES: u64 = 64 << 30;
/// Layers peeled at most (e.g. age → zstd → bbolt is two).
const MAX_LAYERS: usize = 4;

/// A layer of the open file, shared by the layers above it and owned by the
/// file's session: when the session goes, so do they.
pub type Src = Rc<dyn ReadAt>;

/// The next step after peeling what can be peeled without a secret.
pub enum Peeled {
    /// A bbolt file (or something to report as not one).
    Ready(Src),
    /// An age file: ask for this secret.
    NeedSecret(Src, SecretPrompt),
    /// A compressed file: decompress it somewhere it can be read at random
    /// (the worker spools it to private storage), then peel on.
    Compressed(Src, Codec),
}

/// Decompress into memory (up to [`MAX_IN_MEMORY_BYTES`]): where private
/// storage is not available, and in native tests.
pub fn decompress_in_memory(
    src: &dyn ReadAt,
    codec: Codec,
    why: &str,
    layers: &mut Vec<String>,
) -> Result<Src, String> {
    let mut out = Vec::new();
    container::decompress(src, codec, &mut out, MAX_IN_MEMORY_BYTES).map_err(|e| e.to_string())?;
    layers.push(format!(
        "{} (decompressed in memory: {} bytes; {why})",
        codec.name(),
        out.len()
    ));
    Ok(Rc::new(MemSource(out)))
}

/// Peel compression and armor layers, noting each in `layers`.
pub fn peel(mut src: Src, layers: &mut Vec<String>) -> Result<Peeled, String> {
    // Counted over the whole chain: peeling resumes after each decompression.
    for _ in layers.len()..MAX_LAYERS {
        match container::detect_source(&*src).map_err(|e| e.to_string())? {
            Layer::Bbolt | Layer::Unknown => return Ok(Peeled::Ready(src)),
            Layer::Compressed(codec) => return Ok(Peeled::Compressed(src, codec)),
            Layer::Age(AgeFormat::Armored) => {
                let mut out = Vec::new();
                age::dearmor(&*src, &mut out).map_err(|e| e.to_string())?;
                layers.push("age ASCII armor".into());
                src = Rc::new(MemSource(out));
            }
            Layer::Age(AgeFormat::Binary) => {
                let needed = age::secret_needed(&*src).map_err(|e| e.to_string())?;
                let prompt = match needed {
                    SecretNeeded::Passphrase => SecretPrompt {
                        passphrase: true,
                        recipient_types: Vec::new(),
                    },
                    SecretNeeded::Identity { recipient_types } => SecretPrompt {
                        passphrase: false,
                        recipient_types,
                    },
                };
                return Ok(Peeled::NeedSecret(src, prompt));
            }
        }
    }
    Err(format!(
        "more than {MAX_LAYERS} layers of encryption or compression: refusing to go on"
    ))
}

/// Decrypt an age file with the user's secret (random access, nothing spooled).
pub fn unlock(src: &Src, secret: &UnlockSecret, layers: &mut Vec<String>) -> Result<Src, String> {
    let (secret, how) = match secret {
        UnlockSecret::Passphrase { passphrase } => {
            (Secret::Passphrase(passphrase.clone()), "passphrase")
        }
        UnlockSecret::Identity {
            identity,
            ssh_key_passphrase,
        } => (
            Secret::Identity {
                file: identity.as_bytes().to_vec(),
                ssh_key_passphrase: ssh_key_passphrase.clone(),
            },
            if identity.trim_start().starts_with("-----BEGIN") {
                "SSH key"
            } else {
                "X25519 identity"
            },
        ),
    };
    let opened = AgeSource::open(src.clone(), &secret).map_err(|e| e.to_string())?;
    layers.push(format!("age (decrypted in this tab with a {how})"));
    Ok(Rc::new(opened))
}

/// An open snapshot and what was learned about it so far.
pub struct Opened {
    /// The file was age-encrypted (for the `snapshot-not-encrypted` finding).
    pub opened_with_age: bool,
    /// The EncryptionConfiguration the user pasted for the audit: also used to
    /// show encrypted objects decrypted (masked like plaintext ones).
    pub encryption: RefCell<Option<EncryptionConfig>>,
    pub snap: Snapshot<Src>,
    /// Built by [`index`], after the overview is shown.
    pub index: Option<KeyIndex>,
    pub overview: Overview,
    /// bbolt's consistency check, from the same walk as the status.
    pub check: CheckView,
    /// The last list query's matches, so scrolling a million keys stays cheap.
    list_cache: RefCell<Option<ListCache>>,
}

impl Opened {
    fn index(&self) -> Result<&KeyIndex, String> {
        self.index.as_ref().ok_or_else(|| {
            "the key index is not available: it is still being built, or its pass failed".into()
        })
    }
}

/// Open a snapshot and compute what `etcdutl snapshot status` shows, plus the
/// etcd meta, members and auth: the overview. One walk over every bucket.
pub fn open(src: Src) -> Result<Opened, String> {
    let snap = Snapshot::open(src).map_err(|e| e.to_string())?;
    let db = snap.db();
    let walked = status::status_and_check(db);
    const V35: &str = "etcdctl 3.4 / etcdutl 3.5";
    const V36: &str = "etcdutl 3.6";
    let (status, status_error) = match (walked.v35, walked.v36) {
        (Ok(a), Ok(b)) => {
            // A storage version means etcd 3.6 wrote the file: show its tool's count first.
            let (main, other, tool, other_tool) = if b.version.is_empty() {
                (a, b.total_key, V35, V36)
            } else {
                (b, a.total_key, V36, V35)
            };
            (
                Some(StatusView {
                    hash: main.hash,
                    revision: main.revision,
                    total_key: main.total_key,
                    tool: tool.into(),
                    other_total_key: other,
                    other_tool: other_tool.into(),
                    total_size: main.total_size,
                    version: main.version,
                }),
                None,
            )
        }
        (Err(e), _) | (_, Err(e)) => (None, Some(e.to_string())),
    };
    let check = check_view(&walked.check);
    let info = &snap.info;
    let page_size = u64::from(db.header().page_size);
    let overview = Overview {
        status,
        status_error,
        consistent_index: info.meta.consistent_index,
        term: info.meta.term,
        compact_scheduled: info.meta.scheduled_compact_rev,
        compact_finished: info.meta.finished_compact_rev,
        storage_version: info.meta.storage_version.clone(),
        cluster_version: info.cluster_version.clone(),
        members: info
            .members
            .iter()
            .map(|m| MemberView {
                id: m.id.clone(),
                name: m.name.clone().unwrap_or_default(),
                peer_urls: m.peer_urls.clone(),
                client_urls: m.client_urls.clone(),
                is_learner: m.is_learner,
            })
            .collect(),
        removed_members: info.removed_members.clone(),
        auth_enabled: info.auth.enabled.unwrap_or(false),
        users: info
            .auth
            .users
            .iter()
            .map(|u| UserView {
                name: u.name.clone(),
                roles: u.roles.clone(),
                password: u.password_masked.clone().unwrap_or_else(|| "(none)".into()),
            })
            .collect(),
        roles: info
            .auth
            .roles
            .iter()
            .map(|r| RoleView {
                name: r.name.clone(),
                permissions: r
                    .permissions
                    .iter()
                    .map(|p| format!("{} {} .. {}", p.perm_type, p.key, p.range_end))
                    .collect(),
            })
            .collect(),
        alarms: info
            .alarms
            .iter()
            .map(|a| format!("{} on member {:x}", a.alarm, a.member_id))
            .collect(),
        leases: info.leases.len() as u64,
        buckets: info.buckets.iter().map(|b| b.name.clone()).collect(),
        page_size,
        db_bytes: db.meta().pgid.0.saturating_mul(page_size),
        warnings: db
            .header()
            .warnings
            .iter()
            .cloned()
            .chain(info.warnings.iter().cloned())
            .collect(),
    };
    Ok(Opened {
        opened_with_age: false,
        encryption: RefCell::new(None),
        snap,
        index: None,
        overview,
        check,
        list_cache: RefCell::new(None),
    })
}

/// Keys listed by name in "most revisions".
const MOST_REVISIONS: usize = 10;

/// Scan the `key` bucket into the index the key list, tree and history use.
pub fn index(o: &mut Opened) -> Result<IndexView, String> {
    let index = o.snap.key_index().map_err(|e| e.to_string())?;
    let view = index_view(&index);
    o.index = Some(index);
    Ok(view)
}

fn index_view(index: &KeyIndex) -> IndexView {
    // Bins: 1, 2, 3–4, 5–8, … 65–128, 129+.
    const BINS: usize = 9;
    let mut bins = [0u64; BINS];
    let mut most: Vec<(u64, &[u8])> = Vec::new();
    for (key, h) in index.histories() {
        let n = h.revisions.len() as u64;
        let bin = (64 - (n.max(1) - 1).leading_zeros()) as usize;
        bins[bin.min(BINS - 1)] += 1;
        if n > 1 {
            most.push((n, key));
            if most.len() > 4 * MOST_REVISIONS {
                most.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
                most.truncate(MOST_REVISIONS);
            }
        }
    }
    most.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    most.truncate(MOST_REVISIONS);
    let label = |i: usize| match i {
        0 => "1".to_string(),
        1 => "2".to_string(),
        i if i == BINS - 1 => format!("{}+", (1u64 << (i - 1)) + 1),
        i => format!("{}–{}", (1u64 << (i - 1)) + 1, 1u64 << i),
    };
    IndexView {
        live_keys: index.live_count(),
        keys_with_history: index.key_count() as u64,
        revisions: index.entries,
        revisions_histogram: bins
            .iter()
            .enumerate()
            .map(|(i, &keys)| HistogramBin {
                label: label(i),
                keys,
            })
            .collect(),
        most_revisions: most
            .into_iter()
            .map(|(n, k)| (String::from_utf8_lossy(k).into_owned(), n))
            .collect(),
    }
}

/// bbolt's consistency check (done in the status walk) and the page accounting.
fn check_view(report: &bolt::CheckReport) -> CheckView {
    let st = &report.stats;
    CheckView {
        problems: report.problems.iter().map(|p| p.message.clone()).collect(),
        warnings: report.warnings.iter().map(|p| p.message.clone()).collect(),
        in_use_pages: st.in_use_pages,
        free_pages: st.free_pages,
        unreachable_pages: st.unreachable_pages,
    }
}

/// Bytes per resource and per namespace, live and retained history.
pub fn space(o: &Opened) -> Result<SpaceUsage, String> {
    let index = o.index()?;
    let s = k8s::stats::scan(o.snap.db(), DEFAULT_PREFIX, 20, Some(index))
        .map_err(|e| e.to_string())?;
    let row = |name: String, u: &k8s::stats::Usage| SpaceRow {
        name,
        objects: u.objects,
        live_bytes: u.live_value_bytes,
        history_bytes: u.history_value_bytes,
    };
    Ok(SpaceUsage {
        resources: s
            .resources
            .iter()
            .map(|r| row(r.resource.clone(), &r.usage))
            .collect(),
        namespaces: s
            .namespaces
            .iter()
            .map(|n| {
                row(
                    n.namespace
                        .clone()
                        .unwrap_or_else(|| k8s::stats::NO_NAMESPACE.into()),
                    &n.usage,
                )
            })
            .collect(),
        undecodable_entries: s.undecodable.entries,
        undecodable_bytes: s.undecodable.bytes,
    })
}

/// The children of the tree node `prefix`: keys grouped by their next path
/// segment (up to and including the next `/`), with counts and bytes.
pub fn tree(o: &Opened, prefix: &str) -> Result<Vec<TreeNode>, String> {
    let index = o.index()?;
    let p = prefix.as_bytes();
    let mut nodes: Vec<TreeNode> = Vec::new();
    for (key, live) in index.live_with_prefix(p) {
        let rest = &key[p.len()..];
        // A leading '/' belongs to the first segment: `/registry/`, not `/`.
        let from = usize::from(rest.first() == Some(&b'/'));
        let end = rest[from..]
            .iter()
            .position(|&b| b == b'/')
            .map_or(rest.len(), |i| from + i + 1);
        let child = &key[..p.len() + end];
        let is_key = child.len() == key.len();
        let child_text = String::from_utf8_lossy(child);
        let node = match nodes.last_mut() {
            Some(n) if n.prefix == child_text => n,
            _ => {
                nodes.push(TreeNode {
                    segment: String::from_utf8_lossy(&rest[..end]).into_owned(),
                    prefix: child_text.into_owned(),
                    keys: 0,
                    bytes: 0,
                    key_hex: None,
                    has_children: false,
                });
                nodes.last_mut().expect("just pushed")
            }
        };
        node.keys += 1;
        node.bytes += live.value_size;
        if is_key {
            node.key_hex = Some(hex::encode(key));
        } else {
            node.has_children = true;
        }
    }
    Ok(nodes)
}

fn resource_and_namespace(key: &[u8]) -> (String, String) {
    match k8s::parse_key(key, DEFAULT_PREFIX) {
        Some(info) => (
            info.qualified_resource(),
            info.namespace.unwrap_or_default(),
        ),
        None => (String::new(), String::new()),
    }
}

/// Matches between two remembered resume points of a list.
const CHECKPOINT_EVERY: u64 = 512;

/// One query's matches: the count, the filter choices, and every
/// `CHECKPOINT_EVERY`th matching key to resume from.
struct ListCache {
    filter: KeyQuery,
    total: u64,
    resources: Vec<String>,
    namespaces: Vec<String>,
    checkpoints: Vec<Vec<u8>>,
}

fn filter_of(q: &KeyQuery) -> KeyQuery {
    KeyQuery {
        offset: 0,
        limit: 0,
        ..q.clone()
    }
}

fn contains(q: &KeyQuery, key: &[u8]) -> bool {
    let needle = q.contains.as_bytes();
    needle.is_empty() || key.windows(needle.len()).any(|w| w == needle)
}

fn fits(q: &KeyQuery, resource: &str, namespace: &str) -> bool {
    (q.resource.is_empty() || q.resource == resource)
        && (q.namespace.is_empty() || q.namespace == namespace)
}

fn matches(q: &KeyQuery, key: &[u8]) -> Option<(String, String)> {
    if !contains(q, key) {
        return None;
    }
    let (resource, namespace) = resource_and_namespace(key);
    fits(q, &resource, &namespace).then_some((resource, namespace))
}

/// One pass over the keys under the query's prefix: count, filter choices,
/// checkpoints. Each key is parsed once.
fn build_list_cache(index: &KeyIndex, q: &KeyQuery) -> ListCache {
    let mut resources = BTreeSet::new();
    let mut namespaces = BTreeSet::new();
    let mut checkpoints = Vec::new();
    let mut total = 0u64;
    for (key, _) in index.live_with_prefix(q.prefix.as_bytes()) {
        if !contains(q, key) {
            continue;
        }
        // The filter choices come from every key under the prefix, so a
        // chosen filter never hides the others.
        let (resource, namespace) = resource_and_namespace(key);
        let fit = fits(q, &resource, &namespace);
        if !resource.is_empty() {
            resources.insert(resource);
        }
        if !namespace.is_empty() {
            namespaces.insert(namespace);
        }
        if !fit {
            continue;
        }
        if total.is_multiple_of(CHECKPOINT_EVERY) {
            checkpoints.push(key.to_vec());
        }
        total += 1;
    }
    ListCache {
        filter: filter_of(q),
        total,
        resources: resources.into_iter().collect(),
        namespaces: namespaces.into_iter().collect(),
        checkpoints,
    }
}

/// A page of live keys matching `q`, in key order. The first request for a
/// query walks its keys once; later pages resume from a checkpoint, so a
/// scroll to row 900 000 reads a few hundred keys, not 900 000.
pub fn list(o: &Opened, q: &KeyQuery) -> Result<KeyPage, String> {
    Ok(list_in(o.index()?, &o.list_cache, q))
}

fn list_in(index: &KeyIndex, cache: &RefCell<Option<ListCache>>, q: &KeyQuery) -> KeyPage {
    let limit = q.limit.clamp(1, MAX_PAGE_ROWS) as usize;
    let mut cache = cache.borrow_mut();
    if cache.as_ref().is_none_or(|c| c.filter != filter_of(q)) {
        *cache = Some(build_list_cache(index, q));
    }
    let c = cache.as_ref().expect("just built");
    let offset = u64::from(q.offset);
    let mut page = KeyPage {
        total: c.total,
        offset: q.offset,
        rows: Vec::new(),
        resources: c.resources.clone(),
        namespaces: c.namespaces.clone(),
    };
    let Some(start) = c.checkpoints.get((offset / CHECKPOINT_EVERY) as usize) else {
        return page;
    };
    let mut skip = offset % CHECKPOINT_EVERY;
    for (key, live) in index.live_from(start, q.prefix.as_bytes()) {
        let Some((resource, namespace)) = matches(q, key) else {
            continue;
        };
        if skip > 0 {
            skip -= 1;
            continue;
        }
        page.rows.push(KeyRow {
            key: String::from_utf8_lossy(key).into_owned(),
            key_hex: hex::encode(key),
            mod_revision: live.mod_revision,
            version: live.version,
            value_size: live.value_size,
            resource,
            namespace,
        });
        if page.rows.len() >= limit {
            break;
        }
    }
    page
}

/// What a pasted EncryptionConfiguration made of one encrypted value.
#[derive(Default)]
struct Decrypted {
    plaintext: Option<Vec<u8>>,
    /// `aescbc key "key1"`: the key that decrypted it.
    with: Option<String>,
    /// Why it was not decrypted.
    error: Option<String>,
}

/// Decrypt `value` of `key` with the pasted configuration, if there is one.
fn decrypt(o: &Opened, key: &[u8], value: &[u8]) -> Decrypted {
    let cfg = o.encryption.borrow();
    let Some(cfg) = cfg.as_ref() else {
        return Decrypted::default();
    };
    let resource = k8s::parse_key(key, DEFAULT_PREFIX)
        .map(|k| k.qualified_resource())
        .unwrap_or_default();
    let error = |e: String| Decrypted {
        error: Some(e),
        ..Decrypted::default()
    };
    match cfg.decrypt(&resource, key, value) {
        Decryption::Decrypted { key: k, plaintext } => Decrypted {
            plaintext: Some(plaintext),
            with: Some(format!("{} key {:?}", k.provider, k.key_name)),
            error: None,
        },
        Decryption::NoKey { key: k } => error(format!(
            "the EncryptionConfiguration has no {} key named {:?} for {resource}: a restore with it would lose this object",
            k.provider, k.key_name
        )),
        Decryption::Failed { key: k, reason } => error(format!(
            "{} key {:?} does not decrypt this value: {reason}",
            k.provider, k.key_name
        )),
        Decryption::NeedsKms { key: k } => error(format!(
            "{} {:?}: only the KMS plugin can decrypt this value",
            k.provider, k.key_name
        )),
        Decryption::Unsupported { key: k } => {
            error(format!("provider {} is not supported", k.provider))
        }
        Decryption::NotEncrypted => Decrypted::default(),
    }
}

/// Is `key` where Kubernetes keeps Secrets (`/registry/secrets/…`)?
fn is_secret_key(key: &[u8]) -> bool {
    k8s::parse_key(key, DEFAULT_PREFIX).is_some_and(|k| k.qualified_resource() == "secrets")
}

/// One key in detail: metadata, decoded object, raw value, every retained revision.
pub fn key_detail(o: &Opened, key_hex: &str) -> Result<KeyDetail, String> {
    let key = hex::decode(key_hex).map_err(|_| {
        "this link does not name a key: the part after #/browse/ must be the key in hex".to_string()
    })?;
    let index = o.index()?;
    let Some(hist) = index.history(&key) else {
        return Err(format!(
            "no key {:?} in this snapshot",
            String::from_utf8_lossy(&key)
        ));
    };
    let live = hist.live;
    let history = o.snap.history(index, &key).map_err(|e| e.to_string())?;
    let value: &[u8] = history
        .iter()
        .rev()
        .find(|h| !h.deleted)
        .map(|h| h.kv.value.as_slice())
        .unwrap_or_default();
    let value: &[u8] = if live.is_some() { value } else { &[] };
    let encoding = k8s::classify(value);
    let (provider, key_name) = match &encoding {
        Encoding::Encrypted(e) => (
            Some(e.provider.as_str().to_string()),
            Some(e.key_name.clone()),
        ),
        _ => (None, None),
    };
    let (mut api_version, mut kind, mut object_json, mut decode_error) = (None, None, None, None);
    let decrypted = if live.is_some() && matches!(encoding, Encoding::Encrypted(_)) {
        decrypt(o, &key, value)
    } else {
        Decrypted::default()
    };
    let decodable: &[u8] = decrypted.plaintext.as_deref().unwrap_or(value);
    if live.is_some() {
        match k8s::decode(decodable) {
            Ok(obj) => {
                api_version = Some(obj.api_version.clone());
                kind = Some(obj.kind.clone());
                object_json = serde_json::to_string_pretty(&obj.object).ok();
            }
            Err(e) => decode_error = Some(e.to_string()),
        }
    }
    let text = std::str::from_utf8(value)
        .ok()
        .map(|t| cap_text(t, TEXT_CAP_BYTES));
    let revisions: Vec<RevisionView> = history
        .iter()
        .map(|h| RevisionView {
            main: h.rev.main,
            sub: h.rev.sub,
            deleted: h.deleted,
            version: h.kv.version,
            value_size: h.kv.value.len() as u64,
            value: if h.deleted {
                RevisionValue::Deleted
            } else {
                revision_value(o, &key, &h.kv.value)
            },
        })
        .collect();
    // A Secret by its place, or by what any revision decodes to: a deleted or
    // encrypted latest revision must not unmask the older ones.
    let is_secret = is_secret_key(&key)
        || kind.as_deref() == Some("Secret")
        || revisions.iter().any(|r| {
            matches!(&r.value, RevisionValue::Object { object, .. } if object.get("kind").and_then(|k| k.as_str()) == Some("Secret"))
        });
    Ok(KeyDetail {
        key: String::from_utf8_lossy(&key).into_owned(),
        key_hex: key_hex.to_string(),
        create_revision: live.map(|l| l.create_revision),
        mod_revision: live.map(|l| l.mod_revision),
        version: live.map(|l| l.version),
        lease: live.map(|l| l.lease),
        value_size: value.len() as u64,
        encoding: encoding.name().to_string(),
        provider,
        key_name,
        decrypted_with: decrypted.with,
        decrypt_error: decrypted.error,
        api_version,
        kind,
        object_json,
        decode_error,
        is_secret,
        text,
        hex: hex::encode(&value[..value.len().min(HEX_CAP_BYTES)]),
        truncated: value.len() > HEX_CAP_BYTES,
        history: revisions,
    })
}

/// A revision's value for the history and its diff: the decoded object when
/// it decodes (decrypted first when the pasted configuration can), the
/// provider and key when it stays encrypted, else lossy text.
fn revision_value(o: &Opened, key: &[u8], value: &[u8]) -> RevisionValue {
    let mut decrypted_with = None;
    let plaintext;
    let mut decodable = value;
    if let Encoding::Encrypted(e) = k8s::classify(value) {
        let d = decrypt(o, key, value);
        match d.plaintext {
            Some(p) => {
                plaintext = p;
                decodable = &plaintext;
                decrypted_with = d.with;
            }
            None => {
                return RevisionValue::Encrypted {
                    provider: e.provider.as_str().to_string(),
                    key_name: e.key_name.clone(),
                };
            }
        }
    }
    match k8s::decode(decodable) {
        Ok(obj) => RevisionValue::Object {
            object: obj.object,
            decrypted_with,
        },
        Err(_) => RevisionValue::Text {
            text: cap_text(&String::from_utf8_lossy(decodable), TEXT_CAP_BYTES),
        },
    }
}

fn cap_text(t: &str, cap: usize) -> String {
    if t.len() <= cap {
        return t.to_string();
    }
    let mut end = cap;
    while !t.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}\n… ({} more bytes)", &t[..end], t.len() - end)
}

/// Run the secret audit and prepare its exports.
pub fn audit(o: &Opened, encryption_config: Option<&str>) -> Result<AuditView, String> {
    let encryption = match encryption_config.map(str::trim).filter(|c| !c.is_empty()) {
        Some(yaml) => Some(
            EncryptionConfig::parse(yaml)
                .map_err(|e| format!("the EncryptionConfiguration does not parse: {e}"))?,
        ),
        None => None,
    };
    o.encryption.replace(encryption.clone());
    let opts = etcd_lens_core::audit::AuditOptions {
        encryption,
        opened_with_age: o.opened_with_age,
        ..Default::default()
    };
    let r = etcd_lens_core::audit::audit(&o.snap, o.index()?, &opts).map_err(|e| e.to_string())?;
    let c = &r.census;
    let map = |m: &std::collections::BTreeMap<String, u64>| {
        if m.is_empty() {
            "none".to_string()
        } else {
            m.iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let mut census = vec![
        ("Secrets".to_string(), c.secrets_total.to_string()),
        ("stored in plaintext".to_string(), c.plaintext.to_string()),
        ("encrypted".to_string(), c.encrypted.to_string()),
        ("unreadable".to_string(), c.unreadable.to_string()),
        ("per provider".to_string(), map(&c.per_provider)),
        ("per key".to_string(), map(&c.per_key)),
        ("plaintext by type".to_string(), map(&c.plaintext_types)),
        (
            "objects scanned for credentials".to_string(),
            c.objects_scanned.to_string(),
        ),
        (
            "free/unreachable pages scanned".to_string(),
            c.unreachable_pages_scanned.to_string(),
        ),
    ];
    if let Some(d) = &c.decrypted {
        census.push(("decrypted with the configuration".to_string(), map(d)));
    }
    if let Some(n) = c.undecryptable {
        census.push((
            "not decryptable with the configuration".to_string(),
            n.to_string(),
        ));
    }
    if let Some(n) = c.needs_kms {
        census.push(("need the KMS to decrypt".to_string(), n.to_string()));
    }
    let findings = r
        .findings
        .iter()
        .map(|f| FindingRow {
            rule: f.rule.id().to_string(),
            severity: f.severity.as_str().to_string(),
            key: f.key.clone().unwrap_or_default(),
            key_hex: f
                .key
                .as_deref()
                .map(|k| hex::encode(k.as_bytes()))
                .unwrap_or_default(),
            namespace: f.namespace.clone().unwrap_or_default(),
            name: f.name.clone().unwrap_or_default(),
            revision: f.revision,
            provider: f.provider.clone().unwrap_or_default(),
            key_name: f.key_name.clone().unwrap_or_default(),
            message: f.message.clone(),
        })
        .collect();
    use etcd_lens_core::audit::export;
    Ok(AuditView {
        census,
        findings,
        warnings: r.warnings.clone(),
        json: export::to_json(&r),
        csv: export::to_csv(&r),
        sarif: export::to_sarif(&r, "snapshot.db"),
        html: export::to_html(&r, "etcd-lens secret audit"),
    })
}

#[cfg(test)]
mod tests {
    use etcd_lens_core::MemSource;
    use etcd_lens_core::mvcc::KeyValue;

    use super::*;

    fn auger() -> Opened {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/fixtures/auger/boltdb/db"
        );
        let bytes = std::fs::read(path).expect("auger fixture");
        let src: Src = Rc::new(MemSource(bytes));
        let mut o = open(src).expect("opens");
        index(&mut o).expect("indexes");
        o
    }

    #[test]
    fn auger_passes_list_the_check_problem_keys_and_space() {
        let bytes = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/fixtures/auger/boltdb/db"
        ))
        .unwrap();
        let src: Src = Rc::new(MemSource(bytes));
        let mut o = open(src).unwrap();
        assert!(o.overview.status.is_none(), "etcd's tools refuse this file");
        assert_eq!(o.overview.page_size, 4096);
        assert!(
            list(&o, &KeyQuery::default()).is_err(),
            "no list before the index"
        );
        let ix = index(&mut o).unwrap();
        assert_eq!(ix.live_keys, 4);
        assert_eq!(ix.revisions_histogram[0].keys, ix.keys_with_history);
        let c = o.check.clone();
        assert!(
            c.problems.iter().any(|p| p.contains("page 2")),
            "{:?}",
            c.problems
        );
        let s = space(&o).unwrap();
        assert!(
            s.resources
                .iter()
                .any(|r| r.name == "pods" && r.objects == 1),
            "{:?}",
            s.resources
        );
    }

    #[test]
    fn tree_groups_keys_by_segment() {
        let o = auger();
        let root = tree(&o, "").unwrap();
        let names: Vec<_> = root
            .iter()
            .map(|n| {
                (
                    n.prefix.as_str(),
                    n.keys,
                    n.has_children,
                    n.key_hex.is_some(),
                )
            })
            .collect();
        assert_eq!(
            names,
            [
                ("/registry/", 3, true, false),
                ("compact_rev_key", 1, false, true)
            ]
        );
        let registry = tree(&o, "/registry/").unwrap();
        let segs: Vec<_> = registry.iter().map(|n| n.segment.as_str()).collect();
        assert_eq!(segs, ["jobs/", "namespaces/", "pods/"]);
        let bytes: u64 = registry.iter().map(|n| n.bytes).sum();
        assert_eq!(bytes, root[0].bytes);
        let leaf = tree(&o, "/registry/pods/default/").unwrap();
        assert_eq!(leaf.len(), 1);
        assert_eq!(
            leaf[0].key_hex,
            Some(hex::encode("/registry/pods/default/pi-dqtsw"))
        );
    }

    #[test]
    fn pages_resumed_from_checkpoints_equal_a_plain_filter() {
        let mut ix = KeyIndex::new();
        let mut rev = 1;
        let mut keys = Vec::new();
        for i in 0..3000 {
            let ns = ["default", "kube-system", "prod"][i % 3];
            let res = if i % 7 == 0 { "secrets" } else { "configmaps" };
            keys.push(format!("/registry/{res}/{ns}/obj-{i:05}"));
        }
        for k in &keys {
            rev += 1;
            let rk = etcd_lens_core::mvcc::revision::RevisionKey {
                rev: etcd_lens_core::mvcc::revision::Revision { main: rev, sub: 0 },
                tombstone: rev % 11 == 0,
            };
            let kv = KeyValue {
                key: k.as_bytes().to_vec(),
                create_revision: rev,
                mod_revision: rev,
                version: 1,
                value: b"v".to_vec(),
                lease: 0,
            };
            ix.add(rk, &kv);
        }
        let cache = RefCell::new(None);
        for q in [
            KeyQuery {
                prefix: "/registry/".into(),
                ..KeyQuery::default()
            },
            KeyQuery {
                namespace: "prod".into(),
                ..KeyQuery::default()
            },
            KeyQuery {
                resource: "secrets".into(),
                contains: "obj-01".into(),
                ..KeyQuery::default()
            },
        ] {
            let expected: Vec<String> = ix
                .live_with_prefix(q.prefix.as_bytes())
                .filter(|(k, _)| matches(&q, k).is_some())
                .map(|(k, _)| String::from_utf8_lossy(k).into_owned())
                .collect();
            assert!(expected.len() > 100, "{}", expected.len());
            for offset in [
                0u32,
                1,
                511,
                512,
                513,
                1023,
                1500,
                expected.len() as u32 - 3,
                5000,
            ] {
                let page = list_in(
                    &ix,
                    &cache,
                    &KeyQuery {
                        offset,
                        limit: 7,
                        ..q.clone()
                    },
                );
                let got: Vec<_> = page.rows.iter().map(|r| r.key.clone()).collect();
                let want: Vec<_> = expected
                    .iter()
                    .skip(offset as usize)
                    .take(7)
                    .cloned()
                    .collect();
                assert_eq!(got, want, "{q:?} at {offset}");
                assert_eq!(page.total, expected.len() as u64);
            }
        }
    }

    #[test]
    fn histogram_bins_count_revisions_per_key() {
        let mut ix = KeyIndex::new();
        let kv = |k: &str| KeyValue {
            key: k.into(),
            create_revision: 2,
            mod_revision: 2,
            version: 1,
            value: b"v".to_vec(),
            lease: 0,
        };
        let mut rev = 1;
        for (k, n) in [("a", 1), ("b", 2), ("c", 3), ("d", 4), ("e", 5), ("f", 300)] {
            for _ in 0..n {
                rev += 1;
                let rk = etcd_lens_core::mvcc::revision::RevisionKey {
                    rev: etcd_lens_core::mvcc::revision::Revision { main: rev, sub: 0 },
                    tombstone: false,
                };
                ix.add(rk, &kv(k));
            }
        }
        let v = index_view(&ix);
        let bins: Vec<_> = v
            .revisions_histogram
            .iter()
            .map(|b| (b.label.as_str(), b.keys))
            .collect();
        assert_eq!(
            bins,
            [
                ("1", 1),
                ("2", 1),
                ("3–4", 2),
                ("5–8", 1),
                ("9–16", 0),
                ("17–32", 0),
                ("33–64", 0),
                ("65–128", 0),
                ("129+", 1)
            ]
        );
        assert_eq!(v.most_revisions[0], ("f".to_string(), 300));
        assert_eq!(v.most_revisions.len(), 5);
    }

    #[test]
    fn list_filters_and_pages() {
        let o = auger();
        let all = list(
            &o,
            &KeyQuery {
                limit: 100,
                ..KeyQuery::default()
            },
        )
        .unwrap();
        let keys: Vec<_> = all.rows.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "/registry/jobs/default/pi",
                "/registry/namespaces/default",
                "/registry/pods/default/pi-dqtsw",
                "compact_rev_key"
            ]
        );
        let pods = list(
            &o,
            &KeyQuery {
                resource: "pods".into(),
                limit: 100,
                ..KeyQuery::default()
            },
        )
        .unwrap();
        assert_eq!(
            (pods.total, pods.rows[0].namespace.as_str()),
            (1, "default")
        );
        let second = list(
            &o,
            &KeyQuery {
                offset: 1,
                limit: 1,
                ..KeyQuery::default()
            },
        )
        .unwrap();
        assert_eq!((second.total, second.rows.len()), (4, 1));
        assert_eq!(second.rows[0].key, "/registry/namespaces/default");
        let sub = list(
            &o,
            &KeyQuery {
                contains: "pi".into(),
                limit: 100,
                ..KeyQuery::default()
            },
        )
        .unwrap();
        assert_eq!(sub.total, 2);
    }

    #[test]
    fn audit_of_the_auger_file_reports_no_encryption_and_exports() {
        let o = auger();
        let a = audit(&o, None).unwrap();
        let rules: Vec<_> = a.findings.iter().map(|f| f.rule.as_str()).collect();
        assert!(rules.contains(&"snapshot-not-encrypted"), "{rules:?}");
        assert!(
            !rules.contains(&"secret-plaintext"),
            "the auger file has no Secrets: {rules:?}"
        );
        assert!(
            a.json.starts_with("{\"census\":"),
            "{}",
            &a.json[..40.min(a.json.len())]
        );
        assert!(a.sarif.contains("2.1.0"));
        assert!(audit(&o, Some("not: [valid")).is_err());
    }

    #[test]
    fn key_detail_decodes_the_pod() {
        let o = auger();
        let d = key_detail(&o, &hex::encode("/registry/pods/default/pi-dqtsw")).unwrap();
        assert_eq!(
            (d.kind.as_deref(), d.api_version.as_deref()),
            (Some("Pod"), Some("v1"))
        );
        assert_eq!(d.encoding, "protobuf");
        assert!(d.object_json.unwrap().contains("\"name\": \"pi-dqtsw\""));
        assert_eq!(d.history.len(), 1);
        assert!(key_detail(&o, "zz").is_err());
        assert!(key_detail(&o, &hex::encode("/nope")).is_err());
    }
}
