//! The clusters the server watches: the `[[cluster]]` tables of the TOML
//! file (`--config`), or one cluster named `default` from `--endpoints`.
//!
//! Loading reads every file a cluster names (certificates, the password
//! file) and parses every recipient, so a mistake stops start-up with a
//! message naming the file, the cluster and the field; nothing is found
//! wrong later, in the middle of a snapshot. Paths are relative to the
//! configuration file's folder. Credentials are kept only in memory and are
//! never serialized: [`ClusterConfig`] has no `Serialize`; the public view
//! is [`ClusterSummary`].

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use etcd_lens_core::age::Recipient;
use serde::{Deserialize, Serialize};

use crate::retention::Policy;
use crate::schedule::{Schedule, ScheduleSpec};
use crate::ship::{StoreConfig, StoreFile};

pub use super::connection::{ConfigError, Credentials, Tls, check_endpoints};
use super::connection::{Connection, connection, read_file};
use super::coordination::CoordinationConfig;

/// Per-endpoint timeout for status calls, unless the file says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);
/// A snapshot of a large database takes minutes: 15 by default, not 30 s.
pub const DEFAULT_SNAPSHOT_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// The file's shape. Unknown fields are errors: a typo must not silently
/// drop, say, the recipients.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    #[serde(default, rename = "cluster")]
    clusters: Vec<ClusterFile>,
    /// `[coordination]`: the etcd several servers elect a retention leader on.
    coordination: Option<super::coordination::CoordinationFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClusterFile {
    name: String,
    endpoints: Vec<String>,
    ca: Option<PathBuf>,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    tls_server_name: Option<String>,
    username: Option<String>,
    password_file: Option<PathBuf>,
    #[serde(default)]
    recipients: Vec<String>,
    /// `"zstd"` (before encryption, seekable) or `"none"` (the default).
    compression: Option<String>,
    /// zstd's level, 1–22 (default 3).
    zstd_level: Option<i32>,
    snapshot_dir: Option<PathBuf>,
    /// Member name → its metrics URL (kubeadm: `http://127.0.0.1:2381/metrics`).
    #[serde(default)]
    metrics_urls: BTreeMap<String, String>,
    /// The member to snapshot from (by name); default: a follower.
    snapshot_member: Option<String>,
    timeout_seconds: Option<u64>,
    snapshot_timeout_seconds: Option<u64>,
    /// The newest finished snapshot is stale (the page's banner, the
    /// scorecard) when older than this; default: one and a half schedule periods.
    stale_after_minutes: Option<u64>,
    /// `[[cluster.schedule]]` tables.
    #[serde(default)]
    schedule: Vec<ScheduleSpec>,
    /// `[cluster.retention]`.
    retention: Option<Policy>,
    /// `[cluster.webhook]`.
    webhook: Option<WebhookFile>,
    /// `[cluster.store]`: where snapshots are shipped.
    store: Option<StoreFile>,
    /// `[cluster.drill]`: restore drills (opt-in).
    drill: Option<DrillFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DrillFile {
    /// An age identity file (`AGE-SECRET-KEY-1…`) whose recipient is among `recipients`.
    identity: PathBuf,
    /// Version family ("3.4", "3.5") → a folder with that release's etcd and etcdctl/etcdutl.
    binaries: BTreeMap<String, PathBuf>,
    /// Where drills restore (default: /dev/shm when the database fits, else DATA_DIR/drills).
    work_dir: Option<PathBuf>,
    /// `[cluster.drill.schedule]`: drill the newest snapshot on a cron
    /// schedule (`catch_up`: at start, when the last drill is older than a period).
    schedule: Option<ScheduleSpec>,
    /// The scorecard wants a drill passed within this many hours (default 168, a week).
    pass_within_hours: Option<u64>,
}

/// Restore drills of a cluster: the identity (kept in memory) and the binaries.
pub struct DrillConfig {
    pub identities: Vec<age::x25519::Identity>,
    pub binaries: crate::drill::Binaries,
    pub work_dir: Option<PathBuf>,
    /// Drill the cluster's newest snapshot on this schedule.
    pub schedule: Option<Schedule>,
    /// The scorecard's "a drill passed within" period.
    pub pass_within_seconds: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookFile {
    url: String,
    /// A header sent with every message (e.g. a shared secret)…
    header_name: Option<String>,
    /// …whose value is read from this file.
    header_value_file: Option<PathBuf>,
}

/// Where failure and recovery messages go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub url: String,
    pub header: Option<(String, String)>,
}

/// One cluster, every file read and every recipient parsed.
pub struct ClusterConfig {
    pub name: String,
    pub endpoints: Vec<String>,
    pub tls: Option<Tls>,
    pub credentials: Option<Credentials>,
    pub recipients: Vec<Recipient>,
    /// Snapshots compressed before encryption (`compression`, `zstd_level`).
    pub compression: crate::snapshot::Compression,
    /// Absolute, or relative to the data folder when not given.
    pub snapshot_dir: Option<PathBuf>,
    pub metrics_urls: BTreeMap<String, String>,
    pub snapshot_member: Option<String>,
    pub timeout: Duration,
    pub snapshot_timeout: Duration,
    /// See `stale_after_minutes`; `None`: 1.5 × the shortest schedule period.
    pub stale_after: Option<Duration>,
    pub schedules: Vec<Schedule>,
    pub retention: Policy,
    pub webhook: Option<Webhook>,
    /// The object store its snapshots are shipped to (credentials inside).
    pub store: Option<StoreConfig>,
    /// Restore drills (opt-in).
    pub drill: Option<DrillConfig>,
}

impl fmt::Debug for ClusterConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClusterConfig")
            .field("name", &self.name)
            .field("endpoints", &self.endpoints)
            .field("tls", &self.tls.is_some())
            .field("credentials", &self.credentials)
            .field("recipients", &self.recipients)
            .finish_non_exhaustive()
    }
}

