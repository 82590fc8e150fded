//! The command line: the subcommands, and the settings every one of them reads.

use clap::{Parser, Subcommand};

use crate::settings::Settings;

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
    /// Apply the database migrations this binary embeds (as a role allowed DDL), print what
    /// was applied, then exit; non-zero on failure. For deployments where the service runs
    /// with DS_DATABASE__MIGRATE_AT_START=false as a role without DDL rights.
    Migrate {
        /// A SQL file run after the migrations, as the same role, in one transaction: the
        /// serving role's grants (deploy/kubernetes/base/grants.sql).
        #[arg(long)]
        grants: Option<std::path::PathBuf>,
    },
    /// Embed every workflow that has no embedding of the configured model (after a model
    /// change), then exit.
    Reembed,
    /// Configuration commands.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Export commands.
    Export {
        #[command(subcommand)]
        action: ExportAction,
    },
    /// Transparency log commands.
    Log {
        #[command(subcommand)]
        action: LogAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum ExportAction {
    /// Check an export (`GET /api/v1/audit/export`) offline: the checkpoint's and the
    /// manifest's signatures, the digest and count, every event's leaf hash and inclusion
    /// proof. Exits non-zero naming the first line that fails.
    Verify {
        /// The NDJSON file.
        file: std::path::PathBuf,
        /// The log's verifier key, obtained out of band.
        #[arg(long, env = "DS_LOG_VKEY")]
        vkey: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum LogAction {
    /// Make an Ed25519 signing key for the log: prints the private key (the content of
    /// DS_AUDIT_LOG__KEY_FILE) on stdout and its public `vkey` on stderr.
    Keygen {
        /// The log's origin, which names the key (e.g. `audit.example.com/prod`).
        #[arg(long)]
        origin: String,
    },
    /// Check a running service's log against a checkpoint saved earlier: the current signed
    /// checkpoint must be consistent with it, and a sample of events must be included in it.
    /// Exits non-zero, naming the checkpoint, when the log cannot prove either.
    Verify {
        /// The log's verifier key (`<origin>+<hash>+<base64>`), obtained out of band.
        #[arg(long, env = "DS_LOG_VKEY")]
        vkey: String,
        /// A signed checkpoint saved earlier (absent: only the current one is checked).
        #[arg(long)]
        checkpoint: Option<std::path::PathBuf>,
        /// The service's base URL.
        #[arg(long, env = "DS_URL", default_value = "http://127.0.0.1:8080")]
        url: String,
        /// Bearer token with the audit-reader role.
        #[arg(long, env = "DS_TOKEN", hide_env_values = true)]
        token: Option<String>,
        /// File holding the bearer token (a mounted Secret), instead of --token.
        #[arg(long, env = "DS_TOKEN_FILE", conflicts_with = "token")]
        token_file: Option<std::path::PathBuf>,
        /// A directory of archived checkpoints: the newest one in it is the saved checkpoint
        /// checked against, and the current one is added to it once verified.
        #[arg(long, conflicts_with_all = ["checkpoint", "save"])]
        archive_dir: Option<std::path::PathBuf>,
        /// Newest events whose inclusion is proved.
        #[arg(long, default_value_t = 20)]
        sample: u32,
        /// Where to write the current checkpoint once verified (to archive it).
        #[arg(long)]
        save: Option<std::path::PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Print the effective configuration (defaults, CONFIG_PATH file, environment, flags)
    /// with secrets redacted.
    Print,
}

impl Settings {
    /// The defaults, as if started with no flags and no environment.
    pub fn defaults() -> Self {
        Cli::parse_from(["datastorage"]).settings
    }
}
