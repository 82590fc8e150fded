//! Typed settings: command-line flags, each also readable from the environment.

use std::net::SocketAddr;

use clap::{Args, ValueEnum};

pub use crate::secret::{SecretUrl, redact_url};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EmbedderKind {
    /// all-MiniLM-L6-v2 in process, from --model-dir (scripts/fetch-model.sh fetches it).
    Local,
    /// An OpenAI-compatible server at EMBEDDER_URL.
    Http,
    /// No embedder: label-only search; free-text queries are refused.
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One JSON object per line (for log shippers).
    Json,
    /// Human-readable lines.
    Pretty,
}

/// Every setting, in the sections of the config file (`{"http": {...}}` is `DS_HTTP__*`).
#[derive(Debug, Clone, Args)]
pub struct Settings {
    #[command(flatten, next_help_heading = "HTTP")]
    pub http: HttpSettings,
    #[command(flatten, next_help_heading = "Authentication")]
    pub auth: AuthSettings,
    #[command(flatten, next_help_heading = "PostgreSQL")]
    pub database: DatabaseSettings,
    #[command(flatten, next_help_heading = "Audit events")]
    pub audit: AuditLimits,
    #[command(flatten, next_help_heading = "Transparency log")]
    pub audit_log: AuditLogSettings,
    #[command(flatten, next_help_heading = "Redis")]
    pub redis: RedisSettings,
    #[command(flatten, next_help_heading = "Dead-letter queue")]
    pub dlq: DlqSettings,
    #[command(flatten, next_help_heading = "Retries")]
    pub retry: RetrySettings,
    #[command(flatten, next_help_heading = "Circuit breaker")]
    pub breaker: BreakerSettings,
    #[command(flatten, next_help_heading = "Embedder")]
    pub embedder: EmbedderSettings,
    #[command(flatten, next_help_heading = "Local model")]
    pub model: ModelSettings,
    #[command(flatten, next_help_heading = "Embedding cache")]
    pub embedding_cache: EmbeddingCacheSettings,
    #[command(flatten, next_help_heading = "Partitions")]
    pub partitions: PartitionSettings,
    #[command(flatten, next_help_heading = "Shutdown")]
    pub shutdown: ShutdownSettings,
    #[command(flatten, next_help_heading = "Logging")]
    pub log: LogSettings,
}

#[derive(Debug, Clone, Args)]
pub struct HttpSettings {
    /// Address to listen on (port 0 picks a free port).
    #[arg(
        id = "addr",
        value_name = "ADDR",
        long = "addr",
        env = "DS_HTTP__ADDR",
        default_value = "127.0.0.1:8080"
    )]
    pub addr: SocketAddr,

    /// Largest accepted request body in bytes; larger bodies get 413.
    #[arg(id = "body_limit_bytes",
        value_name = "BODY_LIMIT_BYTES", long = "body-limit-bytes", env = "DS_HTTP__BODY_LIMIT_BYTES", default_value_t = 16 * 1024 * 1024)]
    pub body_limit_bytes: usize,

    /// Milliseconds an API request may take before a 503 `request-timeout`.
    #[arg(
        id = "request_timeout_ms",
        value_name = "REQUEST_TIMEOUT_MS",
        long = "request-timeout-ms",
        env = "DS_HTTP__REQUEST_TIMEOUT_MS",
        default_value_t = 30_000
    )]
    pub request_timeout_ms: u64,

    /// Most API requests in flight; beyond it 503 `saturated` with Retry-After (0 refuses all
    /// API traffic, a drain mode; probes and metrics still answer).
    #[arg(
        id = "max_in_flight",
        value_name = "MAX_IN_FLIGHT",
        long = "max-in-flight",
        env = "DS_HTTP__MAX_IN_FLIGHT",
        default_value_t = 1024
    )]
    pub max_in_flight: usize,
}

#[derive(Debug, Clone, Args)]
pub struct AuthSettings {
    /// JSON file of accepted bearer tokens, stored as SHA-256 hashes:
    /// `{"tokens": [{"identity": "gateway", "sha256": "<hex>", "roles": ["audit-writer"]}]}`.
    /// Roles: audit-writer, audit-reader, catalog-admin, catalog-reader, operator. Absent:
    /// no authentication, allowed only on a loopback address (or with --allow-anonymous).
    #[arg(
        id = "tokens_file",
        value_name = "TOKENS_FILE",
        long = "tokens-file",
        env = "DS_AUTH__TOKENS_FILE"
    )]
    pub tokens_file: Option<std::path::PathBuf>,

    /// Serve without authentication on a non-loopback address (not for production).
    #[arg(id = "allow_anonymous",
        value_name = "ALLOW_ANONYMOUS", long = "allow-anonymous", env = "DS_AUTH__ALLOW_ANONYMOUS", default_value_t = false, action = clap::ArgAction::Set)]
    pub allow_anonymous: bool,
}

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

    /// Drop audit partitions whose whole month is older than this many months (off when
    /// absent: audit data is kept).
    #[arg(
        id = "audit_retention_months",
        value_name = "AUDIT_RETENTION_MONTHS",
        long = "audit-retention-months",
        env = "DS_AUDIT__RETENTION_MONTHS"
    )]
    pub retention_months: Option<u32>,
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
pub struct RedisSettings {
    /// Redis URL of the dead-letter queue. Absent: no queue, and a storage outage answers
    /// 503 instead of 202.
    #[arg(
        id = "redis_url",
        value_name = "REDIS_URL",
        long = "redis-url",
        env = "REDIS_URL",
        hide_env_values = true
    )]
    pub url: Option<SecretUrl>,

    /// Prefix of every Redis key (the layout version is appended).
    #[arg(
        id = "redis_key_prefix",
        value_name = "REDIS_KEY_PREFIX",
        long = "redis-key-prefix",
        env = "DS_REDIS__KEY_PREFIX",
        default_value = "ds"
    )]
    pub key_prefix: String,
}

