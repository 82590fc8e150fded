//! The schema's version: applying the embedded migrations (`datastorage migrate`, or at start
//! when the service owns its schema), and checking without any DDL that a database is at the
//! binary's version, so a service running as a role without DDL rights refuses to start on
//! an out-of-date schema instead of failing later on its first statement.

use std::collections::BTreeMap;

use sqlx::{Connection, PgConnection, PgPool};

use crate::MIGRATOR;

/// One migration, as `datastorage migrate` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationName {
    pub version: i64,
    pub description: String,
}

impl std::fmt::Display for MigrationName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.version, self.description)
    }
}

/// Why the schema could not be migrated, or is not the one this binary expects.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("cannot connect to PostgreSQL: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("cannot read the applied migrations: {0}")]
    Read(#[source] sqlx::Error),
    #[error("cannot migrate: {0}")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    #[error("cannot distribute the schema on Citus: {0}")]
    Distribute(#[source] sqlx::Error),
    #[error("cannot re-enable the transparency log's queueing trigger: {0}")]
    Trigger(#[source] sqlx::Error),
    #[error(
        "the database schema is behind this binary: {} not applied; run `datastorage migrate` \
         (as the migration role) first",
        list(.0)
    )]
    Behind(Vec<MigrationName>),
    #[error(
        "the database has migrations this binary does not know ({}): a newer release migrated \
         it; run that release",
        .0.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
    )]
    Ahead(Vec<i64>),
    #[error(
        "migration {0} in the database differs from this binary's (edited after it was \
         applied); the schema is not the one this binary was built for"
    )]
    Modified(i64),
    #[error(
        "migration {0} failed part-way in the database; repair it, then run `datastorage migrate`"
    )]
    Failed(i64),
}

fn list(names: &[MigrationName]) -> String {
    let names: Vec<String> = names.iter().map(|m| format!("migration {m}")).collect();
    names.join(", ")
}

/// Applied migrations by version: (checksum, success). Empty when none ever ran.
async fn applied(conn: &mut PgConnection) -> Result<BTreeMap<i64, (Vec<u8>, bool)>, sqlx::Error> {
    let exists: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
        .fetch_one(&mut *conn)
        .await?;
    if !exists {
        return Ok(BTreeMap::new());
    }
    let rows: Vec<(i64, Vec<u8>, bool)> =
        sqlx::query_as("SELECT version, checksum, success FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&mut *conn)
            .await?;
    Ok(rows.into_iter().map(|(v, c, s)| (v, (c, s))).collect())
}

fn embedded() -> impl Iterator<Item = &'static sqlx::migrate::Migration> {
    MIGRATOR
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
}

fn name(m: &sqlx::migrate::Migration) -> MigrationName {
    MigrationName {
        version: m.version,
        description: m.description.to_string(),
    }
}

/// Applies the embedded migrations that the database lacks, on one connection of its own
/// (serialised with any other migrator by sqlx's advisory lock), and names the ones it
/// applied: empty when the schema was already current.
///
/// # Errors
/// PostgreSQL is unreachable, a migration fails, or the database's history disagrees with
/// the binary's (an edited or unknown migration).
pub async fn migrate(url: &str, tls: &crate::PgTls) -> Result<Vec<MigrationName>, SchemaError> {
    let options = url
        .parse::<sqlx::postgres::PgConnectOptions>()
        .map_err(SchemaError::Connect)?;
    let mut conn = PgConnection::connect_with(&tls.apply(options))
        .await
        .map_err(SchemaError::Connect)?;
    let before = applied(&mut conn).await.map_err(SchemaError::Read)?;
    MIGRATOR
        .run(&mut conn)
        .await
        .map_err(SchemaError::Migrate)?;
    // On Citus, distributes what the migrations made (nothing on plain PostgreSQL).
    crate::citus::distribute(&mut conn)
        .await
        .map_err(SchemaError::Distribute)?;
    // The stored trigger state is part of the schema the service expects: a benchmark run
    // with the log switched off leaves it disabled, and only the owner can switch it back.
    crate::log::set_log_queueing(&mut conn, true)
        .await
        .map_err(SchemaError::Trigger)?;
    let done = embedded()
        .filter(|m| !before.contains_key(&m.version))
        .map(name)
        .collect();
    // Closing politely ends the session at once; a failure to do so changes nothing applied.
    let _ = conn.close().await;
    Ok(done)
}

/// Checks, with reads only, that the applied migrations are exactly the embedded ones.
///
/// # Errors
/// [`SchemaError::Behind`] names what `datastorage migrate` would apply; the others say why
/// migrating would not help.
pub async fn check_schema_current(pool: &PgPool) -> Result<(), SchemaError> {
    let mut conn = pool.acquire().await.map_err(SchemaError::Read)?;
    let applied = applied(&mut conn).await.map_err(SchemaError::Read)?;
    if let Some((version, _)) = applied.iter().find(|(_, (_, success))| !success) {
        return Err(SchemaError::Failed(*version));
    }
    let unknown: Vec<i64> = applied
        .keys()
        .copied()
        .filter(|v| !MIGRATOR.version_exists(*v))
        .collect();
    if !unknown.is_empty() {
        return Err(SchemaError::Ahead(unknown));
    }
    let mut behind = Vec::new();
    for m in embedded() {
        match applied.get(&m.version) {
            Some((checksum, _)) if checksum.as_slice() != &*m.checksum => {
                return Err(SchemaError::Modified(m.version));
            }
            Some(_) => {}
            None => behind.push(name(m)),
        }
    }
    if behind.is_empty() {
        Ok(())
    } else {
        Err(SchemaError::Behind(behind))
    }
}

/// Runs a SQL script (several statements, one implicit transaction) on a connection of its
/// own: `datastorage migrate --grants` applies the serving role's grants with it.
///
/// # Errors
/// PostgreSQL is unreachable or refuses a statement (nothing of the script is kept then).
pub async fn run_script(url: &str, sql: &str) -> Result<(), sqlx::Error> {
    let mut conn = PgConnection::connect(url).await?;
    sqlx::raw_sql(sql).execute(&mut conn).await?;
    let _ = conn.close().await;
    Ok(())
}
