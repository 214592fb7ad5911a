//! `[cluster.store]`: where a cluster's snapshots are shipped, checked at
//! start so a mistake stops start-up naming the field.
//!
//! ```toml
//! [cluster.store]
//! kind = "s3"                     # or "local"
//! bucket = "etcd-backups"
//! prefix = "prod"                 # optional; keys are <prefix>/<cluster>/<id>…
//! region = "eu-west-1"            # default us-east-1
//! endpoint = "https://minio.example:9000"   # optional (default: AWS)
//! path_style = true               # https://endpoint/bucket/key instead of https://bucket.endpoint/key
//! ca = "minio-ca.pem"             # optional: a CA for a private endpoint
//! credentials_file = "s3.ini"     # else AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY
//! allow_http = true               # only for a loopback http:// endpoint (tests)
//! upload_attempts = 3             # whole uploads, with backoff between them
//! retry_timeout_seconds = 120     # object_store's retries of one request
//! ```
//!
//! The credentials file has the format of `~/.aws/credentials`: the
//! `[default]` section (or lines before any section) with
//! `aws_access_key_id`, `aws_secret_access_key` and optionally
//! `aws_session_token`. Secrets are kept in memory only and never printed.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// Whole-upload attempts unless the file says otherwise.
pub const DEFAULT_UPLOAD_ATTEMPTS: u32 = 3;
/// object_store's budget for retrying one request (its default is 3 min;
/// requests are re-sent with the same signature, so it stays well below
/// the 15 min a SigV4 signature is valid).
pub const DEFAULT_RETRY_TIMEOUT: Duration = Duration::from_secs(120);
/// More attempts only multiply the wait before a failure is visible.
const MAX_UPLOAD_ATTEMPTS: u32 = 10;

/// The table as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreFile {
    pub kind: String,
    pub path: Option<PathBuf>,
    pub endpoint: Option<String>,
    pub bucket: Option<String>,
    #[serde(default)]
    pub prefix: String,
    pub region: Option<String>,
    pub path_style: Option<bool>,
    pub ca: Option<PathBuf>,
    pub credentials_file: Option<PathBuf>,
    pub allow_http: Option<bool>,
    pub upload_attempts: Option<u32>,
    pub retry_timeout_seconds: Option<u64>,
}

/// A checked store configuration.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    pub backend: Backend,
    /// Key prefix without leading or trailing `/`; may be empty.
    pub prefix: String,
    pub upload_attempts: u32,
    pub retry_timeout: Duration,
}

#[derive(Debug, Clone)]
pub enum Backend {
    /// A folder (a mounted backup volume, say); it must exist.
    Local {
        path: PathBuf,
    },
    S3(S3Config),
}

#[derive(Debug, Clone)]
pub struct S3Config {
    /// `None`: AWS itself.
    pub endpoint: Option<String>,
    pub bucket: String,
    pub region: String,
    pub path_style: bool,
    pub allow_http: bool,
    /// PEM of a CA to trust besides the system's.
    pub ca: Option<Vec<u8>>,
    pub credentials: S3Credentials,
}

#[derive(Clone)]
pub struct S3Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
    /// Where they came from, for messages: `credentials_file …` or `environment`.
    pub source: String,
}

impl fmt::Debug for S3Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "S3Credentials({}, ***, from {})",
            self.access_key_id, self.source
        )
    }
}

impl StoreConfig {
    /// How messages and records name the store: `s3://bucket/prefix`,
    /// `file:///path/prefix` (no credentials, no endpoint secrets).
    pub fn name(&self) -> String {
        let tail = if self.prefix.is_empty() {
            String::new()
        } else {
            format!("/{}", self.prefix)
        };
        match &self.backend {
            Backend::Local { path } => format!("file://{}{tail}", path.display()),
            Backend::S3(s) => format!("s3://{}{tail}", s.bucket),
        }
    }
}

/// A mistake in the table: the field (under `store.`) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

fn bad(field: &'static str, message: impl Into<String>) -> FieldError {
    FieldError {
        field,
        message: message.into(),
    }
}

