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

    /// Log line format.
    #[arg(long, env = "DS_LOG__FORMAT", value_enum, default_value_t = LogFormat::Pretty)]
    pub log_format: LogFormat,
}

impl Settings {
    /// The defaults, as if started with no flags and no environment.
    pub fn defaults() -> Self {
        Cli::parse_from(["datastorage"]).settings
    }
}
