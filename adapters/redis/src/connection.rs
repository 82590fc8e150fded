//! How the adapters reach Redis, with TLS (`rediss://`, a CA file, an optional client
//! certificate) and ACL credentials from the URL (`rediss://user:password@host:port/db`) on
//! every connection the service opens: redis-rs for claims, acknowledgements, stats and the
//! embedding cache, and the enqueue's own RESP connections (`resp`), which get the same
//! trust from [`RedisEndpoint::tls_connector`].
//!
//! Each redis-rs user holds a [`ConnectionManager`]: one multiplexed connection, cloned rather
//! than checked out of a pool, so no call pays a `PING` before it runs (deadpool-redis sent
//! one per checkout), and reconnected in the background after an I/O error.

use std::path::PathBuf;

use std::sync::Arc;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{
    Client, ClientTlsConfig, ConnectionInfo, IntoConnectionInfo, RedisError, TlsCertificates,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsConnector;

use crate::resp::{CONNECT_TIMEOUT, RESPONSE_TIMEOUT};

/// A Redis server and how to trust it.
#[derive(Debug, Clone, Default)]
pub struct RedisEndpoint {
    /// `redis://` or `rediss://` (TLS), with ACL user and password if the server wants them.
    pub url: String,
    pub tls: RedisTls,
}

/// TLS material beyond the URL's scheme. Without a CA file, a `rediss://` server is checked
/// against the system's trust store.
#[derive(Debug, Clone, Default)]
pub struct RedisTls {
    /// PEM file of the certificate authorities the server's certificate must chain to.
    pub ca_file: Option<PathBuf>,
    /// PEM files of a client certificate and its key, for servers that ask for one.
    pub client_cert: Option<(PathBuf, PathBuf)>,
}

/// Why a Redis endpoint cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    #[error("cannot read {setting} file {path}: {source}")]
    File {
        setting: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "TLS settings (a CA file or a client certificate) need a rediss:// URL; the URL is redis://"
    )]
    TlsWithoutRediss,
    #[error("invalid PEM in {setting} file {path}: {reason}")]
    Pem {
        setting: &'static str,
        path: String,
        reason: String,
    },
    #[error("cannot use the TLS settings: {0}")]
    Tls(#[from] rustls::Error),
    #[error(transparent)]
    Redis(#[from] RedisError),
}

const CA_SETTING: &str = "DS_REDIS__CA_FILE";
const CERT_SETTING: &str = "DS_REDIS__CLIENT_CERT_FILE";
const KEY_SETTING: &str = "DS_REDIS__CLIENT_KEY_FILE";

fn pem_error(
    setting: &'static str,
    path: &std::path::Path,
    e: impl std::fmt::Display,
) -> EndpointError {
    EndpointError::Pem {
        setting,
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

fn read(setting: &'static str, path: &std::path::Path) -> Result<Vec<u8>, EndpointError> {
    std::fs::read(path).map_err(|source| EndpointError::File {
        setting,
        path: path.display().to_string(),
        source,
    })
}

impl RedisEndpoint {
    /// The redis-rs client for this endpoint: plain, or TLS with the CA and client
    /// certificate read now (a missing file fails here, at start, naming its setting).
    ///
    /// # Errors
    /// An invalid URL, an unreadable file, or TLS material for a `redis://` URL.
    pub fn client(&self) -> Result<Client, EndpointError> {
        let info = self.url.as_str().into_connection_info()?;
        if self.tls.ca_file.is_none() && self.tls.client_cert.is_none() {
            return Ok(Client::open(info)?);
        }
        if !matches!(info.addr(), redis::ConnectionAddr::TcpTls { .. }) {
            return Err(EndpointError::TlsWithoutRediss);
        }
        let root_cert = self
            .tls
            .ca_file
            .as_ref()
            .map(|path| read(CA_SETTING, path))
            .transpose()?;
        let client_tls = match &self.tls.client_cert {
            Some((cert, key)) => Some(ClientTlsConfig {
                client_cert: read(CERT_SETTING, cert)?,
                client_key: read(KEY_SETTING, key)?,
            }),
            None => None,
        };
        Ok(Client::build_with_tls(
            info,
            TlsCertificates {
                client_tls,
                root_cert,
            },
        )?)
    }

    /// The server's address and, for `rediss://`, the rustls connector the enqueue's own
    /// connections use: the CA file's certificates (else the system's trust store) and the
    /// client certificate, exactly as redis-rs is given them.
    ///
    /// # Errors
    /// An invalid URL, an unreadable or invalid file, or TLS material for a `redis://` URL.
    pub(crate) fn tls_connector(
        &self,
    ) -> Result<(ConnectionInfo, Option<TlsConnector>), EndpointError> {
        let info = self.url.as_str().into_connection_info()?;
        if !matches!(info.addr(), redis::ConnectionAddr::TcpTls { .. }) {
            if self.tls.ca_file.is_some() || self.tls.client_cert.is_some() {
                return Err(EndpointError::TlsWithoutRediss);
            }
            return Ok((info, None));
        }
        let mut roots = rustls::RootCertStore::empty();
        match &self.tls.ca_file {
            Some(path) => {
                let pem = read(CA_SETTING, path)?;
                for cert in CertificateDer::pem_slice_iter(&pem) {
                    let cert = cert.map_err(|e| pem_error(CA_SETTING, path, e))?;
                    roots.add(cert)?;
                }
                if roots.is_empty() {
                    return Err(pem_error(CA_SETTING, path, "no certificate in it"));
                }
            }
            None => {
                // Certificates the system store cannot parse are skipped, as redis-rs does.
                let found = rustls_native_certs::load_native_certs();
                roots.add_parsable_certificates(found.certs);
            }
        }
        let builder = rustls::ClientConfig::builder().with_root_certificates(roots);
        let config = match &self.tls.client_cert {
            Some((cert_path, key_path)) => {
                let chain = CertificateDer::pem_slice_iter(&read(CERT_SETTING, cert_path)?)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| pem_error(CERT_SETTING, cert_path, e))?;
                let key = PrivateKeyDer::from_pem_slice(&read(KEY_SETTING, key_path)?)
                    .map_err(|e| pem_error(KEY_SETTING, key_path, e))?;
                builder.with_client_auth_cert(chain, key)?
            }
            None => builder.with_no_client_auth(),
        };
        Ok((info, Some(TlsConnector::from(Arc::new(config)))))
    }

    /// A managed connection that connects on first use (for callers that may start before
    /// Redis is up, such as the embedding cache).
    ///
    /// # Errors
    /// As [`RedisEndpoint::client`].
    pub fn lazy_connection(&self) -> Result<ConnectionManager, EndpointError> {
        Ok(ConnectionManager::new_lazy_with_config(
            self.client()?,
            manager_config(),
        )?)
    }

    /// A managed connection, connected now.
    ///
    /// # Errors
    /// As [`RedisEndpoint::client`], or when Redis cannot be reached (or refuses the TLS
    /// handshake or the credentials).
    pub async fn connection(&self) -> Result<ConnectionManager, EndpointError> {
        Ok(ConnectionManager::new_with_config(self.client()?, manager_config()).await?)
    }
}

fn manager_config() -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_response_timeout(Some(RESPONSE_TIMEOUT))
        // One attempt per reconnect: while Redis is down a caller should hear so at once
        // (and answer 503), not wait out a backoff; the next call tries again.
        .set_number_of_retries(0)
}

/// A redis-rs connection that sends a command once more when it failed with its connection
/// (Redis restarted, an idle connection cut). redis-rs reconnects after such an error, but the
/// call that finds the connection dead fails; a pool's checkout would have found out with a
/// `PING` first, at a round trip per call. A timeout is not retried: the command may still
/// run. A retried write can land twice only if Redis applied it before the connection broke;
/// the queue's writes are entries that replay stores once by event id.
#[derive(Clone)]
pub(crate) struct Resilient(pub(crate) ConnectionManager);

fn connection_lost(e: &RedisError) -> bool {
    !e.is_timeout() && (e.is_io_error() || e.is_connection_dropped() || e.is_unrecoverable_error())
}

impl redis::aio::ConnectionLike for Resilient {
    fn req_packed_command<'a>(
        &'a mut self,
        cmd: &'a redis::Cmd,
    ) -> redis::RedisFuture<'a, redis::Value> {
        Box::pin(async move {
            match self.0.req_packed_command(cmd).await {
                Err(e) if connection_lost(&e) => {
                    tracing::debug!(error = %e, "Redis connection lost; sending once more");
                    self.0.req_packed_command(cmd).await
                }
                answered => answered,
            }
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> redis::RedisFuture<'a, Vec<redis::Value>> {
        Box::pin(async move {
            match self.0.req_packed_commands(pipeline, offset, count).await {
                Err(e) if connection_lost(&e) => {
                    tracing::debug!(error = %e, "Redis connection lost; sending once more");
                    self.0.req_packed_commands(pipeline, offset, count).await
                }
                answered => answered,
            }
        })
    }

    fn get_db(&self) -> i64 {
        self.0.get_db()
    }
}