impl StoreFile {
    /// Check every field and read the files it names (relative to `base`,
    /// the configuration file's folder). `env` reads the environment (a
    /// parameter so tests need not change the process's).
    pub fn resolve(
        &self,
        base: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<StoreConfig, FieldError> {
        let prefix = check_prefix(&self.prefix).map_err(|m| bad("prefix", m))?;
        let upload_attempts = match self.upload_attempts {
            None => DEFAULT_UPLOAD_ATTEMPTS,
            Some(n) if (1..=MAX_UPLOAD_ATTEMPTS).contains(&n) => n,
            Some(_) => {
                return Err(bad(
                    "upload_attempts",
                    format!("must be 1 to {MAX_UPLOAD_ATTEMPTS}"),
                ));
            }
        };
        let retry_timeout = match self.retry_timeout_seconds {
            None => DEFAULT_RETRY_TIMEOUT,
            Some(0) => return Err(bad("retry_timeout_seconds", "must be at least 1")),
            Some(s) => Duration::from_secs(s),
        };
        let backend = match self.kind.as_str() {
            "local" => self.local(base)?,
            "s3" => self.s3(base, env)?,
            other => {
                return Err(bad(
                    "kind",
                    format!("{other:?} is not a store kind (expected \"local\" or \"s3\")"),
                ));
            }
        };
        Ok(StoreConfig {
            backend,
            prefix,
            upload_attempts,
            retry_timeout,
        })
    }

    fn local(&self, base: &Path) -> Result<Backend, FieldError> {
        let s3_only: [(&'static str, bool); 8] = [
            ("endpoint", self.endpoint.is_some()),
            ("bucket", self.bucket.is_some()),
            ("region", self.region.is_some()),
            ("path_style", self.path_style.is_some()),
            ("ca", self.ca.is_some()),
            ("credentials_file", self.credentials_file.is_some()),
            ("allow_http", self.allow_http.is_some()),
            (
                "retry_timeout_seconds",
                self.retry_timeout_seconds.is_some(),
            ),
        ];
        if let Some((field, _)) = s3_only.iter().find(|(_, set)| *set) {
            return Err(bad(field, "only for kind = \"s3\""));
        }
        let Some(p) = &self.path else {
            return Err(bad("path", "kind = \"local\" needs the folder to ship to"));
        };
        let path = base.join(p);
        // A missing folder is not created: when it is a backup mount that
        // failed to mount, creating it would fill the local disk instead.
        match std::fs::metadata(&path) {
            Ok(m) if m.is_dir() => Ok(Backend::Local { path }),
            Ok(_) => Err(bad("path", format!("{} is not a folder", path.display()))),
            Err(e) => Err(bad(
                "path",
                format!(
                    "{}: {e} (create it, or mount the backup volume)",
                    path.display()
                ),
            )),
        }
    }

    fn s3(&self, base: &Path, env: &dyn Fn(&str) -> Option<String>) -> Result<Backend, FieldError> {
        if self.path.is_some() {
            return Err(bad("path", "only for kind = \"local\""));
        }
        let Some(bucket) = &self.bucket else {
            return Err(bad("bucket", "kind = \"s3\" needs a bucket"));
        };
        check_bucket(bucket).map_err(|m| bad("bucket", m))?;
        let allow_http = self.allow_http.unwrap_or(false);
        let endpoint = match &self.endpoint {
            None => None,
            Some(e) => Some(check_endpoint(e, allow_http).map_err(|m| bad("endpoint", m))?),
        };
        let region = self.region.clone().unwrap_or_else(|| "us-east-1".into());
        if region.is_empty()
            || !region
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(bad("region", format!("{region:?} is not a region name")));
        }
        let ca = match &self.ca {
            None => None,
            Some(p) => {
                let p = base.join(p);
                let pem = std::fs::read(&p)
                    .map_err(|e| bad("ca", format!("cannot read {}: {e}", p.display())))?;
                if !String::from_utf8_lossy(&pem).contains("-----BEGIN ") {
                    return Err(bad("ca", "not a PEM file (no `-----BEGIN` line)"));
                }
                Some(pem)
            }
        };
        let credentials = match &self.credentials_file {
            Some(p) => {
                let p = base.join(p);
                let text = std::fs::read_to_string(&p).map_err(|e| {
                    bad(
                        "credentials_file",
                        format!("cannot read {}: {e}", p.display()),
                    )
                })?;
                parse_credentials(&text, &format!("credentials_file {}", p.display()))
                    .map_err(|m| bad("credentials_file", format!("{}: {m}", p.display())))?
            }
            None => {
                let id = env("AWS_ACCESS_KEY_ID").filter(|v| !v.is_empty());
                let secret = env("AWS_SECRET_ACCESS_KEY").filter(|v| !v.is_empty());
                match (id, secret) {
                    (Some(access_key_id), Some(secret_access_key)) => S3Credentials {
                        access_key_id,
                        secret_access_key,
                        session_token: env("AWS_SESSION_TOKEN").filter(|v| !v.is_empty()),
                        source: "environment".into(),
                    },
                    (None, None) => {
                        return Err(bad(
                            "credentials_file",
                            "no credentials: name a credentials_file, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
                        ));
                    }
                    _ => {
                        return Err(bad(
                            "credentials_file",
                            "only one of AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY is set",
                        ));
                    }
                }
            }
        };
        Ok(Backend::S3(S3Config {
            endpoint,
            bucket: bucket.clone(),
            region,
            path_style: self.path_style.unwrap_or(false),
            allow_http,
            ca,
            credentials,
        }))
    }
}

/// `a/b` from `/a/b/`; segments of letters, digits, `.`, `_`, `-` (no `.`/`..`).
fn check_prefix(p: &str) -> Result<String, String> {
    let p = p.trim_matches('/');
    if p.is_empty() {
        return Ok(String::new());
    }
    for seg in p.split('/') {
        let ok = !seg.is_empty()
            && seg != "."
            && seg != ".."
            && seg
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !ok {
            return Err(format!(
                "{p:?}: segments of letters, digits, `.`, `_`, `-` separated by `/`"
            ));
        }
    }
    Ok(p.to_string())
}

/// S3's bucket naming rules (the common part of AWS's and MinIO's).
fn check_bucket(b: &str) -> Result<(), String> {
    let ok = (3..=63).contains(&b.len())
        && b.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-'))
        && b.starts_with(|c: char| c.is_ascii_alphanumeric())
        && b.ends_with(|c: char| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{b:?} is not a bucket name (3–63 lowercase letters, digits, `.`, `-`)"
        ))
    }
}

