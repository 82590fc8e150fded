//! PostgreSQL outbound adapters (sqlx, PostgreSQL 16 + pgvector).
//!
//! Owns the SQL: the embedded migrations ([`MIGRATOR`]), partition upkeep, and the
//! repositories that implement the application's ports. Translates every driver error into
//! the port's error type here, so nothing above knows a SQLSTATE. Must not know HTTP.

mod audit;
mod catalog;
mod citus;
mod copy;
mod error;
mod governance;
mod group_commit;
mod log;
mod partitions;
mod remediation;
mod schema;
mod writer;

use std::path::PathBuf;
use std::time::Duration;

pub use sqlx::Error as PgError;
pub use sqlx::PgPool;
pub use sqlx::postgres::PgSslMode;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection};

pub use audit::PgAuditEventRepository;
pub use catalog::PgWorkflowCatalog;
pub use citus::distribute as distribute_on_citus;
pub use error::{Failure, classify as classify_failure, classify_sqlstate};
pub use governance::PgGovernance;
pub use group_commit::GroupCommitSettings;
pub use log::{PgAuditLog, log_queueing_enabled, queue_events_for_log};
pub use partitions::{PartitionUpkeep, ensure_audit_partitions_around};
pub use schema::{MigrationName, SchemaError, check_schema_current, migrate, run_script};

/// Every migration of `migrations/`, embedded in the binary; run by `datastorage migrate`, or
/// at start when the service owns its schema.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

/// How the pool connects.
#[derive(Debug, Clone)]
pub struct PgSettings {
    pub url: String,
    pub max_connections: u32,
    /// How long a request waits for a free connection before the store counts as unavailable.
    pub acquire_timeout: Duration,
    /// TLS beyond what the URL says (each set field wins over the URL's parameter).
    pub tls: PgTls,
    /// The server cancels a statement running longer (`statement_timeout`; zero: never).
    pub statement_timeout: Duration,
    /// The server ends a session idle this long inside a transaction, so a client that
    /// vanished mid-write does not hold its locks (`idle_in_transaction_session_timeout`;
    /// zero: never).
    pub idle_in_transaction_timeout: Duration,
}

/// TLS to PostgreSQL (rustls, with the ring provider). Each field left `None` keeps what the
/// URL says (`sslmode`, `sslrootcert`, `sslcert`, `sslkey`), and libpq's default `prefer`.
#[derive(Debug, Clone, Default)]
pub struct PgTls {
    /// `disable` up to `verify-full` (the server's certificate chains to a trusted CA and
    /// names the host).
    pub mode: Option<PgSslMode>,
    /// PEM file of the CAs trusted beyond the system's store.
    pub root_cert: Option<PathBuf>,
    /// PEM files of a client certificate and its key.
    pub client_cert: Option<(PathBuf, PathBuf)>,
}

impl PgTls {
    pub(crate) fn apply(&self, mut options: PgConnectOptions) -> PgConnectOptions {
        if let Some(mode) = self.mode {
            options = options.ssl_mode(mode);
        }
        if let Some(root) = &self.root_cert {
            options = options.ssl_root_cert(root);
        }
        if let Some((cert, key)) = &self.client_cert {
            options = options.ssl_client_cert(cert).ssl_client_key(key);
        }
        options
    }
}

/// Whether connecting failed in TLS: the server refused it, or its certificate was not
/// accepted (an unknown CA, a name that does not match the host).
pub fn is_tls_failure(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Tls(_) => true,
        // rustls reports a refused certificate through the socket, as invalid data.
        sqlx::Error::Io(io) => io.kind() == std::io::ErrorKind::InvalidData,
        _ => false,
    }
}

/// Connects a pool and brings the schema up to date.
///
/// # Errors
/// The URL is invalid, the server is unreachable, or a migration fails.
pub async fn connect_and_migrate(settings: &PgSettings) -> Result<PgPool, sqlx::Error> {
    let pool = connect(settings).await?;
    let mut conn = pool.acquire().await?;
    // A migration's backfill may run longer than any request may: no statement timeout for
    // this session until it is done (RESET goes back to the pool's startup value).
    sqlx::query("SET statement_timeout = 0")
        .execute(&mut *conn)
        .await?;
    MIGRATOR.run(&mut *conn).await?;
    citus::distribute(&mut conn).await?;
    sqlx::query("RESET statement_timeout")
        .execute(&mut *conn)
        .await?;
    drop(conn);
    Ok(pool)
}

/// Connects a pool, running no DDL (the schema is checked with [`check_schema_current`]).
///
/// # Errors
/// The URL is invalid or the server is unreachable.
pub async fn connect(settings: &PgSettings) -> Result<PgPool, sqlx::Error> {
    let options = settings
        .tls
        .apply(settings.url.parse::<PgConnectOptions>()?);
    // Citus plans a statement with parameters that touches several shards (a read by id, a
    // time-ordered page) only from a custom plan: a forced generic one fails (0A000).
    let citus = {
        let mut conn = PgConnection::connect_with(&options).await?;
        let citus = citus::installed(&mut conn).await;
        let _ = conn.close().await;
        citus?
    };
    let options = options.options([
        (
            "statement_timeout",
            settings.statement_timeout.as_millis().to_string(),
        ),
        (
            "idle_in_transaction_session_timeout",
            settings.idle_in_transaction_timeout.as_millis().to_string(),
        ),
    ]);
    let options = if citus {
        options
    } else {
        options
            // audit_events is partitioned by month, and a custom plan (PostgreSQL's default for
            // the first executions of a statement, and whenever it guesses one is cheaper) plans
            // every partition again on each execution, most of a keyset page's time and growing
            // with each month kept. Every filter has an index ending in the
            // listing order, so the plan made once without the values is the one the values
            // would give; the catalog's statements do not depend on their values either.
            .options([("plan_cache_mode", "force_generic_plan")])
    };
    PgPoolOptions::new()
        // No ping before every checkout: it is a round trip per query. A dead connection
        // fails its query instead, which the callers
        // treat as a transient failure (retry, queue, or 503).
        .test_before_acquire(false)
        // A connection's buffers keep the size of the largest message it carried (a batch's
        // COPY, a page of events): returned to the pool, it keeps only the default 8 KiB, so
        // 32 idle connections do not hold megabytes between bursts.
        .after_release(|conn, _| {
            Box::pin(async move {
                conn.shrink_buffers();
                Ok(true)
            })
        })
        .max_connections(settings.max_connections)
        .acquire_timeout(settings.acquire_timeout)
        .connect_with(options)
        .await
}
