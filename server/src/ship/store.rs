//! An opened store: the `object_store` client for a [`StoreConfig`], the
//! key layout, deletes and the start-up probe.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use object_store::aws::{AmazonS3Builder, Checksum, S3ConditionalPut};
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{
    BackoffConfig, ClientOptions, ObjectStore, ObjectStoreExt, PutMode, PutPayload, RetryConfig,
};

use super::ShipError;
use super::config::{Backend, S3Config, StoreConfig};

/// One request (a 5 MiB part on a slow link) may take this long.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(300);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A store ready to use. Cheap to open (no request is sent).
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) inner: Arc<dyn ObjectStore>,
    prefix: String,
    name: String,
    pub(crate) upload_attempts: u32,
}

/// What the probe found; [`Probe::notes`] says what it means for deletes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// A second create-only put of the same key was refused.
    pub conditional_put: bool,
    /// The put answered with a version id (S3 `x-amz-version-id`).
    pub versioned: bool,
    pub local: bool,
}

impl Probe {
    /// One line per fact, for the log.
    pub fn notes(&self) -> Vec<String> {
        let mut out = Vec::new();
        out.push(if self.conditional_put {
            "conditional writes: honoured (a metadata object is never overwritten)".to_string()
        } else {
            "conditional writes: NOT honoured by this store — the metadata object is still written last, so a half-uploaded snapshot is never taken for complete, but two writers of one key would not be told apart".to_string()
        });
        if self.local {
            out.push("versioning: none (a folder); a delete frees the space".into());
        } else if self.versioned {
            out.push("versioning: ON — a delete only adds a delete marker; the old versions (and their bytes) stay until a lifecycle rule expires noncurrent versions".into());
        } else {
            out.push(
                "versioning: off (puts return no version id); a delete removes the object".into(),
            );
        }
        if !self.local {
            out.push("object lock: not visible through object_store; with a retention lock, deletes of locked versions fail and stay listed as pending remote deletes".into());
        }
        out
    }
}

impl Store {
    pub fn open(cfg: &StoreConfig) -> Result<Self, ShipError> {
        let name = cfg.name();
        let open_err = |message: String| ShipError::Open {
            store: name.clone(),
            message,
        };
        let inner: Arc<dyn ObjectStore> = match &cfg.backend {
            Backend::Local { path } => Arc::new(
                LocalFileSystem::new_with_prefix(path)
                    .map_err(|e| open_err(e.to_string()))?
                    .with_automatic_cleanup(true),
            ),
            Backend::S3(s) => Arc::new(s3(s, cfg.retry_timeout).map_err(open_err)?),
        };
        Ok(Self {
            inner,
            prefix: cfg.prefix.clone(),
            name,
            upload_attempts: cfg.upload_attempts,
        })
    }

    /// `s3://bucket/prefix` or `file:///path/prefix`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The prefix all its keys start with (no slashes at its ends; may be empty).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// `<prefix>/<cluster>/` (the folder of a cluster's objects).
    pub fn cluster_prefix(&self, cluster: &str) -> String {
        if self.prefix.is_empty() {
            format!("{cluster}/")
        } else {
            format!("{}/{cluster}/", self.prefix)
        }
    }

    /// The data object of a stored file.
    pub fn data_key(&self, cluster: &str, file_name: &str) -> String {
        format!("{}{file_name}", self.cluster_prefix(cluster))
    }

    /// The metadata object of a snapshot.
    pub fn metadata_key(&self, cluster: &str, id: &str) -> String {
        format!("{}{id}.json", self.cluster_prefix(cluster))
    }

    /// `<prefix>/claims/<cluster>/` (the folder of a cluster's claims).
    pub fn claims_prefix(&self, cluster: &str) -> String {
        claims_prefix(&self.prefix, cluster)
    }

    /// The claim of a scheduled run's slot (see `ship::claim`).
    pub fn claim_key(&self, cluster: &str, slot: DateTime<Utc>) -> String {
        claim_key(&self.prefix, cluster, slot)
    }

    /// Every object under `folder` (recursively).
    pub(crate) async fn list_folder(
        &self,
        folder: &str,
    ) -> Result<Vec<object_store::ObjectMeta>, ShipError> {
        use futures::TryStreamExt;
        self.inner
            .list(Some(&object_store::path::Path::from(folder)))
            .try_collect()
            .await
            .map_err(|e| self.err("listing", folder, e))
    }

    pub(crate) fn err(&self, op: &'static str, key: &str, e: object_store::Error) -> ShipError {
        let key = key.to_string();
        let store = self.name.clone();
        match e {
            object_store::Error::PermissionDenied { .. }
            | object_store::Error::Unauthenticated { .. } => ShipError::Denied {
                store,
                op,
                key,
                source: Box::new(e),
            },
            e => ShipError::Store {
                store,
                op,
                key,
                source: Box::new(e),
            },
        }
    }

