//! Running on Citus (distributed PostgreSQL), DESIGN.md §9 and docs/citus.md.
//!
//! One migration path serves both engines: the SQL migrations are plain PostgreSQL, and
//! [`distribute`], run by the migrator after them, does nothing unless the `citus`
//! extension is installed. Then it distributes `audit_events` by `correlation_id` (a
//! remediation's trail on one shard) with `audit_event_ids` co-located, makes the workflow
//! catalog and the legal holds reference tables (copied to every node), and leaves the
//! transparency log's tables on the coordinator, where the sequencer's advisory lock is taken.
//!
//! What changes on Citus is the log's queue: a trigger on a distributed table runs on the
//! workers, which cannot reach the coordinator's `audit_log_pending`. So each event carries
//! its own mark instead (`log_pending`, true by default, false once logged, NULL for rows
//! logged before the change), behind a partial index; the sequencer reads marked events
//! with a plain `ORDER BY ... LIMIT` that every shard answers from that index (no
//! `FOR UPDATE`, which Citus refuses across shards), and clears the marks in the same
//! transaction as it writes the leaves (two-phase commit across the nodes).

use sqlx::{PgConnection, Row};

use crate::log::PendingRow;

/// Whether the `citus` extension is installed in this database.
pub(crate) async fn installed(conn: &mut PgConnection) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')")
        .fetch_one(conn)
        .await
}

/// Copied to every node: the workflow catalog (embeddings included), keyed by workflow, not
/// by correlation, small and read by every search; and the legal holds, which retention
/// joins with a month of events (Citus joins a distributed table with a reference table,
/// not with a coordinator-local one).
const REFERENCE_TABLES: [&str; 2] = ["workflows", "audit_legal_holds"];

/// On Citus, distributes the schema the migrations made (once; later runs find it done and
/// change nothing). On plain PostgreSQL does nothing and answers false.
///
/// # Errors
/// When Citus refuses a step (e.g. no worker nodes) or PostgreSQL cannot be reached; the
/// steps run in one transaction, so nothing is half-distributed.
pub async fn distribute(conn: &mut PgConnection) -> Result<bool, sqlx::Error> {
    if !installed(&mut *conn).await? {
        return Ok(false);
    }
    let done: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_dist_partition
                        WHERE logicalrelid = 'audit_events'::regclass)",
    )
    .fetch_one(&mut *conn)
    .await?;
    if done {
        return Ok(true);
    }
    let mut steps: Vec<String> = vec![
        // The log's queue becomes a mark on each event (see the module's note). Events
        // queued but not yet logged keep their place; the others are NULL, logged already.
        "ALTER TABLE audit_events ADD COLUMN log_pending boolean".into(),
        "UPDATE audit_events e SET log_pending = true FROM audit_log_pending p
         WHERE e.correlation_id = p.correlation_id AND e.event_id = p.event_id
           AND e.event_date = p.event_date"
            .into(),
        "DELETE FROM audit_log_pending".into(),
        "ALTER TABLE audit_events ALTER COLUMN log_pending SET DEFAULT true".into(),
        "CREATE INDEX audit_events_log_pending_idx ON audit_events (created_at)
         WHERE log_pending"
            .into(),
        "DROP TRIGGER audit_log_enqueue ON audit_events".into(),
        // Sequential mode: the distribution and the reference tables' copies are made over
        // one connection per node, so they may be done in one transaction.
        "SET LOCAL citus.multi_shard_modify_mode = 'sequential'".into(),
        "SELECT create_distributed_table('audit_events', 'correlation_id')".into(),
        "SELECT create_distributed_table('audit_event_ids', 'correlation_id',
                                          colocate_with => 'audit_events')"
            .into(),
        // One row per remediation, written by the writer beside its events.
        "SELECT create_distributed_table('remediations', 'correlation_id',
                                          colocate_with => 'audit_events')"
            .into(),
    ];
    for table in REFERENCE_TABLES {
        steps.push(format!("SELECT create_reference_table('{table}')"));
    }
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    for step in &steps {
        sqlx::query(step).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    tracing::info!("distributed audit_events by correlation_id on Citus");
    Ok(true)
}

/// Up to `max` events not yet logged, oldest first: each shard answers its oldest from the
/// partial index and the coordinator merges them.
pub(crate) async fn claim_pending(
    conn: &mut PgConnection,
    max: usize,
) -> Result<Vec<PendingRow>, sqlx::Error> {
    // Citus plans a multi-shard statement with parameters only from a custom plan.
    sqlx::query("SET LOCAL plan_cache_mode = force_custom_plan")
        .execute(&mut *conn)
        .await?;
    sqlx::query_as(
        "SELECT event_id, event_date, correlation_id, leaf_hash,
                extract(epoch FROM clock_timestamp() - created_at)::float8 AS lag
         FROM audit_events WHERE log_pending
         ORDER BY created_at, correlation_id, event_id LIMIT $1",
    )
    .bind(i64::try_from(max).unwrap_or(i64::MAX))
    .fetch_all(conn)
    .await
}

/// Clears the marks of the events just logged, in the sequencer's transaction.
pub(crate) async fn mark_logged(
    conn: &mut PgConnection,
    logged: &[PendingRow],
) -> Result<(), sqlx::Error> {
    if logged.is_empty() {
        return Ok(());
    }
    let correlations: Vec<&str> = logged.iter().map(|p| p.correlation_id.as_str()).collect();
    let ids: Vec<uuid::Uuid> = logged.iter().map(|p| p.event_id).collect();
    let dates: Vec<chrono::NaiveDate> = logged.iter().map(|p| p.event_date).collect();
    sqlx::query(
        "UPDATE audit_events SET log_pending = false
         WHERE log_pending AND (correlation_id, event_id, event_date) IN
             (SELECT * FROM UNNEST($1::text[], $2::uuid[], $3::date[]))",
    )
    .bind(&correlations)
    .bind(&ids)
    .bind(&dates)
    .execute(conn)
    .await?;
    Ok(())
}

/// The log's backlog on Citus: how many events are marked, and how old the oldest is.
pub(crate) async fn backlog(conn: &mut PgConnection) -> Result<(i64, Option<f64>), sqlx::Error> {
    let row = sqlx::query(
        "SELECT count(*),
                extract(epoch FROM clock_timestamp() - min(created_at))::float8
         FROM audit_events WHERE log_pending",
    )
    .fetch_one(conn)
    .await?;
    Ok((row.try_get(0)?, row.try_get(1)?))
}
