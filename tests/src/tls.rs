//! A certificate authority made per test, and HTTPS servers that present its certificates: the
//! TLS tests run the real servers (PostgreSQL with `ssl = on`, Redis with `tls-port`, an
//! embeddings server behind rustls) with these files.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// The host names every server certificate carries.
const SERVER_NAMES: [&str; 2] = ["localhost", "127.0.0.1"];

/// A CA of its own with a server and a client certificate it signed, as PEM files in a
/// directory of their own.
pub struct TestPki {
    dir: PathBuf,
    pub ca_file: PathBuf,
    pub server_cert_file: PathBuf,
    pub server_key_file: PathBuf,
    pub client_cert_file: PathBuf,
    pub client_key_file: PathBuf,
    server_cert_pem: String,
    server_key_pem: String,
}

fn ca(name: &str) -> (Certificate, KeyPair) {
    let key = KeyPair::generate().expect("CA key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    (params.self_signed(&key).expect("self-signed CA"), key)
}

fn leaf(
    names: &[&str],
    usage: ExtendedKeyUsagePurpose,
    issuer: &(Certificate, KeyPair),
) -> (String, String) {
    let key = KeyPair::generate().expect("leaf key");
    let mut params =
        CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
            .expect("leaf params");
    params.distinguished_name.push(
        DnType::CommonName,
        names.first().copied().unwrap_or("client"),
    );
    params.extended_key_usages = vec![usage];
    let cert = params
        .signed_by(&key, &issuer.0, &issuer.1)
        .expect("signed leaf");
    (cert.pem(), key.serialize_pem())
}

impl TestPki {
    /// A fresh CA, a server certificate for `localhost` and `127.0.0.1`, and a client
    /// certificate, written under `DS_SERVICES_DIR` (or the temporary directory).
    pub fn new() -> Self {
        let base = std::env::var("DS_SERVICES_DIR")
            .unwrap_or_else(|_| std::env::temp_dir().display().to_string());
        let dir = PathBuf::from(base).join(format!("pki-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).expect("pki dir");
        let authority = ca("datastorage test CA");
        let (server_cert_pem, server_key_pem) = leaf(
            &SERVER_NAMES,
            ExtendedKeyUsagePurpose::ServerAuth,
            &authority,
        );
        let (client_cert_pem, client_key_pem) = leaf(
            &["datastorage"],
            ExtendedKeyUsagePurpose::ClientAuth,
            &authority,
        );
        let write = |name: &str, text: &str| {
            let path = dir.join(name);
            std::fs::write(&path, text).expect("write a PEM file");
            path
        };
        Self {
            ca_file: write("ca.pem", &authority.0.pem()),
            server_cert_file: write("server.pem", &server_cert_pem),
            server_key_file: write("server.key", &server_key_pem),
            client_cert_file: write("client.pem", &client_cert_pem),
            client_key_file: write("client.key", &client_key_pem),
            server_cert_pem,
            server_key_pem,
            dir,
        }
    }

    /// The PEM file of another CA, which signed none of these certificates.
    pub fn unrelated_ca_file(&self) -> PathBuf {
        let path = self.dir.join("unrelated-ca.pem");
        std::fs::write(&path, ca("some other CA").0.pem()).expect("write a PEM file");
        path
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A rustls acceptor presenting the server certificate.
    pub fn acceptor(&self) -> TlsAcceptor {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        datastorage::tls::install_crypto_provider();
        let chain = vec![
            CertificateDer::from_pem_slice(self.server_cert_pem.as_bytes()).expect("server cert"),
        ];
        let key =
            PrivateKeyDer::from_pem_slice(self.server_key_pem.as_bytes()).expect("server key");
        let config = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .expect("server TLS config");
        TlsAcceptor::from(Arc::new(config))
    }
}

impl Default for TestPki {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TestPki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A TCP listener whose connections are served only after a TLS handshake; a connection
/// whose handshake fails is dropped and the next one awaited.
struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((stream, addr)) = self.tcp.accept().await else {
                continue;
            };
            if let Ok(tls) = self.acceptor.accept(stream).await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// Serves `router` over HTTPS on `tcp` with the PKI's server certificate; the base URL
/// (`https://localhost:<port>`).
pub fn serve_https(tcp: TcpListener, router: Router, pki: &TestPki) -> String {
    let port = tcp.local_addr().expect("addr").port();
    let listener = TlsListener {
        tcp,
        acceptor: pki.acceptor(),
    };
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("https://localhost:{port}")
}
