//! One gRPC client per endpoint, built from a cluster's configuration.
//!
//! Each endpoint gets its own client (not etcd-client's balanced channel),
//! so the status of one member is never answered by another and one member
//! down costs only its own timeout. Tokens of etcd's auth are refreshed
//! when they expire (`--auth-token-ttl`), by etcd-client.

use std::time::Duration;

use etcd_client::{Certificate, Client, ConnectOptions, Identity, TlsOptions};

use crate::config::ClusterConfig;
use crate::config::connection::{Credentials, Tls};

/// Why etcd could not be asked. Messages name the endpoint, never a file.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum EtcdError {
    #[error("{endpoint}: no answer within {timeout_ms} ms")]
    Timeout { endpoint: String, timeout_ms: u64 },
    #[error("{endpoint}: {message}")]
    Call { endpoint: String, message: String },
    #[error("{0}")]
    Cluster(String),
}

impl EtcdError {
    pub fn call(endpoint: &str, e: &etcd_client::Error) -> Self {
        EtcdError::Call {
            endpoint: endpoint.to_string(),
            message: describe(e),
        }
    }
}

/// An etcd-client error with its causes, since a transport error alone says
/// only "transport error". gRPC statuses keep their code's meaning.
pub fn describe(e: &etcd_client::Error) -> String {
    if let etcd_client::Error::GRpcStatus(s) = e {
        let hint = match s.code() {
            tonic::Code::Unauthenticated => " (check the cluster's username and password)",
            tonic::Code::PermissionDenied => {
                " (the configured etcd user lacks the right; Snapshot and HashKV need the root role)"
            }
            _ => "",
        };
        return format!("{}{hint}", s.message());
    }
    let mut out = e.to_string();
    let mut source = std::error::Error::source(e);
    let mut depth = 0;
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
        depth += 1;
        if depth > 8 {
            break;
        }
    }
    out
}

/// Options for one endpoint: the cluster's TLS and user, the given timeout
/// for each call (`None`: no per-call timeout, for the snapshot stream).
fn options(cluster: &ClusterConfig, call_timeout: Option<Duration>) -> ConnectOptions {
    options_for(
        cluster.tls.as_ref(),
        cluster.credentials.as_ref(),
        cluster.timeout,
        call_timeout,
    )
}

/// Connection options from TLS files, an etcd user and a connect timeout
/// (the managed clusters' and the coordination etcd's alike).
pub(crate) fn options_for(
    tls: Option<&Tls>,
    credentials: Option<&Credentials>,
    timeout: Duration,
    call_timeout: Option<Duration>,
) -> ConnectOptions {
    let mut o = ConnectOptions::new()
        .with_connect_timeout(timeout)
        .with_keep_alive(Duration::from_secs(10), timeout)
        .with_auto_token_refresh(true);
    if let Some(t) = call_timeout {
        o = o.with_timeout(t);
    }
    if let Some(c) = credentials {
        o = o.with_user(c.username.clone(), c.password.clone());
    }
    if let Some(tls) = tls {
        let mut t = TlsOptions::new();
        if let Some(ca) = &tls.ca {
            t = t.ca_certificate(Certificate::from_pem(ca));
        }
        if let Some((cert, key)) = &tls.identity {
            t = t.identity(Identity::from_pem(cert, key));
        }
        if let Some(name) = &tls.server_name {
            t = t.domain_name(name.clone());
        }
        o = o.with_tls(t);
    }
    o
}

/// Connect to one endpoint. With auth on this authenticates, so a wrong
/// password fails here.
pub async fn connect(
    cluster: &ClusterConfig,
    endpoint: &str,
    call_timeout: Option<Duration>,
) -> Result<Client, EtcdError> {
    let connecting = Client::connect([endpoint], Some(options(cluster, call_timeout)));
    match tokio::time::timeout(cluster.timeout, connecting).await {
        Ok(Ok(c)) => Ok(c),
        Ok(Err(e)) => Err(EtcdError::call(endpoint, &e)),
        Err(_) => Err(EtcdError::Timeout {
            endpoint: endpoint.to_string(),
            timeout_ms: millis(cluster.timeout),
        }),
    }
}

/// Run `call` with the cluster's timeout.
pub async fn within<T>(
    cluster: &ClusterConfig,
    endpoint: &str,
    call: impl Future<Output = Result<T, etcd_client::Error>>,
) -> Result<T, EtcdError> {
    match tokio::time::timeout(cluster.timeout, call).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(EtcdError::call(endpoint, &e)),
        Err(_) => Err(EtcdError::Timeout {
            endpoint: endpoint.to_string(),
            timeout_ms: millis(cluster.timeout),
        }),
    }
}

pub fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// With etcd auth on, `Snapshot` and `HashKV` need the root role. Ask etcd
/// whether the configured user has it; `Some(sentence)` when it does not.
pub async fn check_rights(cluster: &ClusterConfig) -> Result<Option<String>, EtcdError> {
    let Some(creds) = &cluster.credentials else {
        return Ok(None);
    };
    let endpoint = cluster.endpoints.first().cloned().unwrap_or_default();
    let mut client = connect(cluster, &endpoint, Some(cluster.timeout)).await?;
    match tokio::time::timeout(cluster.timeout, client.user_get(creds.username.clone())).await {
        Ok(Ok(u)) if u.roles().iter().any(|r| r == "root") => Ok(None),
        Ok(Ok(_)) => Ok(Some(format!(
            "etcd user {:?} lacks the root role: snapshots (Snapshot, HashKV) will be refused",
            creds.username
        ))),
        // Only root may read users: a refusal means the user is not root.
        Ok(Err(etcd_client::Error::GRpcStatus(s))) if s.code() == tonic::Code::PermissionDenied => {
            Ok(Some(format!(
                "etcd user {:?} is not root: snapshots (Snapshot, HashKV) will be refused",
                creds.username
            )))
        }
        Ok(Err(e)) => Err(EtcdError::call(&endpoint, &e)),
        Err(_) => Err(EtcdError::Timeout {
            endpoint,
            timeout_ms: millis(cluster.timeout),
        }),
    }
}
