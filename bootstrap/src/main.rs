//! `datastorage`: serves the Data Storage Service API, or prints its OpenAPI document.
//!
//! Startup is the one place allowed to give up loudly: a bad setting or an unreachable
//! database ends the process with a message naming the cause.

use datastorage::{Application, Command, ConfigAction, ExportAction, LogAction, StorageKind};

/// mimalloc instead of glibc malloc: under load, glibc's allocator took a quarter of the
/// service's CPU samples (contended arenas, consolidation); see the README's benchmarks.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    datastorage::return_freed_pages_promptly();
    datastorage::tls::install_crypto_provider();
    let cli = match datastorage::config::load(std::env::args_os(), std::env::vars().collect()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    if let Some(Command::Openapi) = cli.command {
        print!("{}", datastorage_http::openapi_json());
        return std::process::ExitCode::SUCCESS;
    }
    if let Some(Command::Config {
        action: ConfigAction::Print,
    }) = cli.command
    {
        // Secrets are SecretUrl, whose Debug is redacted.
        println!("{:#?}", cli.settings);
        return std::process::ExitCode::SUCCESS;
    }
    if let Some(Command::Export {
        action: ExportAction::Verify { file, vkey },
    }) = &cli.command
    {
        return match datastorage::export_verify::verify_export(file, vkey) {
            Ok(report) => {
                println!(
                    "ok: {} events, each included in the signed tree of size {} of {}",
                    report.events, report.checkpoint.size, report.checkpoint.origin
                );
                std::process::ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("verification failed: {}: {e}", file.display());
                std::process::ExitCode::FAILURE
            }
        };
    }
    if let Some(Command::Log { action }) = &cli.command {
        return log_command(action).await;
    }
    if let Some(Command::Migrate { grants }) = &cli.command {
        return match datastorage::migrate(&cli.settings, grants.as_deref()).await {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("migration failed: {e}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    let exporter = match datastorage::logging::init(&cli.settings) {
        Ok(exporter) => exporter,
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let export_budget = std::time::Duration::from_secs(cli.settings.shutdown.timeout_secs);

    let mut settings = cli.settings;
    if let Some(Command::Reembed) = cli.command {
        // A one-off command: any free port, nothing is served.
        settings.http.addr = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    }
    let app = match Application::build(settings).await {
        Ok(app) => app,
        Err(e) => {
            tracing::error!(error = %e, "startup failed");
            return std::process::ExitCode::FAILURE;
        }
    };
    if let Some(Command::Reembed) = cli.command {
        return match app.catalog().reembed().await {
            Ok(report) => {
                tracing::info!(embedded = report.embedded, "re-embedding done");
                std::process::ExitCode::SUCCESS
            }
            Err(e) => {
                tracing::error!(error = %e, "re-embedding failed");
                std::process::ExitCode::FAILURE
            }
        };
    }
    let addr = app.local_addr();
    if app.storage() == StorageKind::Memory {
        tracing::warn!("no DATABASE_URL: audit events are kept in memory and lost on exit");
    }
    tracing::info!(%addr, "listening; Swagger UI at http://{addr}/swagger-ui/");
    let served = app.run_until_stopped().await;
    // The spans of the last requests are sent before the process ends.
    if let Some(exporter) = exporter {
        exporter.shutdown(export_budget).await;
    }
    match served {
        Ok(()) => {
            tracing::info!("stopped");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!(error = %e, "server failed");
            std::process::ExitCode::FAILURE
        }
    }
}

/// `datastorage log ...`: prints its verdict and exits non-zero on any failure.
async fn log_command(action: &LogAction) -> std::process::ExitCode {
    use datastorage::transparency::{VerifyRequest, keygen, verify};
    match action {
        LogAction::Keygen { origin } => match keygen(origin) {
            Ok((private, vkey)) => {
                println!("{private}");
                eprintln!("{vkey}");
                std::process::ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                std::process::ExitCode::FAILURE
            }
        },
        LogAction::Verify {
            vkey,
            checkpoint,
            url,
            token,
            token_file,
            archive_dir,
            sample,
            save,
        } => {
            let token = match token_file {
                Some(path) => match std::fs::read_to_string(path) {
                    Ok(t) => Some(t.trim().to_owned()),
                    Err(e) => {
                        eprintln!("error: cannot read {}: {e}", path.display());
                        return std::process::ExitCode::FAILURE;
                    }
                },
                None => token.clone(),
            };
            let request = VerifyRequest {
                vkey,
                checkpoint: checkpoint.as_deref(),
                url,
                token: token.as_deref(),
                sample: *sample,
                save: save.as_deref(),
                archive_dir: archive_dir.as_deref(),
            };
            match verify(request).await {
                Ok(report) => {
                    println!(
                        "ok: checkpoint of tree size {} signed by {}",
                        report.current.size, report.current.origin
                    );
                    if let Some(old) = report.consistent_from {
                        println!("ok: consistent with the saved checkpoint of tree size {old}");
                    }
                    println!("ok: {} sampled events proved included", report.inclusions);
                    if let Some(saved) = report.saved {
                        println!("saved the current checkpoint to {}", saved.display());
                    }
                    std::process::ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("verification failed: {e}");
                    std::process::ExitCode::FAILURE
                }
            }
        }
    }
}