#[derive(Debug, Clone, Args)]
pub struct DlqSettings {
    /// Most entries in the dead-letter queue; beyond it writes get 503, never dropped.
    #[arg(
        id = "dlq_capacity",
        value_name = "DLQ_CAPACITY",
        long = "dlq-capacity",
        env = "DS_DLQ__CAPACITY",
        default_value_t = 1_000_000
    )]
    pub capacity: u64,

    /// Milliseconds another instance's claimed entry must sit unacknowledged before this
    /// instance takes it over.
    #[arg(
        id = "dlq_reclaim_idle_ms",
        value_name = "DLQ_RECLAIM_IDLE_MS",
        long = "dlq-reclaim-idle-ms",
        env = "DS_DLQ__RECLAIM_IDLE_MS",
        default_value_t = 30_000
    )]
    pub reclaim_idle_ms: u64,

    /// Entries the replay worker claims per pass.
    #[arg(
        id = "dlq_replay_batch",
        value_name = "DLQ_REPLAY_BATCH",
        long = "dlq-replay-batch",
        env = "DS_DLQ__REPLAY_BATCH",
        default_value_t = 500
    )]
    pub replay_batch: usize,

    /// Replay workers (each its own Redis consumer): while one writes to PostgreSQL the
    /// next claims and decodes.
    #[arg(id = "dlq_replay_workers",
        value_name = "DLQ_REPLAY_WORKERS", long = "dlq-replay-workers", env = "DS_DLQ__REPLAY_WORKERS", default_value_t = 3,
          value_parser = clap::value_parser!(u32).range(1..=16))]
    pub replay_workers: u32,

    /// Milliseconds the replay worker waits when the queue is empty.
    #[arg(
        id = "dlq_idle_wait_ms",
        value_name = "DLQ_IDLE_WAIT_MS",
        long = "dlq-idle-wait-ms",
        env = "DS_DLQ__IDLE_WAIT_MS",
        default_value_t = 250
    )]
    pub idle_wait_ms: u64,
}

#[derive(Debug, Clone, Args)]
pub struct RetrySettings {
    /// Attempts of a storage write within one request (1 = no retry).
    #[arg(id = "retry_attempts",
        value_name = "RETRY_ATTEMPTS", long = "retry-attempts", env = "DS_RETRY__ATTEMPTS", default_value_t = 3,
          value_parser = clap::value_parser!(u32).range(1..=20))]
    pub attempts: u32,

    /// Milliseconds before the first retry; doubles per retry.
    #[arg(
        id = "retry_base_ms",
        value_name = "RETRY_BASE_MS",
        long = "retry-base-ms",
        env = "DS_RETRY__BASE_MS",
        default_value_t = 50
    )]
    pub base_ms: u64,

    /// Longest wait between retries, in milliseconds.
    #[arg(
        id = "retry_cap_ms",
        value_name = "RETRY_CAP_MS",
        long = "retry-cap-ms",
        env = "DS_RETRY__CAP_MS",
        default_value_t = 1000
    )]
    pub cap_ms: u64,
}

#[derive(Debug, Clone, Args)]
pub struct BreakerSettings {
    /// Consecutive storage failures that open the circuit breaker (writes then go straight
    /// to the queue).
    #[arg(
        id = "breaker_failure_threshold",
        value_name = "BREAKER_FAILURE_THRESHOLD",
        long = "breaker-failure-threshold",
        env = "DS_BREAKER__FAILURE_THRESHOLD",
        default_value_t = 5
    )]
    pub failure_threshold: u32,

    /// Milliseconds the breaker stays open before storage is probed again (by the replay
    /// worker when there is a queue, else by one request).
    #[arg(
        id = "breaker_open_ms",
        value_name = "BREAKER_OPEN_MS",
        long = "breaker-open-ms",
        env = "DS_BREAKER__OPEN_MS",
        default_value_t = 1000
    )]
    pub open_ms: u64,
}

