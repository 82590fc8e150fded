//! Typed settings: command-line flags, each also readable from the environment.

use std::net::SocketAddr;

use clap::{Args, ValueEnum};

mod auth;
mod otel;
mod queue;
mod scoring;
mod search;
mod storage;
mod timeline;

pub use auth::AuthSettings;
pub use otel::OtelSettings;
pub use queue::{BreakerSettings, DlqSettings, RedisSettings, RetrySettings};
pub use scoring::{SearchScoringSettings, WhenEmbedderDown};
pub use search::{EmbedderKind, EmbedderSettings, EmbeddingCacheSettings, ModelSettings};
pub use storage::{AuditLimits, AuditLogSettings, DatabaseSettings, PartitionSettings};
pub use timeline::TimelineSettings;

pub use crate::secret::redact_url;

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
    #[command(flatten, next_help_heading = "Remediation timeline")]
    pub timeline: TimelineSettings,
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
    #[command(flatten, next_help_heading = "Search scoring")]
    pub search: SearchScoringSettings,
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
    #[command(flatten, next_help_heading = "Tracing (OpenTelemetry)")]
    pub otel: OtelSettings,
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

    /// Milliseconds a request head may take to arrive (also how long a kept-alive connection
    /// may wait for its next request); then the connection is closed.
    #[arg(
        id = "header_read_timeout_ms",
        value_name = "HEADER_READ_TIMEOUT_MS",
        long = "header-read-timeout-ms",
        env = "DS_HTTP__HEADER_READ_TIMEOUT_MS",
        default_value_t = 10_000,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub header_read_timeout_ms: u64,

    /// Milliseconds a request body may take to arrive, from its first read; then a 408
    /// `body-timeout` and the connection is closed.
    #[arg(
        id = "body_read_timeout_ms",
        value_name = "BODY_READ_TIMEOUT_MS",
        long = "body-read-timeout-ms",
        env = "DS_HTTP__BODY_READ_TIMEOUT_MS",
        default_value_t = 10_000,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub body_read_timeout_ms: u64,

    /// Most open connections; beyond it new connections wait in the listen backlog until one
    /// closes.
    #[arg(
        id = "max_connections",
        value_name = "MAX_CONNECTIONS",
        long = "max-connections",
        env = "DS_HTTP__MAX_CONNECTIONS",
        default_value_t = 4096,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1_000_000)
    )]
    pub max_connections: usize,
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
