//! PostgreSQL at start: the pool, the schema (migrated here, or only checked when
//! `datastorage migrate` owns that step), the partitions ahead and the log's trigger state.

use std::time::Duration;

use datastorage_postgres::{PgPool, PgSettings};

use crate::StartupError;
use crate::settings::Settings;

fn pg_settings(settings: &Settings, url: &str) -> PgSettings {
    PgSettings {
        url: url.to_owned(),
        max_connections: settings.database.max_connections,
        acquire_timeout: Duration::from_secs(settings.database.acquire_timeout_secs),
        tls: settings.database.tls(),
        statement_timeout: Duration::from_millis(settings.database.statement_timeout_ms),
        idle_in_transaction_timeout: Duration::from_millis(
            settings.database.idle_in_transaction_timeout_ms,
        ),
    }
}

fn database(e: impl std::fmt::Display) -> StartupError {
    StartupError::Database(e.to_string())
}

/// Connects and readies the schema as `DS_DATABASE__MIGRATE_AT_START` says.
pub(crate) async fn prepare(settings: &Settings, url: &str) -> Result<PgPool, StartupError> {
    let pg = pg_settings(settings, url);
    let enabled = settings.audit_log.enabled;
    let pool = if settings.database.migrate_at_start {
        let pool = datastorage_postgres::connect_and_migrate(&pg)
            .await
            .map_err(crate::tls::database_connect_error)?;
        datastorage_postgres::queue_events_for_log(&pool, enabled)
            .await
            .map_err(database)?;
        pool
    } else {
        let pool = datastorage_postgres::connect(&pg)
            .await
            .map_err(crate::tls::database_connect_error)?;
        datastorage_postgres::check_schema_current(&pool)
            .await
            .map_err(database)?;
        // Switching the log's trigger is DDL, which this role may not run: say what would.
        let mut conn = pool.acquire().await.map_err(database)?;
        let on = datastorage_postgres::log_queueing_enabled(&mut conn)
            .await
            .map_err(database)?;
        if on != enabled {
            return Err(StartupError::Setting {
                key: "DS_AUDIT_LOG__ENABLED",
                reason: format!(
                    "is {enabled}, but the database's queueing trigger is {}: switching it is \
                     DDL, which DS_DATABASE__MIGRATE_AT_START=false does not run (`datastorage \
                     migrate` enables it; disabling is for benchmarks that migrate at start)",
                    if on { "enabled" } else { "disabled" }
                ),
            });
        }
        pool
    };
    // Through a SECURITY DEFINER function: no DDL right needed.
    datastorage_postgres::ensure_audit_partitions_around(&pool, 1, 3)
        .await
        .map_err(database)?;
    Ok(pool)
}

/// `datastorage migrate`: applies the migrations the database lacks, then runs the optional
/// SQL file (the serving role's grants) as the same role; prints what it did.
///
/// # Errors
/// No DATABASE_URL, PostgreSQL unreachable, a migration or the file failing.
pub async fn migrate(settings: &Settings, grants: Option<&std::path::Path>) -> Result<(), String> {
    let Some(url) = &settings.database.url else {
        return Err("DATABASE_URL is not set: nothing to migrate".into());
    };
    let applied = datastorage_postgres::migrate(url.expose(), &settings.database.tls())
        .await
        .map_err(|e| e.to_string())?;
    if applied.is_empty() {
        println!("schema is current: no migration to apply");
    }
    for m in &applied {
        println!("applied migration {m}");
    }
    if let Some(path) = grants {
        let sql = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        datastorage_postgres::run_script(url.expose(), &sql)
            .await
            .map_err(|e| format!("{}: {e}", path.display()))?;
        println!("ran {}", path.display());
    }
    Ok(())
}
