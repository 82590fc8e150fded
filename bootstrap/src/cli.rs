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

impl Settings {
    /// The defaults, as if started with no flags and no environment.
    pub fn defaults() -> Self {
        Cli::parse_from(["datastorage"]).settings
    }
}
