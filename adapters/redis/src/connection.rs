//! How the adapters reach Redis, with TLS (`rediss://`, a CA file, an optional client
//! certificate) and ACL credentials from the URL (`rediss://user:password@host:port/db`) on
//! every connection the service opens: redis-rs for claims, acknowledgements, stats and the
//! embedding cache, and the enqueue's own RESP connections (`resp`), which get the same
//! trust from [`RedisEndpoint::tls_connector`].
//!
//! Each redis-rs user holds a [`ConnectionManager`]: one multiplexed connection, cloned rather
//! than checked out of a pool, so no call pays a `PING` before it runs (deadpool-redis sent
//! one per checkout), and reconnected in the background after an I/O error. On a Redis
//! Cluster it holds redis-rs's cluster connection instead ([`RedisConn`]), which discovers the
//! slots, follows `MOVED`/`ASK` and never sends `SELECT`.

use std::path::PathBuf;

use std::sync::Arc;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster::{ClusterClient, ClusterClientBuilder, ClusterConfig};
use redis::cluster_async::ClusterConnection;
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
    /// On a Redis Cluster ([`RedisEndpoint::cluster`]), one or more of its nodes, separated by
    /// commas; the others are discovered.
    pub url: String,
    pub tls: RedisTls,
    /// A Redis Cluster: every connection discovers the slots and follows `MOVED`/`ASK`.
    pub cluster: bool,
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
    #[error("a Redis Cluster has only database 0; the URL {0} names another")]
    ClusterDatabase(String),
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
    /// The nodes the URL names: one, or on a cluster each of the comma-separated seeds (each
    /// on database 0: a cluster has no other, and `SELECT` is never sent to one).
    ///
    /// # Errors
    /// An invalid URL, or a cluster seed naming another database.
    pub(crate) fn nodes(&self) -> Result<Vec<ConnectionInfo>, EndpointError> {
        if !self.cluster {
            return Ok(vec![self.url.as_str().into_connection_info()?]);
        }
        let mut nodes = Vec::new();
        for seed in self.url.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let info = seed.into_connection_info()?;
            if info.redis_settings().db() != 0 {
                return Err(EndpointError::ClusterDatabase(format!("{}", info.addr())));
            }
            nodes.push(info);
        }
        if nodes.is_empty() {
            return Err(RedisError::from((
                redis::ErrorKind::InvalidClientConfig,
                "no Redis Cluster node in the URL",
            ))
            .into());
        }
        Ok(nodes)
    }

    /// The CA and client certificate for redis-rs, read now (a missing file fails here, at
    /// start, naming its setting); `None` without TLS material.
    fn certificates(
        &self,
        first: &ConnectionInfo,
    ) -> Result<Option<TlsCertificates>, EndpointError> {
        if self.tls.ca_file.is_none() && self.tls.client_cert.is_none() {
            return Ok(None);
        }
        if !matches!(first.addr(), redis::ConnectionAddr::TcpTls { .. }) {
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
        Ok(Some(TlsCertificates {
            client_tls,
            root_cert,
        }))
    }

    /// The redis-rs client for a single server: plain, or TLS with the CA and client
    /// certificate.
    ///
    /// # Errors
    /// An invalid URL, an unreadable file, or TLS material for a `redis://` URL.
    pub fn client(&self) -> Result<Client, EndpointError> {
        let info = self.url.as_str().into_connection_info()?;
        Ok(match self.certificates(&info)? {
            None => Client::open(info)?,
            Some(certificates) => Client::build_with_tls(info, certificates)?,
        })
    }

    /// The redis-rs client for a cluster, seeded with the URL's nodes, with the same TLS
    /// material and the ACL user of the URL.
    fn cluster_client(&self) -> Result<ClusterClient, EndpointError> {
        let nodes = self.nodes()?;
        let certificates = match nodes.first() {
            Some(first) => self.certificates(first)?,
            None => None,
        };
        let mut builder = ClusterClientBuilder::new(nodes)
            .connection_timeout(CONNECT_TIMEOUT)
            .response_timeout(RESPONSE_TIMEOUT)
            // A redirect or a reconnect after a failover is a retry: a few, briefly, then the
            // caller hears (a claim is tried again on the next pass).
            .retries(CLUSTER_RETRIES)
            .min_retry_wait(10)
            .max_retry_wait(200);
        if let Some(certificates) = certificates {
            builder = builder.certs(certificates);
        }
        Ok(builder.build()?)
    }

    /// The server's address and, for `rediss://`, the rustls connector the enqueue's own
    /// connections use: the CA file's certificates (else the system's trust store) and the
    /// client certificate, exactly as redis-rs is given them.
    ///
    /// # Errors
    /// An invalid URL, an unreadable or invalid file, or TLS material for a `redis://` URL.
    pub(crate) fn tls_connector(
        &self,
    ) -> Result<(Vec<ConnectionInfo>, Option<TlsConnector>), EndpointError> {
        let nodes = self.nodes()?;
        let tls = nodes
            .first()
            .is_some_and(|info| matches!(info.addr(), redis::ConnectionAddr::TcpTls { .. }));
        if !tls {
            if self.tls.ca_file.is_some() || self.tls.client_cert.is_some() {
                return Err(EndpointError::TlsWithoutRediss);
            }
            return Ok((nodes, None));
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
        Ok((nodes, Some(TlsConnector::from(Arc::new(config)))))
    }

    /// A connection that connects on first use (for callers that may start before Redis is
    /// up, such as the embedding cache).
    ///
    /// # Errors
    /// As [`RedisEndpoint::client`].
    pub(crate) fn lazy_connection(&self) -> Result<LazyConn, EndpointError> {
        Ok(if self.cluster {
            LazyConn::Cluster(Box::new(LazyCluster {
                client: self.cluster_client()?,
                conn: tokio::sync::OnceCell::new(),
            }))
        } else {
            LazyConn::Single(ConnectionManager::new_lazy_with_config(
                self.client()?,
                manager_config(),
            )?)
        })
    }

    /// A connection, connected now.
    ///
    /// # Errors
    /// As [`RedisEndpoint::client`], or when Redis cannot be reached (or refuses the TLS
    /// handshake or the credentials).
    pub(crate) async fn connection(&self) -> Result<RedisConn, EndpointError> {
        Ok(if self.cluster {
            RedisConn::Cluster(
                self.cluster_client()?
                    .get_async_connection_with_config(cluster_config())
                    .await?,
            )
        } else {
            RedisConn::Single(Resilient(
                ConnectionManager::new_with_config(self.client()?, manager_config()).await?,
            ))
        })
    }
}

/// Redirects and reconnects a cluster command may take before its caller hears of it.
const CLUSTER_RETRIES: u32 = 4;

fn cluster_config() -> ClusterConfig {
    ClusterConfig::new()
        .set_connection_timeout(CONNECT_TIMEOUT)
        .set_response_timeout(RESPONSE_TIMEOUT)
}

/// A connection made on first use, and again on the next use if that failed.
pub(crate) enum LazyConn {
    Single(ConnectionManager),
    Cluster(Box<LazyCluster>),
}

pub(crate) struct LazyCluster {
    client: ClusterClient,
    conn: tokio::sync::OnceCell<ClusterConnection>,
}

impl LazyConn {
    pub(crate) async fn get(&self) -> Result<RedisConn, RedisError> {
        match self {
            LazyConn::Single(manager) => Ok(RedisConn::Single(Resilient(manager.clone()))),
            LazyConn::Cluster(lazy) => {
                let conn = lazy
                    .conn
                    .get_or_try_init(|| {
                        lazy.client
                            .get_async_connection_with_config(cluster_config())
                    })
                    .await?;
                Ok(RedisConn::Cluster(conn.clone()))
            }
        }
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

/// A handle on a single Redis ([`Resilient`]) or on a cluster (redis-rs's cluster connection:
/// each command goes to the master of its key's slot). Cheap to clone.
#[derive(Clone)]
pub(crate) enum RedisConn {
    Single(Resilient),
    Cluster(ClusterConnection),
}

impl redis::aio::ConnectionLike for RedisConn {
    fn req_packed_command<'a>(
        &'a mut self,
        cmd: &'a redis::Cmd,
    ) -> redis::RedisFuture<'a, redis::Value> {
        match self {
            RedisConn::Single(c) => c.req_packed_command(cmd),
            RedisConn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> redis::RedisFuture<'a, Vec<redis::Value>> {
        match self {
            RedisConn::Single(c) => c.req_packed_commands(pipeline, offset, count),
            RedisConn::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            RedisConn::Single(c) => c.get_db(),
            RedisConn::Cluster(c) => c.get_db(),
        }
    }
}
