//! Settings of the audit store: PostgreSQL, the audit limits, the transparency log, partitions.

use std::path::PathBuf;

use clap::Args;

use crate::secret::SecretUrl;

#[derive(Debug, Clone, Args)]
pub struct DatabaseSettings {
    /// PostgreSQL URL. Absent: in-memory storage.
    #[arg(
        id = "database_url",
        value_name = "DATABASE_URL",
        long = "database-url",
        env = "DATABASE_URL",
        hide_env_values = true
    )]
    pub url: Option<SecretUrl>,

    /// Most PostgreSQL connections in the pool.
    #[arg(
        id = "database_max_connections",
        value_name = "DATABASE_MAX_CONNECTIONS",
        long = "database-max-connections",
        env = "DS_DATABASE__MAX_CONNECTIONS",
        default_value_t = 32
    )]
    pub max_connections: u32,

    /// Seconds a request waits for a free PostgreSQL connection before storage counts as
    /// unavailable.
    #[arg(
        id = "database_acquire_timeout_secs",
        value_name = "DATABASE_ACQUIRE_TIMEOUT_SECS",
        long = "database-acquire-timeout-secs",
        env = "DS_DATABASE__ACQUIRE_TIMEOUT_SECS",
        default_value_t = 5
    )]
    pub acquire_timeout_secs: u64,

    /// Milliseconds PostgreSQL lets one statement of the service run before cancelling it
    /// (`statement_timeout`, set by the pool on each connection; 0: never). Migrations and
    /// retention are exempt.
    #[arg(
        id = "database_statement_timeout_ms",
        value_name = "DATABASE_STATEMENT_TIMEOUT_MS",
        long = "database-statement-timeout-ms",
        env = "DS_DATABASE__STATEMENT_TIMEOUT_MS",
        default_value_t = 30_000
    )]
    pub statement_timeout_ms: u64,

    /// Milliseconds PostgreSQL keeps a session that sits idle inside a transaction before
    /// ending it and releasing its locks (`idle_in_transaction_session_timeout`; 0: never).
    #[arg(
        id = "database_idle_in_transaction_timeout_ms",
        value_name = "DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS",
        long = "database-idle-in-transaction-timeout-ms",
        env = "DS_DATABASE__IDLE_IN_TRANSACTION_TIMEOUT_MS",
        default_value_t = 60_000
    )]
    pub idle_in_transaction_timeout_ms: u64,

    /// Most single-event writes committed together in one transaction (group commit).
    #[arg(id = "database_group_commit_max_events",
        value_name = "DATABASE_GROUP_COMMIT_MAX_EVENTS", long = "database-group-commit-max-events", env = "DS_DATABASE__GROUP_COMMIT_MAX_EVENTS", default_value_t = 256,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub group_commit_max_events: u32,

    /// Group-commit transactions in flight at once (each holds a pooled connection).
    #[arg(id = "database_group_commit_in_flight",
        value_name = "DATABASE_GROUP_COMMIT_IN_FLIGHT", long = "database-group-commit-in-flight", env = "DS_DATABASE__GROUP_COMMIT_IN_FLIGHT", default_value_t = 4,
          value_parser = clap::value_parser!(u32).range(1..=256))]
    pub group_commit_in_flight: u32,

    /// Apply the schema's migrations at start (the service's role must own the schema).
    /// `false`: run no DDL at start, only check that `datastorage migrate` has brought the
    /// schema to this binary's version, and refuse to start when it has not.
    #[arg(id = "database_migrate_at_start",
        value_name = "DATABASE_MIGRATE_AT_START", long = "database-migrate-at-start", env = "DS_DATABASE__MIGRATE_AT_START", default_value_t = true, action = clap::ArgAction::Set)]
    pub migrate_at_start: bool,

    /// TLS to PostgreSQL: `disable`, `allow`, `prefer`, `require`, `verify-ca` or
    /// `verify-full` (the certificate chains to a trusted CA and names the host). Absent: the
    /// URL's `sslmode`, else `prefer`.
    #[arg(id = "database_ssl_mode",
        value_name = "DATABASE_SSL_MODE", long = "database-ssl-mode", env = "DS_DATABASE__SSL_MODE",
          value_parser = parse_ssl_mode)]
    pub ssl_mode: Option<datastorage_postgres::PgSslMode>,

    /// PEM file of the certificate authorities trusted for PostgreSQL's certificate, beyond
    /// the system's store (the URL's `sslrootcert` does the same).
    #[arg(
        id = "database_ssl_root_cert",
        value_name = "DATABASE_SSL_ROOT_CERT",
        long = "database-ssl-root-cert",
        env = "DS_DATABASE__SSL_ROOT_CERT"
    )]
    pub ssl_root_cert: Option<PathBuf>,

    /// PEM file of a client certificate for PostgreSQL (with DS_DATABASE__SSL_KEY).
    #[arg(
        id = "database_ssl_cert",
        value_name = "DATABASE_SSL_CERT",
        long = "database-ssl-cert",
        env = "DS_DATABASE__SSL_CERT",
        requires = "database_ssl_key"
    )]
    pub ssl_cert: Option<PathBuf>,

    /// PEM file of the client certificate's private key.
    #[arg(
        id = "database_ssl_key",
        value_name = "DATABASE_SSL_KEY",
        long = "database-ssl-key",
        env = "DS_DATABASE__SSL_KEY",
        requires = "database_ssl_cert"
    )]
    pub ssl_key: Option<PathBuf>,
}