/// `https://host[:port]`, or `http://` to a loopback host with `allow_http`.
fn check_endpoint(e: &str, allow_http: bool) -> Result<String, String> {
    let e = e.trim_end_matches('/');
    let (scheme, rest) = e
        .split_once("://")
        .ok_or_else(|| format!("{e:?} is not an http(s):// URL"))?;
    if rest.is_empty() || rest.contains(['/', '?', '#', '@']) {
        return Err(format!("{e:?}: scheme and host[:port] only, no path"));
    }
    match scheme {
        "https" => Ok(e.to_string()),
        "http" => {
            let host = host_of(rest);
            let loopback = host == "localhost"
                || host
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback());
            if !loopback {
                Err(format!(
                    "{e:?}: plain http only to a loopback address (use https)"
                ))
            } else if !allow_http {
                Err(format!("{e:?} is plain http: set allow_http = true"))
            } else {
                Ok(e.to_string())
            }
        }
        _ => Err(format!("{e:?} is not an http(s):// URL")),
    }
}

/// The host of `host[:port]` (with `[v6]` brackets kept).
pub(crate) fn host_of(host_port: &str) -> &str {
    if host_port.starts_with('[')
        && let Some(end) = host_port.find(']')
    {
        return &host_port[..=end];
    }
    host_port.split(':').next().unwrap_or(host_port)
}

