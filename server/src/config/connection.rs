//! How etcd endpoints are reached, as `[[cluster]]` and `[coordination]`
//! both write it: TLS files, the etcd user, the endpoints' shape, and the
//! error that names a mistake's file, cluster and field.

use std::fmt;
use std::path::{Path, PathBuf};

/// PEM bytes for mutual TLS.
#[derive(Clone)]
pub struct Tls {
    pub ca: Option<Vec<u8>>,
    /// Client certificate and key, both or neither.
    pub identity: Option<(Vec<u8>, Vec<u8>)>,
    pub server_name: Option<String>,
}

/// etcd user and password (the password never printed).
#[derive(Clone)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Credentials({}, ***)", self.username)
    }
}

/// A configuration mistake: which file, cluster and field, and what is wrong.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {}{}{message}", cluster.as_ref().map(|c| format!("cluster {c:?}: ")).unwrap_or_default(), field.as_ref().map(|f| format!("field `{f}`: ")).unwrap_or_default())]
pub struct ConfigError {
    pub file: String,
    pub cluster: Option<String>,
    pub field: Option<String>,
    pub message: String,
}

/// How a set of endpoints is reached: the TLS files and the etcd user, as
/// `[[cluster]]` and `[coordination]` both write them.
pub(crate) struct Connection<'a> {
    pub endpoints: &'a [String],
    pub ca: &'a Option<PathBuf>,
    pub cert: &'a Option<PathBuf>,
    pub key: &'a Option<PathBuf>,
    pub tls_server_name: &'a Option<String>,
    pub username: &'a Option<String>,
    pub password_file: &'a Option<PathBuf>,
}

/// Read the file a field names (relative to `base`), if it names one; a
/// file that cannot be read is a mistake of that field.
pub(crate) fn read_file(
    base: &Path,
    field: &str,
    p: &Option<PathBuf>,
    e: &dyn Fn(&str, String) -> ConfigError,
) -> Result<Option<Vec<u8>>, ConfigError> {
    let Some(p) = p else { return Ok(None) };
    let p = base.join(p);
    std::fs::read(&p)
        .map(Some)
        .map_err(|err| e(field, format!("cannot read {}: {err}", p.display())))
}

/// Read and check a [`Connection`]'s files (relative to `base`); a mistake
/// names its field through `e`.
pub(crate) fn connection(
    c: &Connection<'_>,
    base: &Path,
    e: &dyn Fn(&str, String) -> ConfigError,
) -> Result<(Option<Tls>, Option<Credentials>), ConfigError> {
    let read = |field: &str, p: &Option<PathBuf>| read_file(base, field, p, e);
    let ca = read("ca", c.ca)?;
    let cert = read("cert", c.cert)?;
    let key = read("key", c.key)?;
    for (field, pem) in [("ca", &ca), ("cert", &cert), ("key", &key)] {
        if let Some(pem) = pem
            && !String::from_utf8_lossy(pem).contains("-----BEGIN ")
        {
            return Err(e(field, "not a PEM file (no `-----BEGIN` line)".into()));
        }
    }
    let identity = match (cert, key) {
        (Some(c), Some(k)) => Some((c, k)),
        (None, None) => None,
        (Some(_), None) => return Err(e("key", "`cert` is set, so `key` is needed too".into())),
        (None, Some(_)) => return Err(e("cert", "`key` is set, so `cert` is needed too".into())),
    };
    let uses_https = c.endpoints.iter().any(|u| u.starts_with("https://"));
    if (ca.is_some() || identity.is_some()) && !uses_https {
        return Err(e(
            "endpoints",
            "TLS files are configured but no endpoint is https://".into(),
        ));
    }
    if uses_https && ca.is_none() {
        return Err(e(
            "ca",
            "https endpoints need the CA certificate that signed the members' certificates".into(),
        ));
    }
    let tls = (uses_https).then(|| Tls {
        ca,
        identity,
        server_name: c.tls_server_name.clone(),
    });
    let credentials = match (c.username, c.password_file) {
        (Some(u), Some(p)) => {
            let password = read("password_file", &Some(p.clone()))?.unwrap_or_default();
            let password = String::from_utf8(password)
                .map_err(|_| e("password_file", "not UTF-8 text".into()))?
                .trim_end_matches(['\n', '\r'])
                .to_string();
            Some(Credentials {
                username: u.clone(),
                password,
            })
        }
        (None, None) => None,
        (Some(_), None) => {
            return Err(e(
                "password_file",
                "`username` is set, so `password_file` is needed too".into(),
            ));
        }
        (None, Some(_)) => {
            return Err(e(
                "username",
                "`password_file` is set, so `username` is needed too".into(),
            ));
        }
    };
    Ok((tls, credentials))
}

/// Endpoints are `http://` or `https://` URLs with a host and a port.
pub fn check_endpoints(endpoints: &[String]) -> Result<(), String> {
    if endpoints.is_empty() {
        return Err("at least one endpoint is needed".into());
    }
    for u in endpoints {
        let rest = u
            .strip_prefix("http://")
            .or_else(|| u.strip_prefix("https://"))
            .ok_or_else(|| format!("{u:?} is not an http:// or https:// URL"))?;
        let host_port = rest.split('/').next().unwrap_or("");
        if !host_port.contains(':') || host_port.ends_with(':') {
            return Err(format!("{u:?} has no port"));
        }
    }
    Ok(())
}