fn parse_ssl_mode(value: &str) -> Result<datastorage_postgres::PgSslMode, String> {
    value.parse().map_err(|_| {
        format!(
            "{value:?} is not an sslmode (disable, allow, prefer, require, verify-ca, verify-full)"
        )
    })
}

impl DatabaseSettings {
    /// TLS to PostgreSQL as these settings say it.
    pub fn tls(&self) -> datastorage_postgres::PgTls {
        datastorage_postgres::PgTls {
            mode: self.ssl_mode,
            root_cert: self.ssl_root_cert.clone(),
            client_cert: self.ssl_cert.clone().zip(self.ssl_key.clone()),
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct AuditLimits {
    /// Most events in one batch request.
    #[arg(id = "audit_max_batch",
        value_name = "AUDIT_MAX_BATCH", long = "audit-max-batch", env = "DS_AUDIT__MAX_BATCH", default_value_t = 1000,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub max_batch: u32,

    /// Oldest accepted event_timestamp, in hours before now.
    #[arg(id = "audit_max_age_hours",
        value_name = "AUDIT_MAX_AGE_HOURS", long = "audit-max-age-hours", env = "DS_AUDIT__MAX_AGE_HOURS", default_value_t = 7 * 24)]
    pub max_age_hours: u32,

    /// Furthest accepted event_timestamp ahead of now, in minutes (clock skew).
    #[arg(
        id = "audit_max_skew_ahead_minutes",
        value_name = "AUDIT_MAX_SKEW_AHEAD_MINUTES",
        long = "audit-max-skew-ahead-minutes",
        env = "DS_AUDIT__MAX_SKEW_AHEAD_MINUTES",
        default_value_t = 60
    )]
    pub max_skew_ahead_minutes: u32,

    /// `retention_days` of an event that states none, by category, as `category=days` pairs
    /// (`workflow=365,notification=90`); categories not named keep 2555, the original's
    /// default.
    #[arg(
        id = "audit_default_retention_days",
        value_name = "AUDIT_DEFAULT_RETENTION_DAYS",
        long = "audit-default-retention-days",
        env = "DS_AUDIT__DEFAULT_RETENTION_DAYS",
        default_value = ""
    )]
    pub default_retention_days: String,

    /// Honour each event's `retention_days`: a month of events is dropped once every event
    /// in it is past its retention and none is under a legal hold (checked every
    /// DS_PARTITIONS__INTERVAL_SECS). `false` keeps every event.
    #[arg(id = "audit_retention",
        value_name = "AUDIT_RETENTION", long = "audit-retention", env = "DS_AUDIT__RETENTION", default_value_t = true, action = clap::ArgAction::Set)]
    pub retention: bool,
}

