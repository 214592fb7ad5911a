//! Scraping a member's `/metrics` (Prometheus text) with the cluster's TLS:
//! the backend quota (3.4/3.5 do not report it in Status) and the disk
//! latency histograms. Parsing and the quantile arithmetic are the core's
//! (`etcd_lens_core::metrics`); this file only fetches.

use std::sync::Arc;

use etcd_lens_core::metrics::Scrape;

use crate::config::ClusterConfig;
use crate::config::clusters::Tls;

pub const WAL_FSYNC: &str = "etcd_disk_wal_fsync_duration_seconds";
pub const BACKEND_COMMIT: &str = "etcd_disk_backend_commit_duration_seconds";
pub const QUOTA: &str = "etcd_server_quota_backend_bytes";

/// An HTTP client for one cluster's metrics endpoints.
pub struct MetricsClient {
    http: reqwest::Client,
}

impl MetricsClient {
    pub fn new(cluster: &ClusterConfig) -> Result<Self, String> {
        let b = reqwest::Client::builder()
            .timeout(cluster.timeout)
            .connect_timeout(cluster.timeout)
            .no_proxy();
        // reqwest needs a TLS configuration even for http:// (no process-wide
        // provider is installed): plain clusters get one that trusts nothing.
        let plain = Tls {
            ca: None,
            identity: None,
            server_name: None,
        };
        let b = b.tls_backend_preconfigured(rustls_config(cluster.tls.as_ref().unwrap_or(&plain))?);
        Ok(Self {
            http: b.build().map_err(|e| format!("metrics client: {e}"))?,
        })
    }

    /// GET `url` and parse it.
    pub async fn scrape(&self, url: &str) -> Result<Scrape, String> {
        let r = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| format!("{url}: {}", chain(&e)))?;
        if !r.status().is_success() {
            return Err(format!("{url}: HTTP {}", r.status()));
        }
        let text = r
            .text()
            .await
            .map_err(|e| format!("{url}: {}", chain(&e)))?;
        Ok(Scrape::parse(&text))
    }
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut s = e.source();
    while let Some(x) = s {
        out = format!("{out}: {x}");
        s = x.source();
    }
    out
}

/// rustls with ring, the cluster's CA and client certificate: the same
/// trust as the gRPC connection.
fn rustls_config(tls: &Tls) -> Result<rustls::ClientConfig, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let mut roots = rustls::RootCertStore::empty();
    if let Some(ca) = &tls.ca {
        for c in CertificateDer::pem_slice_iter(ca) {
            let c = c.map_err(|e| format!("CA certificate: {e}"))?;
            roots.add(c).map_err(|e| format!("CA certificate: {e}"))?;
        }
    }
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots);
    match &tls.identity {
        Some((cert, key)) => {
            let certs = CertificateDer::pem_slice_iter(cert)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("client certificate: {e}"))?;
            let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| format!("client key: {e}"))?;
            builder
                .with_client_auth_cert(certs, key)
                .map_err(|e| format!("client certificate: {e}"))
        }
        None => Ok(builder.with_no_client_auth()),
    }
}

/// An HTTP(S) client trusting nothing but… nothing: for plain-http webhooks
/// on the operator's network (reqwest needs a TLS configuration; no system
/// roots are compiled in). https webhooks are refused at configuration time.
pub fn plain_http_client(timeout: std::time::Duration) -> Result<reqwest::Client, String> {
    let plain = Tls {
        ca: None,
        identity: None,
        server_name: None,
    };
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .no_proxy()
        .tls_backend_preconfigured(rustls_config(&plain)?)
        .build()
        .map_err(|e| format!("http client: {e}"))
}
