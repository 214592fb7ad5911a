//! Throw-away certificates for a TLS cluster, written as PEM files.
//!
//! One CA signs a server certificate (shared by every member: all listen on
//! 127.0.0.1) and a client certificate. A second, unrelated CA with its own
//! client certificate lets tests check that the wrong trust is refused in both
//! directions. Keys are ECDSA P-256 (rcgen's default), which Go's TLS accepts.
//!
//! Invariants etcd depends on:
//! - the server certificate has IP SAN 127.0.0.1 (clients dial an IP, and Go
//!   ignores the common name), and both ServerAuth and ClientAuth usages: with
//!   `--client-cert-auth` etcd's own gRPC gateway dials the member with the
//!   server certificate as its client certificate;
//! - the client certificate's common name is no etcd user name: with auth on,
//!   etcd takes the CN of a verified client certificate as the user, so a CN of
//!   `root` would make every TLS caller root.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

/// The common name of [`TlsFiles::client_cert`]; deliberately not a user name.
pub const CLIENT_CN: &str = "etcd-lens-test-client";

/// PEM files of a TLS cluster, in its temp dir.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    /// The CA that signed the server and client certificates (`--trusted-ca-file`).
    pub ca: PathBuf,
    /// Served by every member on its client URL; IP SAN 127.0.0.1, DNS SAN localhost.
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    /// A client certificate (ClientAuth, CN [`CLIENT_CN`]) signed by [`Self::ca`].
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    /// A second CA that signed nothing the cluster trusts or serves.
    pub wrong_ca: PathBuf,
    /// A client certificate signed by [`Self::wrong_ca`]: members refuse it.
    pub wrong_client_cert: PathBuf,
    pub wrong_client_key: PathBuf,
}

/// Make the certificates and write them into `dir` (which must exist).
pub(super) fn generate(dir: &Path) -> TlsFiles {
    let files = TlsFiles {
        ca: dir.join("ca.pem"),
        server_cert: dir.join("server.pem"),
        server_key: dir.join("server-key.pem"),
        client_cert: dir.join("client.pem"),
        client_key: dir.join("client-key.pem"),
        wrong_ca: dir.join("wrong-ca.pem"),
        wrong_client_cert: dir.join("wrong-client.pem"),
        wrong_client_key: dir.join("wrong-client-key.pem"),
    };

    let ca = new_ca("etcd-lens test CA", &files.ca);
    let wrong_ca = new_ca("etcd-lens unrelated CA", &files.wrong_ca);

    let mut server = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
        .expect("valid SANs");
    server
        .distinguished_name
        .push(DnType::CommonName, "etcd-lens test server");
    server.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    server.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    leaf(&server, &ca, &files.server_cert, &files.server_key);

    leaf(&client_params(), &ca, &files.client_cert, &files.client_key);
    leaf(
        &client_params(),
        &wrong_ca,
        &files.wrong_client_cert,
        &files.wrong_client_key,
    );
    files
}

fn client_params() -> CertificateParams {
    let mut p = CertificateParams::new(Vec::<String>::new()).expect("no SANs");
    p.distinguished_name.push(DnType::CommonName, CLIENT_CN);
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    p
}

/// A self-signed CA; its certificate is written to `cert_path`, its key kept in memory.
fn new_ca(name: &str, cert_path: &Path) -> Issuer<'static, KeyPair> {
    let mut p = CertificateParams::new(Vec::<String>::new()).expect("no SANs");
    p.distinguished_name.push(DnType::CommonName, name);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let key = KeyPair::generate().expect("generating a CA key");
    let cert = p.self_signed(&key).expect("self-signing the CA");
    write(cert_path, &cert.pem());
    Issuer::new(p, key)
}

fn leaf(params: &CertificateParams, ca: &Issuer<'_, KeyPair>, cert_path: &Path, key_path: &Path) {
    let key = KeyPair::generate().expect("generating a key");
    let cert = params.signed_by(&key, ca).expect("signing a certificate");
    write(cert_path, &cert.pem());
    write(key_path, &key.serialize_pem());
}

fn write(path: &Path, pem: &str) {
    std::fs::write(path, pem).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}