/// The `[default]` profile of an AWS shared-credentials file.
fn parse_credentials(text: &str, source: &str) -> Result<S3Credentials, String> {
    let mut section: Option<String> = None;
    let (mut id, mut secret, mut token) = (None, None, None);
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = Some(name.trim().to_string());
            continue;
        }
        if section.as_deref().is_some_and(|s| s != "default") {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            // Never quote the line: it may hold a secret.
            return Err(format!(
                "line {} is neither `[section]` nor `key = value`",
                n + 1
            ));
        };
        let v = v.trim().to_string();
        match k.trim() {
            "aws_access_key_id" => id = Some(v),
            "aws_secret_access_key" => secret = Some(v),
            "aws_session_token" => token = Some(v),
            _ => {}
        }
    }
    match (id, secret) {
        (Some(access_key_id), Some(secret_access_key))
            if !access_key_id.is_empty() && !secret_access_key.is_empty() =>
        {
            Ok(S3Credentials {
                access_key_id,
                secret_access_key,
                session_token: token.filter(|t| !t.is_empty()),
                source: source.to_string(),
            })
        }
        _ => Err("no aws_access_key_id and aws_secret_access_key in its [default] section".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(kind: &str) -> StoreFile {
        StoreFile {
            kind: kind.into(),
            path: None,
            endpoint: None,
            bucket: None,
            prefix: String::new(),
            region: None,
            path_style: None,
            ca: None,
            credentials_file: None,
            allow_http: None,
            upload_attempts: None,
            retry_timeout_seconds: None,
        }
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn s3_with_a_credentials_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("creds"),
            "# ours\n[other]\naws_access_key_id = NOPE\n[default]\naws_access_key_id = AK\naws_secret_access_key = s3cr3t\n",
        )
        .unwrap();
        let mut f = file("s3");
        f.bucket = Some("etcd-backups".into());
        f.prefix = "/prod/eu/".into();
        f.endpoint = Some("http://127.0.0.1:9000/".into());
        f.allow_http = Some(true);
        f.path_style = Some(true);
        f.credentials_file = Some("creds".into());
        let c = f.resolve(dir.path(), &no_env).unwrap();
        assert_eq!(c.prefix, "prod/eu");
        assert_eq!(c.name(), "s3://etcd-backups/prod/eu");
        let Backend::S3(s) = &c.backend else { panic!() };
        assert_eq!(s.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert_eq!(s.credentials.access_key_id, "AK");
        assert_eq!(s.credentials.secret_access_key, "s3cr3t");
        assert!(!format!("{c:?}").contains("s3cr3t"), "no secret in Debug");
    }

    #[test]
    fn s3_from_the_environment() {
        let mut f = file("s3");
        f.bucket = Some("b-1".into());
        let env = |k: &str| match k {
            "AWS_ACCESS_KEY_ID" => Some("AK".to_string()),
            "AWS_SECRET_ACCESS_KEY" => Some("SK".to_string()),
            _ => None,
        };
        let c = f.resolve(Path::new("."), &env).unwrap();
        let Backend::S3(s) = &c.backend else { panic!() };
        assert_eq!(s.credentials.source, "environment");
        assert_eq!(s.region, "us-east-1");
        assert!(!s.path_style);
    }

    #[test]
    fn mistakes_name_the_field() {
        let dir = tempfile::tempdir().unwrap();
        let s3 = |edit: &dyn Fn(&mut StoreFile)| {
            let mut f = file("s3");
            f.bucket = Some("bucket".into());
            f.credentials_file = Some("missing".into());
            edit(&mut f);
            f.resolve(dir.path(), &no_env).unwrap_err()
        };
        let cases: Vec<(FieldError, &str, &str)> = vec![
            (
                file("gcs").resolve(dir.path(), &no_env).unwrap_err(),
                "kind",
                "not a store kind",
            ),
            (
                file("local").resolve(dir.path(), &no_env).unwrap_err(),
                "path",
                "needs the folder",
            ),
            (
                {
                    let mut f = file("local");
                    f.path = Some("nope".into());
                    f.resolve(dir.path(), &no_env).unwrap_err()
                },
                "path",
                "mount the backup volume",
            ),
            (
                {
                    let mut f = file("local");
                    f.path = Some(".".into());
                    f.bucket = Some("b".into());
                    f.resolve(dir.path(), &no_env).unwrap_err()
                },
                "bucket",
                "only for kind = \"s3\"",
            ),
            (s3(&|f| f.bucket = None), "bucket", "needs a bucket"),
            (
                s3(&|f| f.bucket = Some("Bad_Name".into())),
                "bucket",
                "not a bucket name",
            ),
            (s3(&|_| {}), "credentials_file", "cannot read"),
            (
                s3(&|f| f.credentials_file = None),
                "credentials_file",
                "no credentials",
            ),
            (
                s3(&|f| f.endpoint = Some("http://127.0.0.1:9000".into())),
                "endpoint",
                "set allow_http = true",
            ),
            (
                s3(&|f| {
                    f.endpoint = Some("http://10.0.0.1:9000".into());
                    f.allow_http = Some(true);
                }),
                "endpoint",
                "only to a loopback",
            ),
            (
                s3(&|f| f.endpoint = Some("https://h/x".into())),
                "endpoint",
                "no path",
            ),
            (s3(&|f| f.prefix = "a/../b".into()), "prefix", "segments"),
            (
                s3(&|f| f.upload_attempts = Some(0)),
                "upload_attempts",
                "must be 1 to",
            ),
            (
                s3(&|f| f.path = Some(".".into())),
                "path",
                "only for kind = \"local\"",
            ),
        ];
        for (got, field, want) in cases {
            assert_eq!(got.field, field, "{got:?}");
            assert!(got.message.contains(want), "{got:?}: wanted {want:?}");
        }
    }

    #[test]
    fn a_malformed_credentials_file_never_echoes_a_secret() {
        let e = parse_credentials("[default]\naws_secret_access_key s3cr3t\n", "x").unwrap_err();
        assert!(!e.contains("s3cr3t"), "{e}");
        let e = parse_credentials("[default]\naws_access_key_id = a\n", "x").unwrap_err();
        assert!(e.contains("aws_secret_access_key"), "{e}");
    }

    #[test]
    fn hosts_of_host_ports() {
        assert_eq!(host_of("127.0.0.1:9000"), "127.0.0.1");
        assert_eq!(host_of("[::1]:9000"), "[::1]");
        assert_eq!(host_of("localhost"), "localhost");
    }
}