/// What the page and `GET /api/v1/clusters` may see of a cluster: no paths, no credentials.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ClusterSummary {
    pub name: String,
    pub endpoints: Vec<String>,
    pub mtls: bool,
    pub auth: bool,
    /// Fingerprints of the age recipients; empty = snapshots are stored UNENCRYPTED.
    pub recipients: Vec<String>,
    pub encrypted_snapshots: bool,
    /// Restore drills are configured (`[cluster.drill]`).
    pub drills: bool,
}

impl ClusterConfig {
    pub fn summary(&self) -> ClusterSummary {
        ClusterSummary {
            name: self.name.clone(),
            endpoints: self.endpoints.clone(),
            mtls: self.tls.as_ref().is_some_and(|t| t.identity.is_some()),
            auth: self.credentials.is_some(),
            recipients: self.recipients.iter().map(Recipient::fingerprint).collect(),
            encrypted_snapshots: !self.recipients.is_empty(),
            drills: self.drill.is_some(),
        }
    }

    /// The folder its snapshots go to.
    pub fn snapshot_dir(&self, data_dir: &Path) -> PathBuf {
        match &self.snapshot_dir {
            Some(d) => d.clone(),
            None => data_dir.join("snapshots").join(&self.name),
        }
    }

    /// The quick start: `--endpoints a,b` without a file.
    pub fn from_endpoints(endpoints: Vec<String>, recipients: Vec<Recipient>) -> Self {
        Self {
            name: "default".into(),
            endpoints,
            tls: None,
            credentials: None,
            recipients,
            compression: Default::default(),
            snapshot_dir: None,
            metrics_urls: BTreeMap::new(),
            snapshot_member: None,
            timeout: DEFAULT_TIMEOUT,
            snapshot_timeout: DEFAULT_SNAPSHOT_TIMEOUT,
            stale_after: None,
            schedules: Vec::new(),
            retention: Policy::default(),
            webhook: None,
            store: None,
            drill: None,
        }
    }
}

/// A configuration file's clusters and what they share.
#[derive(Debug, Default)]
pub struct Settings {
    pub clusters: Vec<ClusterConfig>,
    /// `[coordination]`, shared by every cluster of the file: with it, only
    /// the elected server applies retention (`None`: this server alone
    /// decides, as a single server always did).
    pub coordination: Option<Arc<CoordinationConfig>>,
}

/// Read and check a configuration file's clusters (the commands that act
/// on one cluster need nothing else).
pub fn load(path: &Path) -> Result<Vec<ClusterConfig>, ConfigError> {
    load_settings(path).map(|s| s.clusters)
}