    /// Delete `keys` in order; an absent object counts as deleted.
    pub async fn delete_keys(&self, keys: &[String]) -> Result<(), ShipError> {
        for k in keys {
            match self.inner.delete(&ObjectPath::from(k.as_str())).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(self.err("deleting", k, e)),
            }
        }
        Ok(())
    }

    /// At start: can we list, create, refuse a second create, and delete?
    /// `tag` makes the probe's key unique to this process.
    pub async fn probe(&self, tag: &str) -> Result<Probe, ShipError> {
        let root = ObjectPath::from(self.prefix.as_str());
        if let Some(Err(e)) = self.inner.list(Some(&root)).next().await {
            return Err(self.err("listing", &self.prefix, e));
        }
        let key = if self.prefix.is_empty() {
            format!(".etcd-lens-probe-{tag}")
        } else {
            format!("{}/.etcd-lens-probe-{tag}", self.prefix)
        };
        let path = ObjectPath::from(key.as_str());
        let body = || PutPayload::from_static(b"etcd-lens start-up probe; safe to delete\n");
        let create = || self.inner.put_opts(&path, body(), PutMode::Create.into());
        let first = match create().await {
            Ok(r) => r,
            // A probe left by a killed process with the same tag.
            Err(object_store::Error::AlreadyExists { .. }) => {
                self.delete_keys(std::slice::from_ref(&key)).await?;
                create().await.map_err(|e| self.err("writing", &key, e))?
            }
            Err(e) => return Err(self.err("writing", &key, e)),
        };
        let conditional_put = match create().await {
            Err(object_store::Error::AlreadyExists { .. })
            | Err(object_store::Error::Precondition { .. }) => true,
            Ok(_)
            | Err(object_store::Error::NotImplemented { .. })
            | Err(object_store::Error::NotSupported { .. }) => false,
            Err(e) => return Err(self.err("writing", &key, e)),
        };
        self.delete_keys(std::slice::from_ref(&key)).await?;
        Ok(Probe {
            conditional_put,
            versioned: first.version.is_some(),
            local: self.name.starts_with("file://"),
        })
    }
}

/// The folder of claims under a store's prefix.
const CLAIMS: &str = "claims";

/// `<prefix>/claims/<cluster>/` (`prefix` without slashes at its ends; may be empty).
pub fn claims_prefix(prefix: &str, cluster: &str) -> String {
    if prefix.is_empty() {
        format!("{CLAIMS}/{cluster}/")
    } else {
        format!("{prefix}/{CLAIMS}/{cluster}/")
    }
}

/// The slot's name: its UTC time to the second, as in snapshot ids.
pub fn slot_name(slot: DateTime<Utc>) -> String {
    slot.format("%Y%m%dT%H%M%SZ").to_string()
}

/// The slot a claim's name stands for (`None`: not a claim's name).
pub fn parse_slot(name: &str) -> Option<DateTime<Utc>> {
    chrono::NaiveDateTime::parse_from_str(name, "%Y%m%dT%H%M%SZ")
        .ok()
        .map(|t| t.and_utc())
}

/// `<prefix>/claims/<cluster>/<slot>`.
pub fn claim_key(prefix: &str, cluster: &str, slot: DateTime<Utc>) -> String {
    format!("{}{}", claims_prefix(prefix, cluster), slot_name(slot))
}

fn s3(s: &S3Config, retry_timeout: Duration) -> Result<object_store::aws::AmazonS3, String> {
    // reqwest is built with rustls but no process-wide crypto provider (the
    // etcd and webhook clients bring their own); object_store builds its
    // client through reqwest's defaults, so install ring as the default.
    // Idempotent: an `Err` means one is installed already.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut options = ClientOptions::new()
        .with_timeout(REQUEST_TIMEOUT)
        .with_connect_timeout(CONNECT_TIMEOUT)
        .with_allow_http(s.allow_http);
    if let Some(pem) = &s.ca {
        let cert = object_store::Certificate::from_pem(pem).map_err(|e| format!("ca: {e}"))?;
        options = options.with_root_certificate(cert);
    }
    let mut b = AmazonS3Builder::new()
        .with_bucket_name(&s.bucket)
        .with_region(&s.region)
        .with_access_key_id(&s.credentials.access_key_id)
        .with_secret_access_key(&s.credentials.secret_access_key)
        .with_allow_http(s.allow_http)
        // Each part (and each single put) carries its SHA-256, checked by the store.
        .with_checksum_algorithm(Checksum::SHA256)
        // PutMode::Create as `If-None-Match: *` (AWS since 2024, MinIO, R2, s3s).
        .with_conditional_put(S3ConditionalPut::ETagMatch)
        .with_retry(RetryConfig {
            backoff: BackoffConfig::default(),
            max_retries: 10,
            retry_timeout,
        })
        .with_client_options(options);
    if let Some(t) = &s.credentials.session_token {
        b = b.with_token(t);
    }
    b = match &s.endpoint {
        None => b.with_virtual_hosted_style_request(!s.path_style),
        Some(e) if s.path_style => b.with_endpoint(e).with_virtual_hosted_style_request(false),
        // Virtual-hosted with an endpoint: object_store expects the bucket
        // in the endpoint's host already.
        Some(e) => {
            let (scheme, host) = e.split_once("://").unwrap_or(("https", e));
            b.with_endpoint(format!("{scheme}://{}.{host}", s.bucket))
                .with_virtual_hosted_style_request(true)
        }
    };
    b.build().map_err(|e| e.to_string())
}