#[derive(Debug, Clone, Args)]
pub struct AuditLogSettings {
    /// File holding the log's Ed25519 signing key as a signed-note private key
    /// (`PRIVATE+KEY+<origin>+<hash>+<base64>`, as `datastorage log keygen` writes it). Its key
    /// name is the log's origin. Absent: a fresh key is made at start (and logged), so
    /// checkpoints of earlier runs verify only with their own key.
    #[arg(
        id = "audit_log_key_file",
        value_name = "AUDIT_LOG_KEY_FILE",
        long = "audit-log-key-file",
        env = "DS_AUDIT_LOG__KEY_FILE"
    )]
    pub key_file: Option<std::path::PathBuf>,

    /// The log's origin when a key is made at start (with a key file, its key name).
    #[arg(
        id = "audit_log_origin",
        value_name = "AUDIT_LOG_ORIGIN",
        long = "audit-log-origin",
        env = "DS_AUDIT_LOG__ORIGIN",
        default_value = "datastorage.localhost/audit-log"
    )]
    pub origin: String,

    /// Sequence stored events into the log. `false` (PostgreSQL only) stops queueing new
    /// events for it: they will never be logged. For side-by-side benchmarks, not production.
    #[arg(id = "audit_log_enabled",
        value_name = "AUDIT_LOG_ENABLED", long = "audit-log-enabled", env = "DS_AUDIT_LOG__ENABLED", default_value_t = true, action = clap::ArgAction::Set)]
    pub enabled: bool,

    /// Milliseconds the sequencer waits when it found nothing to sequence.
    #[arg(id = "audit_log_poll_ms",
        value_name = "AUDIT_LOG_POLL_MS", long = "audit-log-poll-ms", env = "DS_AUDIT_LOG__POLL_MS", default_value_t = 200,
          value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub poll_ms: u64,

    /// Most events sequenced in one transaction.
    #[arg(id = "audit_log_batch",
        value_name = "AUDIT_LOG_BATCH", long = "audit-log-batch", env = "DS_AUDIT_LOG__BATCH", default_value_t = 10_000,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub batch: u32,

    /// Least milliseconds between two checkpoints of a growing log.
    #[arg(id = "audit_log_checkpoint_ms",
        value_name = "AUDIT_LOG_CHECKPOINT_MS", long = "audit-log-checkpoint-ms", env = "DS_AUDIT_LOG__CHECKPOINT_MS", default_value_t = 1000,
          value_parser = clap::value_parser!(u64).range(1..=3_600_000))]
    pub checkpoint_ms: u64,

    /// Most seconds between two checkpoints of an idle log.
    #[arg(id = "audit_log_idle_checkpoint_secs",
        value_name = "AUDIT_LOG_IDLE_CHECKPOINT_SECS", long = "audit-log-idle-checkpoint-secs", env = "DS_AUDIT_LOG__IDLE_CHECKPOINT_SECS", default_value_t = 300,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub idle_checkpoint_secs: u64,
}

#[derive(Debug, Clone, Args)]
pub struct PartitionSettings {
    /// Seconds between partition upkeep passes (create months ahead) and retention runs.
    #[arg(
        id = "partitions_interval_secs",
        value_name = "PARTITIONS_INTERVAL_SECS",
        long = "partitions-interval-secs",
        env = "DS_PARTITIONS__INTERVAL_SECS",
        default_value_t = 3600
    )]
    pub interval_secs: u64,
}