#[derive(Debug, Clone, Args)]
pub struct EmbedderSettings {
    /// The embedder; EMBEDDER_URL, when set, selects `http`.
    #[arg(id = "embedder",
        value_name = "EMBEDDER", long = "embedder", env = "DS_EMBEDDER__KIND", value_enum, default_value_t = EmbedderKind::Local)]
    pub kind: EmbedderKind,

    /// Base URL of an OpenAI-compatible embeddings server (POST /v1/embeddings).
    #[arg(
        id = "embedder_url",
        value_name = "EMBEDDER_URL",
        long = "embedder-url",
        env = "EMBEDDER_URL"
    )]
    pub url: Option<SecretUrl>,

    /// Model name sent to the HTTP embedder (and stored with every vector).
    #[arg(
        id = "embedder_model",
        value_name = "EMBEDDER_MODEL",
        long = "embedder-model",
        env = "DS_EMBEDDER__MODEL",
        default_value = "sentence-transformers/all-MiniLM-L6-v2"
    )]
    pub model: String,

    /// Dimension every HTTP embedder answer must have.
    #[arg(
        id = "embedder_dimension",
        value_name = "EMBEDDER_DIMENSION",
        long = "embedder-dimension",
        env = "DS_EMBEDDER__DIMENSION",
        default_value_t = 384
    )]
    pub dimension: usize,

    /// Milliseconds one HTTP embedder attempt may take.
    #[arg(
        id = "embedder_timeout_ms",
        value_name = "EMBEDDER_TIMEOUT_MS",
        long = "embedder-timeout-ms",
        env = "DS_EMBEDDER__TIMEOUT_MS",
        default_value_t = 2000
    )]
    pub timeout_ms: u64,

    /// HTTP embedder attempts (transient failures are retried).
    #[arg(
        id = "embedder_attempts",
        value_name = "EMBEDDER_ATTEMPTS",
        long = "embedder-attempts",
        env = "DS_EMBEDDER__ATTEMPTS",
        default_value_t = 3
    )]
    pub attempts: u32,
}

#[derive(Debug, Clone, Args)]
pub struct ModelSettings {
    /// Directory of the local model (model.safetensors, tokenizer.json, config.json).
    #[arg(
        id = "model_dir",
        value_name = "MODEL_DIR",
        long = "model-dir",
        env = "DS_MODEL_DIR",
        default_value = ".models/all-minilm-l6-v2"
    )]
    pub dir: std::path::PathBuf,

    /// Seconds the local model stays in memory after its last use (it is loaded again, in
    /// about a tenth of a second, by the next embedding); 0 keeps it loaded.
    #[arg(
        id = "model_keep_alive_secs",
        value_name = "MODEL_KEEP_ALIVE_SECS",
        long = "model-keep-alive-secs",
        env = "DS_MODEL_KEEP_ALIVE_SECS",
        default_value_t = 300
    )]
    pub keep_alive_secs: u64,
}

#[derive(Debug, Clone, Args)]
pub struct EmbeddingCacheSettings {
    /// Seconds a cached embedding lives.
    #[arg(
        id = "embedding_cache_ttl_secs",
        value_name = "EMBEDDING_CACHE_TTL_SECS",
        long = "embedding-cache-ttl-secs",
        env = "DS_EMBEDDING_CACHE__TTL_SECS",
        default_value_t = 86_400
    )]
    pub ttl_secs: u64,

    /// Entries of the in-memory embedding cache (used when REDIS_URL is not set).
    #[arg(
        id = "embedding_cache_capacity",
        value_name = "EMBEDDING_CACHE_CAPACITY",
        long = "embedding-cache-capacity",
        env = "DS_EMBEDDING_CACHE__CAPACITY",
        default_value_t = 10_000
    )]
    pub capacity: usize,
}

#[derive(Debug, Clone, Args)]
pub struct PartitionSettings {
    /// Seconds between partition upkeep passes (create months ahead, apply retention).
    #[arg(
        id = "partitions_interval_secs",
        value_name = "PARTITIONS_INTERVAL_SECS",
        long = "partitions-interval-secs",
        env = "DS_PARTITIONS__INTERVAL_SECS",
        default_value_t = 3600
    )]
    pub interval_secs: u64,
}

#[derive(Debug, Clone, Args)]
pub struct ShutdownSettings {
    /// Milliseconds between SIGTERM (readiness turns 503) and closing the listener, so load
    /// balancers stop sending traffic before connections are refused.
    #[arg(
        id = "shutdown_readiness_delay_ms",
        value_name = "SHUTDOWN_READINESS_DELAY_MS",
        long = "shutdown-readiness-delay-ms",
        env = "DS_SHUTDOWN__READINESS_DELAY_MS",
        default_value_t = 2000
    )]
    pub readiness_delay_ms: u64,

    /// Seconds in-flight requests and the final replay pass get after the listener closes.
    #[arg(
        id = "shutdown_timeout_secs",
        value_name = "SHUTDOWN_TIMEOUT_SECS",
        long = "shutdown-timeout-secs",
        env = "DS_SHUTDOWN__TIMEOUT_SECS",
        default_value_t = 25
    )]
    pub timeout_secs: u64,
}

#[derive(Debug, Clone, Args)]
pub struct LogSettings {
    /// Log line format.
    #[arg(id = "log_format",
        value_name = "LOG_FORMAT", long = "log-format", env = "DS_LOG__FORMAT", value_enum, default_value_t = LogFormat::Pretty)]
    pub format: LogFormat,
}