/// Read and check a configuration file: its clusters and `[coordination]`.
pub fn load_settings(path: &Path) -> Result<Settings, ConfigError> {
    let file = path.display().to_string();
    let err = |cluster: Option<&str>, field: Option<&str>, message: String| ConfigError {
        file: file.clone(),
        cluster: cluster.map(str::to_string),
        field: field.map(str::to_string),
        message,
    };
    let text =
        std::fs::read_to_string(path).map_err(|e| err(None, None, format!("cannot read: {e}")))?;
    let parsed: FileConfig = toml::from_str(&text).map_err(|e| err(None, None, e.to_string()))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let coordination = match &parsed.coordination {
        None => None,
        Some(c) => Some(Arc::new(c.resolve(base, &|field, message| {
            err(None, Some(&format!("coordination.{field}")), message)
        })?)),
    };
    let mut out: Vec<ClusterConfig> = Vec::new();
    for c in parsed.clusters {
        let name = c.name.clone();
        let e = |field: &str, message: String| err(Some(&name), Some(field), message);
        check_name(&c.name).map_err(|m| e("name", m))?;
        if out.iter().any(|o| o.name == c.name) {
            return Err(e("name", "a second cluster has this name".into()));
        }
        out.push(resolve(c, base, &e)?);
    }
    Ok(Settings {
        clusters: out,
        coordination,
    })
}

