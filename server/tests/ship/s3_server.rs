//! The S3 server of the tests: `s3s-fs` on 127.0.0.1 behind a thin hyper
//! layer that can drop connections on cue ([`Faults`]), the way a server that
//! dies mid-upload looks to the client.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use object_store::ObjectStore;

use crate::{ACCESS_KEY, BUCKET, SECRET_KEY};

/// When the S3 server drops connections instead of answering.
#[derive(Default)]
pub(crate) struct Faults {
    /// Every request.
    all: AtomicBool,
    /// Deletes (`DELETE`, and bulk `POST ?delete`).
    pub(crate) deletes: AtomicBool,
    /// Once this many multipart parts were accepted: then `all`.
    pub(crate) after_parts: AtomicU64,
    pub(crate) parts_seen: AtomicU64,
    pub(crate) dropped: AtomicU64,
}

impl Faults {
    fn new() -> Self {
        Self {
            after_parts: AtomicU64::new(u64::MAX),
            ..Default::default()
        }
    }

    pub(crate) fn clear(&self) {
        self.all.store(false, Ordering::SeqCst);
        self.deletes.store(false, Ordering::SeqCst);
        self.after_parts.store(u64::MAX, Ordering::SeqCst);
    }

    fn refuses<B>(&self, req: &hyper::Request<B>) -> bool {
        let query = req.uri().query().unwrap_or("");
        if req.method() == hyper::Method::PUT && query.contains("partNumber=") {
            let seen = self.parts_seen.fetch_add(1, Ordering::SeqCst);
            if seen >= self.after_parts.load(Ordering::SeqCst) {
                self.all.store(true, Ordering::SeqCst);
            }
        }
        let delete = req.method() == hyper::Method::DELETE
            || (req.method() == hyper::Method::POST
                && query.split('&').any(|q| q == "delete" || q == "delete="));
        let refuse =
            self.all.load(Ordering::SeqCst) || (delete && self.deletes.load(Ordering::SeqCst));
        if refuse {
            self.dropped.fetch_add(1, Ordering::SeqCst);
        }
        refuse
    }
}

/// The error that makes hyper drop the connection.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("dropped by the test")
    }
}

impl std::error::Error for Dropped {}

/// s3s's service, or a dropped connection when [`Faults`] says so.
#[derive(Clone)]
struct Faulty {
    inner: s3s::service::S3Service,
    faults: Arc<Faults>,
}

type Answer = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<s3s::HttpResponse, s3s::HttpError>> + Send>,
>;

impl hyper::service::Service<hyper::Request<hyper::body::Incoming>> for Faulty {
    type Response = s3s::HttpResponse;
    type Error = s3s::HttpError;
    type Future = Answer;

    fn call(&self, req: hyper::Request<hyper::body::Incoming>) -> Answer {
        if self.faults.refuses(&req) {
            return Box::pin(async { Err(s3s::HttpError::new(Box::new(Dropped))) });
        }
        hyper::service::Service::call(&self.inner, req)
    }
}

pub(crate) struct S3 {
    addr: SocketAddr,
    pub(crate) faults: Arc<Faults>,
    _root: tempfile::TempDir,
}

impl S3 {
    /// s3s-fs on a random 127.0.0.1 port, serving bucket `lens` from a temp folder.
    pub(crate) fn start(rt: &tokio::runtime::Runtime) -> Self {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join(BUCKET)).unwrap();
        let fs = s3s_fs::FileSystem::new(root.path()).unwrap();
        let mut b = s3s::service::S3ServiceBuilder::new(fs);
        b.set_auth(s3s::auth::SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
        let service = b.build();
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let faults = Arc::new(Faults::new());
        let f = faults.clone();
        rt.spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    continue;
                };
                let handler = Faulty {
                    inner: service.clone(),
                    faults: f.clone(),
                };
                tokio::spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(socket), handler)
                        .await;
                });
            }
        });
        Self {
            addr,
            faults,
            _root: root,
        }
    }

    /// Where s3s-fs keeps object `key` of the bucket (a plain file), for
    /// tests that damage an object behind the server's back.
    pub(crate) fn object_file(&self, key: &str) -> std::path::PathBuf {
        self._root.path().join(BUCKET).join(key)
    }

    pub(crate) fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Our own client of the bucket, to look at what the server shipped.
    pub(crate) fn client(&self) -> Arc<dyn ObjectStore> {
        // reqwest here has rustls without a provider (see ship::store).
        let _ = rustls::crypto::ring::default_provider().install_default();
        Arc::new(
            object_store::aws::AmazonS3Builder::new()
                .with_endpoint(self.endpoint())
                .with_bucket_name(BUCKET)
                .with_region("us-east-1")
                .with_access_key_id(ACCESS_KEY)
                .with_secret_access_key(SECRET_KEY)
                .with_allow_http(true)
                .build()
                .unwrap(),
        )
    }
}
