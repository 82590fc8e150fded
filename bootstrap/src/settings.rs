//! Typed settings: command-line flags, each also readable from the environment.

use std::net::SocketAddr;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Data Storage Service: audit trail and remediation workflow catalog over HTTP.
///
/// With no DATABASE_URL it runs on in-memory storage (nothing survives a restart).
#[derive(Debug, Parser)]
#[command(name = "datastorage", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub settings: Settings,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API (the default).
    Serve,
    /// Print the OpenAPI document the service serves, byte for byte.
    Openapi,
    /// Embed every workflow that has no embedding of the configured model (after a model
    /// change), then exit.
    Reembed,
    /// Configuration commands.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Print the effective configuration (defaults, CONFIG_PATH file, environment, flags)
    /// with secrets redacted.
    Print,
}

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

#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long = "addr", env = "DS_HTTP__ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,

    /// Largest accepted request body in bytes; larger bodies get 413.
    #[arg(long, env = "DS_HTTP__BODY_LIMIT_BYTES", default_value_t = 16 * 1024 * 1024)]
    pub body_limit_bytes: usize,

    /// Milliseconds an API request may take before a 503 `request-timeout`.
    #[arg(long, env = "DS_HTTP__REQUEST_TIMEOUT_MS", default_value_t = 30_000)]
    pub request_timeout_ms: u64,

    /// Most API requests in flight; beyond it 503 `saturated` with Retry-After (0 refuses all
    /// API traffic, a drain mode; probes and metrics still answer).
    #[arg(long, env = "DS_HTTP__MAX_IN_FLIGHT", default_value_t = 1024)]
    pub max_in_flight: usize,

    /// JSON file of accepted bearer tokens, stored as SHA-256 hashes:
    /// `{"tokens": [{"identity": "gateway", "sha256": "<hex>", "roles": ["audit-writer"]}]}`.
    /// Roles: audit-writer, audit-reader, catalog-admin, catalog-reader, operator. Absent:
    /// no authentication, allowed only on a loopback address (or with --allow-anonymous).
    #[arg(long, env = "DS_AUTH__TOKENS_FILE")]
    pub tokens_file: Option<std::path::PathBuf>,

    /// Serve without authentication on a non-loopback address (not for production).
    #[arg(long, env = "DS_AUTH__ALLOW_ANONYMOUS", default_value_t = false, action = clap::ArgAction::Set)]
    pub allow_anonymous: bool,

    /// PostgreSQL URL. Absent: in-memory storage.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Most PostgreSQL connections in the pool.
    #[arg(long, env = "DS_DATABASE__MAX_CONNECTIONS", default_value_t = 32)]
    pub database_max_connections: u32,

    /// Seconds a request waits for a free PostgreSQL connection before storage counts as
    /// unavailable.
    #[arg(long, env = "DS_DATABASE__ACQUIRE_TIMEOUT_SECS", default_value_t = 5)]
    pub database_acquire_timeout_secs: u64,

    /// Most single-event writes committed together in one transaction (group commit).
    #[arg(long, env = "DS_DATABASE__GROUP_COMMIT_MAX_EVENTS", default_value_t = 256,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub database_group_commit_max_events: u32,

    /// Group-commit transactions in flight at once (each holds a pooled connection).
    #[arg(long, env = "DS_DATABASE__GROUP_COMMIT_IN_FLIGHT", default_value_t = 4,
          value_parser = clap::value_parser!(u32).range(1..=256))]
    pub database_group_commit_in_flight: u32,

    /// Most events in one batch request.
    #[arg(long, env = "DS_AUDIT__MAX_BATCH", default_value_t = 1000,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub audit_max_batch: u32,

    /// Oldest accepted event_timestamp, in hours before now.
    #[arg(long, env = "DS_AUDIT__MAX_AGE_HOURS", default_value_t = 7 * 24)]
    pub audit_max_age_hours: u32,

    /// Furthest accepted event_timestamp ahead of now, in minutes (clock skew).
    #[arg(long, env = "DS_AUDIT__MAX_SKEW_AHEAD_MINUTES", default_value_t = 60)]
    pub audit_max_skew_ahead_minutes: u32,

    /// Redis URL of the dead-letter queue. Absent: no queue, and a storage outage answers
    /// 503 instead of 202.
    #[arg(long, env = "REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,

    /// Prefix of every Redis key (the layout version is appended).
    #[arg(long, env = "DS_REDIS__KEY_PREFIX", default_value = "ds")]
    pub redis_key_prefix: String,

    /// Most entries in the dead-letter queue; beyond it writes get 503, never dropped.
    #[arg(long, env = "DS_DLQ__CAPACITY", default_value_t = 1_000_000)]
    pub dlq_capacity: u64,

    /// Milliseconds another instance's claimed entry must sit unacknowledged before this
    /// instance takes it over.
    #[arg(long, env = "DS_DLQ__RECLAIM_IDLE_MS", default_value_t = 30_000)]
    pub dlq_reclaim_idle_ms: u64,

    /// Entries the replay worker claims per pass.
    #[arg(long, env = "DS_DLQ__REPLAY_BATCH", default_value_t = 500)]
    pub dlq_replay_batch: usize,

    /// Replay workers (each its own Redis consumer): while one writes to PostgreSQL the
    /// next claims and decodes.
    #[arg(long, env = "DS_DLQ__REPLAY_WORKERS", default_value_t = 3,
          value_parser = clap::value_parser!(u32).range(1..=16))]
    pub dlq_replay_workers: u32,

    /// Milliseconds the replay worker waits when the queue is empty.
    #[arg(long, env = "DS_DLQ__IDLE_WAIT_MS", default_value_t = 250)]
    pub dlq_idle_wait_ms: u64,

    /// Attempts of a storage write within one request (1 = no retry).
    #[arg(long, env = "DS_RETRY__ATTEMPTS", default_value_t = 3,
          value_parser = clap::value_parser!(u32).range(1..=20))]
    pub retry_attempts: u32,

    /// Milliseconds before the first retry; doubles per retry.
    #[arg(long, env = "DS_RETRY__BASE_MS", default_value_t = 50)]
    pub retry_base_ms: u64,

    /// Longest wait between retries, in milliseconds.
    #[arg(long, env = "DS_RETRY__CAP_MS", default_value_t = 1000)]
    pub retry_cap_ms: u64,

    /// Consecutive storage failures that open the circuit breaker (writes then go straight
    /// to the queue).
    #[arg(long, env = "DS_BREAKER__FAILURE_THRESHOLD", default_value_t = 5)]
    pub breaker_failure_threshold: u32,

    /// Milliseconds the breaker stays open before storage is probed again (by the replay
    /// worker when there is a queue, else by one request).
    #[arg(long, env = "DS_BREAKER__OPEN_MS", default_value_t = 1000)]
    pub breaker_open_ms: u64,

    /// The embedder; EMBEDDER_URL, when set, selects `http`.
    #[arg(long, env = "DS_EMBEDDER__KIND", value_enum, default_value_t = EmbedderKind::Local)]
    pub embedder: EmbedderKind,

    /// Base URL of an OpenAI-compatible embeddings server (POST /v1/embeddings).
    #[arg(long, env = "EMBEDDER_URL")]
    pub embedder_url: Option<String>,

    /// Model name sent to the HTTP embedder (and stored with every vector).
    #[arg(
        long,
        env = "DS_EMBEDDER__MODEL",
        default_value = "sentence-transformers/all-MiniLM-L6-v2"
    )]
    pub embedder_model: String,

    /// Dimension every HTTP embedder answer must have.
    #[arg(long, env = "DS_EMBEDDER__DIMENSION", default_value_t = 384)]
    pub embedder_dimension: usize,

    /// Milliseconds one HTTP embedder attempt may take.
    #[arg(long, env = "DS_EMBEDDER__TIMEOUT_MS", default_value_t = 2000)]
    pub embedder_timeout_ms: u64,

    /// HTTP embedder attempts (transient failures are retried).
    #[arg(long, env = "DS_EMBEDDER__ATTEMPTS", default_value_t = 3)]
    pub embedder_attempts: u32,

    /// Directory of the local model (model.safetensors, tokenizer.json, config.json).
    #[arg(long, env = "DS_MODEL_DIR", default_value = ".models/all-minilm-l6-v2")]
    pub model_dir: std::path::PathBuf,

    /// Seconds the local model stays in memory after its last use (it is loaded again, in
    /// about a tenth of a second, by the next embedding); 0 keeps it loaded.
    #[arg(long, env = "DS_MODEL_KEEP_ALIVE_SECS", default_value_t = 300)]
    pub model_keep_alive_secs: u64,

    /// Seconds a cached embedding lives.
    #[arg(long, env = "DS_EMBEDDING_CACHE__TTL_SECS", default_value_t = 86_400)]
    pub embedding_cache_ttl_secs: u64,

    /// Entries of the in-memory embedding cache (used when REDIS_URL is not set).
    #[arg(long, env = "DS_EMBEDDING_CACHE__CAPACITY", default_value_t = 10_000)]
    pub embedding_cache_capacity: usize,

    /// Drop audit partitions whose whole month is older than this many months (off when
    /// absent: audit data is kept).
    #[arg(long, env = "DS_AUDIT__RETENTION_MONTHS")]
    pub audit_retention_months: Option<u32>,

    /// Seconds between partition upkeep passes (create months ahead, apply retention).
    #[arg(long, env = "DS_PARTITIONS__INTERVAL_SECS", default_value_t = 3600)]
    pub partitions_interval_secs: u64,

    /// Milliseconds between SIGTERM (readiness turns 503) and closing the listener, so load
    /// balancers stop sending traffic before connections are refused.
    #[arg(long, env = "DS_SHUTDOWN__READINESS_DELAY_MS", default_value_t = 2000)]
    pub shutdown_readiness_delay_ms: u64,

    /// Seconds in-flight requests and the final replay pass get after the listener closes.
    #[arg(long, env = "DS_SHUTDOWN__TIMEOUT_SECS", default_value_t = 25)]
    pub shutdown_timeout_secs: u64,

    /// Log line format.
    #[arg(long, env = "DS_LOG__FORMAT", value_enum, default_value_t = LogFormat::Pretty)]
    pub log_format: LogFormat,
}

impl Settings {
    /// The defaults, as if started with no flags and no environment.
    pub fn defaults() -> Self {
        Cli::parse_from(["datastorage"]).settings
    }

    /// The settings with every credential replaced by `***`, for printing and logging.
    pub fn redacted(&self) -> Settings {
        let mut s = self.clone();
        s.database_url = s.database_url.as_deref().map(redact_url);
        s.redis_url = s.redis_url.as_deref().map(redact_url);
        s.embedder_url = s.embedder_url.as_deref().map(redact_url);
        s
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "***".into();
    };
    let (authority, path) = rest
        .split_once('/')
        .map_or((rest, None), |(a, p)| (a, Some(p)));
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => format!("***@{host}"),
        },
        None => authority.to_owned(),
    };
    // Query strings may carry passwords too (`?password=`): drop them.
    let path = path
        .map(|p| p.split('?').next().unwrap_or(""))
        .map(|p| format!("/{p}"))
        .unwrap_or_default();
    format!("{scheme}://{authority}{path}")
}