fn resolve(
    c: ClusterFile,
    base: &Path,
    e: &dyn Fn(&str, String) -> ConfigError,
) -> Result<ClusterConfig, ConfigError> {
    check_endpoints(&c.endpoints).map_err(|m| e("endpoints", m))?;
    let read = |field: &str, p: &Option<PathBuf>| read_file(base, field, p, e);
    let (tls, credentials) = connection(
        &Connection {
            endpoints: &c.endpoints,
            ca: &c.ca,
            cert: &c.cert,
            key: &c.key,
            tls_server_name: &c.tls_server_name,
            username: &c.username,
            password_file: &c.password_file,
        },
        base,
        e,
    )?;
    let recipients = c
        .recipients
        .iter()
        .enumerate()
        .map(|(i, r)| {
            Recipient::parse(r).map_err(|err| e(&format!("recipients[{i}]"), err.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    for (member, url) in &c.metrics_urls {
        check_endpoints(std::slice::from_ref(url))
            .map_err(|m| e(&format!("metrics_urls.{member}"), m))?;
    }
    let seconds = |field: &str, v: Option<u64>, default: Duration| match v {
        None => Ok(default),
        Some(0) => Err(e(field, "must be at least 1".into())),
        Some(s) => Ok(Duration::from_secs(s)),
    };
    let mut schedules: Vec<Schedule> = Vec::new();
    for (i, spec) in c.schedule.iter().enumerate() {
        let s = Schedule::parse(spec).map_err(|m| e(&format!("schedule[{i}].cron"), m))?;
        if schedules.iter().any(|o| o.name == s.name) {
            return Err(e(
                &format!("schedule[{i}].name"),
                format!("a second schedule is named {:?}", s.name),
            ));
        }
        schedules.push(s);
    }
    let retention = c.retention.clone().unwrap_or_default();
    let webhook = match &c.webhook {
        None => None,
        Some(w) => {
            if !w.url.starts_with("http://") {
                return Err(e("webhook.url", "must be an http:// URL (https webhooks are not supported yet: no system CA roots are built in)".into()));
            }
            let header = match (&w.header_name, &w.header_value_file) {
                (None, None) => None,
                (Some(n), Some(f)) => {
                    let v =
                        read("webhook.header_value_file", &Some(f.clone()))?.unwrap_or_default();
                    let v = String::from_utf8(v)
                        .map_err(|_| e("webhook.header_value_file", "not UTF-8 text".into()))?;
                    Some((n.clone(), v.trim_end_matches(['\n', '\r']).to_string()))
                }
                _ => {
                    return Err(e(
                        "webhook",
                        "`header_name` and `header_value_file` go together".into(),
                    ));
                }
            };
            Some(Webhook {
                url: w.url.clone(),
                header,
            })
        }
    };
    let store = match &c.store {
        None => None,
        Some(s) => Some(
            s.resolve(base, &|k| std::env::var(k).ok())
                .map_err(|fe| e(&format!("store.{}", fe.field), fe.message))?,
        ),
    };
    let drill = match &c.drill {
        None => None,
        Some(d) => {
            let text = read("drill.identity", &Some(d.identity.clone()))?.unwrap_or_default();
            let text = String::from_utf8(text)
                .map_err(|_| e("drill.identity", "not UTF-8 text".into()))?;
            let identities: Vec<age::x25519::Identity> = text
                .lines()
                .map(str::trim)
                .filter(|l| l.starts_with("AGE-SECRET-KEY-"))
                .map(|l| {
                    l.parse::<age::x25519::Identity>()
                        .map_err(|err| e("drill.identity", format!("not an age identity: {err}")))
                })
                .collect::<Result<_, _>>()?;
            if identities.is_empty() {
                return Err(e(
                    "drill.identity",
                    "the file holds no AGE-SECRET-KEY-1… line".into(),
                ));
            }
            let publics: Vec<String> = identities
                .iter()
                .map(|i| i.to_public().to_string())
                .collect();
            if !recipients.is_empty() && !recipients.iter().any(|r| publics.contains(&r.public)) {
                return Err(e(
                    "drill.identity",
                    format!(
                        "its recipient {} is not among the cluster's recipients: its snapshots could not be decrypted for a drill",
                        publics[0]
                    ),
                ));
            }
            let mut by_family = BTreeMap::new();
            for (family, dir) in &d.binaries {
                let dir = base.join(dir);
                if !dir.join("etcd").exists() {
                    return Err(e(
                        &format!("drill.binaries.{family}"),
                        format!("no etcd in {}", dir.display()),
                    ));
                }
                by_family.insert(family.clone(), dir);
            }
            let schedule = d
                .schedule
                .as_ref()
                .map(|spec| {
                    let mut spec = spec.clone();
                    spec.name
                        .get_or_insert_with(|| format!("drill {}", spec.cron));
                    Schedule::parse(&spec).map_err(|m| e("drill.schedule.cron", m))
                })
                .transpose()?;
            let pass_within_seconds = match d.pass_within_hours {
                None => etcd_lens_core::scorecard::DEFAULT_DRILL_MAX_AGE_SECONDS,
                Some(0) => return Err(e("drill.pass_within_hours", "must be at least 1".into())),
                Some(h) => i64::try_from(h.saturating_mul(3600)).unwrap_or(i64::MAX),
            };
            Some(DrillConfig {
                pass_within_seconds,
                schedule,
                identities,
                binaries: crate::drill::Binaries { by_family },
                work_dir: d.work_dir.as_ref().map(|w| base.join(w)),
            })
        }
    };
    let compression =
        compression(c.compression.as_deref(), c.zstd_level).map_err(|(f, m)| e(f, m))?;
    let stale_after = match c.stale_after_minutes {
        None => None,
        Some(0) => return Err(e("stale_after_minutes", "must be at least 1".into())),
        Some(m) => Some(Duration::from_secs(m.saturating_mul(60))),
    };
    Ok(ClusterConfig {
        compression,
        stale_after,
        drill,
        store,
        webhook,
        schedules,
        retention,
        timeout: seconds("timeout_seconds", c.timeout_seconds, DEFAULT_TIMEOUT)?,
        snapshot_timeout: seconds(
            "snapshot_timeout_seconds",
            c.snapshot_timeout_seconds,
            DEFAULT_SNAPSHOT_TIMEOUT,
        )?,
        name: c.name,
        endpoints: c.endpoints,
        tls,
        credentials,
        recipients,
        snapshot_dir: c.snapshot_dir.map(|d| base.join(d)),
        metrics_urls: c.metrics_urls,
        snapshot_member: c.snapshot_member,
    })
}

/// `compression` and `zstd_level`; a mistake names its field.
fn compression(
    name: Option<&str>,
    level: Option<i32>,
) -> Result<crate::snapshot::Compression, (&'static str, String)> {
    use crate::snapshot::Compression;
    match (name.unwrap_or("none"), level) {
        ("none", None) => Ok(Compression::None),
        ("none", Some(_)) => Err((
            "zstd_level",
            "is set, but `compression` is not \"zstd\"".into(),
        )),
        ("zstd", l) => match l.unwrap_or(Compression::DEFAULT_ZSTD_LEVEL) {
            level @ 1..=22 => Ok(Compression::Zstd { level }),
            other => Err(("zstd_level", format!("{other} is not a zstd level (1–22)"))),
        },
        (other, _) => Err((
            "compression",
            format!("{other:?} is not \"zstd\" or \"none\""),
        )),
    }
}

/// Names appear in URLs and folder names: letters, digits, `.`, `_`, `-`.
pub fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        && !name.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not a usable name (1–63 letters, digits, `.`, `_`, `-`; not starting with `.`)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn a_full_file_loads() {
        let dir = tempfile::tempdir().unwrap();
        let r = age::x25519::Identity::generate().to_public().to_string();
        write(dir.path(), "ca.pem", "-----BEGIN CERTIFICATE-----\n");
        write(dir.path(), "c.pem", "-----BEGIN CERTIFICATE-----\n");
        write(dir.path(), "k.pem", "-----BEGIN PRIVATE KEY-----\n");
        write(dir.path(), "pw", "s3cret\n");
        let cfg = write(
            dir.path(),
            "lens.toml",
            &format!(
                r#"
[[cluster]]
name = "prod"
endpoints = ["https://127.0.0.1:2379"]
ca = "ca.pem"
cert = "c.pem"
key = "k.pem"
username = "root"
password_file = "pw"
recipients = ["{r}"]
metrics_urls = {{ "etcd-a" = "http://127.0.0.1:2381/metrics" }}
"#
            ),
        );
        let c = load(&cfg).unwrap();
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].credentials.as_ref().unwrap().password, "s3cret");
        let s = c[0].summary();
        assert!(s.mtls && s.auth && s.encrypted_snapshots);
        assert!(
            !format!("{:?}", c[0]).contains("s3cret"),
            "no password in Debug"
        );
    }

    #[test]
    fn mistakes_name_file_cluster_and_field() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            (
                "[[cluster]]\nname = \"a\"\nendpoints = [\"http://127.0.0.1:1\"]\nrecipent = []\n",
                "unknown field `recipent`",
            ),
            (
                "[[cluster]]\nname = \"a\"\nendpoints = [\"http://127.0.0.1:1\"]\nrecipients = [\"age1nope\"]\n",
                "cluster \"a\": field `recipients[0]`: invalid X25519",
            ),
            (
                "[[cluster]]\nname = \"a\"\nendpoints = [\"https://127.0.0.1:1\"]\nca = \"missing.pem\"\n",
                "cluster \"a\": field `ca`: cannot read",
            ),
            (
                "[[cluster]]\nname = \"a b\"\nendpoints = [\"http://127.0.0.1:1\"]\n",
                "field `name`",
            ),
            (
                "[[cluster]]\nname = \"a\"\nendpoints = [\"127.0.0.1:1\"]\n",
                "field `endpoints`",
            ),
            (
                "[[cluster]]\nname = \"a\"\nendpoints = [\"http://127.0.0.1:1\"]\nusername = \"u\"\n",
                "field `password_file`",
            ),
            (
                "[[cluster]]\nname = \"a\"\nendpoints = [\"http://127.0.0.1:1\"]\ncompression = \"zstd\"\nzstd_level = 30\n",
                "cluster \"a\": field `zstd_level`: 30 is not a zstd level",
            ),
            (
                "[[cluster]]\nname = \"a\"\nendpoints = [\"http://127.0.0.1:1\"]\ncompression = \"xz\"\n",
                "cluster \"a\": field `compression`: \"xz\" is not",
            ),
            (
                "[[cluster]]\nname = \"a\"\nendpoints = [\"http://127.0.0.1:1\"]\n[cluster.store]\nkind = \"s3\"\n",
                "cluster \"a\": field `store.bucket`: kind = \"s3\" needs a bucket",
            ),
            (
                "[[cluster]]\nname = \"a\"\nendpoints = [\"http://127.0.0.1:1\"]\n[cluster.store]\nkind = \"local\"\npath = \".\"\nbuckt = \"x\"\n",
                "unknown field `buckt`",
            ),
        ];
        for (text, want) in cases {
            let p = write(dir.path(), "c.toml", text);
            let got = load(&p).unwrap_err().to_string();
            assert!(got.contains(want), "{text}\n→ {got}\nwanted {want}");
            assert!(got.starts_with(&p.display().to_string()), "{got}");
        }
    }
}
