//! `PgAuditLog`: the transparency log in `audit_log_*` tables (see the migration).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use datastorage_application::ports::{
    AuditLogStore, Cause, LogBacklog, LogEntry, LogError, RepositoryError, SequenceOutcome,
    StoredCheckpoint,
};
use datastorage_domain::audit::{AuditEvent, CorrelationId, EventId};
use datastorage_domain::log::Hash;
use datastorage_domain::log::tiles::{self, TileId, TileSet, needs};
use sqlx::{PgConnection, PgPool};
use tokio::sync::OnceCell;
use uuid::Uuid;

use crate::audit::{AuditEventRow, COLUMNS};

/// The log stored in PostgreSQL beside the events it covers.
#[derive(Clone)]
pub struct PgAuditLog {
    pool: PgPool,
    /// Whether the events live on Citus shards, asked once (see `citus`).
    citus: Arc<OnceCell<bool>>,
}

impl PgAuditLog {
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            citus: Arc::default(),
        }
    }

    async fn on_citus(&self) -> Result<bool, LogError> {
        self.citus
            .get_or_try_init(|| async {
                let mut conn = self.pool.acquire().await?;
                crate::citus::installed(&mut conn).await
            })
            .await
            .copied()
            .map_err(unavailable)
    }
}

fn unavailable(e: sqlx::Error) -> LogError {
    match crate::error::to_repository_error(e) {
        RepositoryError::Fault(why) => LogError::Fault(why),
        RepositoryError::Corrupt(why) => LogError::Corrupt(why),
        other => LogError::Unavailable(Cause::new(other)),
    }
}

fn corrupt(e: impl std::error::Error + Send + Sync + 'static) -> LogError {
    LogError::Corrupt(Cause::new(e))
}

fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// An event waiting for its leaf, in the order it is to be logged.
#[derive(sqlx::FromRow)]
pub(crate) struct PendingRow {
    pub(crate) event_id: Uuid,
    pub(crate) event_date: NaiveDate,
    pub(crate) correlation_id: String,
    /// The writer's leaf hash; `None` for a row written another way.
    pub(crate) leaf_hash: Option<Vec<u8>>,
    pub(crate) lag: f64,
}

impl PendingRow {
    /// The writer's leaf hash, when the row has one (the CHECK keeps it 32 bytes).
    fn writer_leaf(&self) -> Option<Hash> {
        let bytes = <[u8; 32]>::try_from(self.leaf_hash.as_deref()?).ok()?;
        Some(Hash(bytes))
    }
}

async fn read_tiles(conn: &mut PgConnection, ids: &BTreeSet<TileId>) -> Result<TileSet, LogError> {
    let levels: Vec<i16> = ids.iter().map(|t| i16::from(t.level)).collect();
    let indexes: Vec<i64> = ids.iter().map(|t| to_i64(t.index)).collect();
    let rows: Vec<(i16, i64, Vec<u8>)> = sqlx::query_as(
        "SELECT level, idx, hashes FROM audit_log_tiles
         WHERE (level, idx) IN (SELECT * FROM UNNEST($1::smallint[], $2::bigint[]))",
    )
    .bind(&levels)
    .bind(&indexes)
    .fetch_all(conn)
    .await
    .map_err(unavailable)?;
    let mut set = TileSet::new();
    for (level, index, bytes) in rows {
        let hashes = tiles::decode(&bytes).ok_or_else(|| {
            LogError::Corrupt(Cause::msg(format!("tile {level}/{index} does not decode")))
        })?;
        let id = TileId {
            level: u8::try_from(level).unwrap_or(u8::MAX),
            index: to_u64(index),
        };
        set.insert(id, hashes);
    }
    Ok(set)
}

/// Takes up to `max` events from the queue the trigger fills, oldest first.
async fn claim_queued(conn: &mut PgConnection, max: usize) -> Result<Vec<PendingRow>, sqlx::Error> {
    // The pool plans generically (for the partitioned events table); the queue's plans
    // depend on how many rows are asked for and queued, and a generic one scans the whole
    // queue, dead rows and all, at every step.
    // Every statement here has an index to follow; a table's statistics can lag far
    // behind a queue that grew in seconds, so sequential scans are ruled out too.
    for setting in [
        "SET LOCAL plan_cache_mode = force_custom_plan",
        "SET LOCAL enable_seqscan = off",
    ] {
        sqlx::query(setting).execute(&mut *conn).await?;
    }
    let mut pending: Vec<(i64, PendingRow)> = sqlx::query_as(
        // A range up to the batch's last seq, not `seq IN (subquery)`: a join the
        // planner may run as a nested loop re-running the subquery per row.
        "DELETE FROM audit_log_pending
         WHERE seq <= (SELECT max(seq) FROM
             (SELECT seq FROM audit_log_pending ORDER BY seq LIMIT $1) AS batch)
         RETURNING seq, event_id, event_date, correlation_id, leaf_hash,
             extract(epoch FROM clock_timestamp() - committed_at)::float8 AS lag",
    )
    .bind(i64::try_from(max).unwrap_or(i64::MAX))
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(
        |(seq, event_id, event_date, correlation_id, leaf_hash, lag)| {
            (
                seq,
                PendingRow {
                    event_id,
                    event_date,
                    correlation_id,
                    leaf_hash,
                    lag,
                },
            )
        },
    )
    .collect();
    pending.sort_unstable_by_key(|(seq, _)| *seq);
    Ok(pending.into_iter().map(|(_, p)| p).collect())
}

#[async_trait]
impl AuditLogStore for PgAuditLog {
    async fn sequence(&self, max: usize) -> Result<SequenceOutcome, LogError> {
        let citus = self.on_citus().await?;
        let mut tx = self.pool.begin().await.map_err(unavailable)?;
        let ours: bool = sqlx::query_scalar(
            "SELECT pg_try_advisory_xact_lock(hashtext('datastorage.audit_log.sequencer'))",
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(unavailable)?;
        if !ours {
            return Ok(SequenceOutcome::Busy);
        }
        let size: i64 = sqlx::query_scalar("SELECT size FROM audit_log_state")
            .fetch_one(&mut *tx)
            .await
            .map_err(unavailable)?;
        let size = to_u64(size);
        let pending = if citus {
            crate::citus::claim_pending(&mut tx, max)
                .await
                .map_err(unavailable)?
        } else {
            claim_queued(&mut tx, max).await.map_err(unavailable)?
        };

        let mut tiles = read_tiles(&mut tx, &needs::edge(size)).await?;
        if pending.is_empty() {
            let root = tiles.root(size).map_err(corrupt)?;
            tx.commit().await.map_err(unavailable)?;
            return Ok(SequenceOutcome::Appended {
                appended: 0,
                size,
                root,
                lags: Vec::new(),
            });
        }

        // Rows without the writer's leaf hash (written another way) are read back and hashed.
        let unhashed: Vec<&PendingRow> = pending
            .iter()
            .filter(|p| p.writer_leaf().is_none())
            .collect();
        let mut hashed: HashMap<(String, Uuid, NaiveDate), Hash> = HashMap::new();
        if !unhashed.is_empty() {
            let ids: Vec<Uuid> = unhashed.iter().map(|p| p.event_id).collect();
            let dates: Vec<NaiveDate> = unhashed.iter().map(|p| p.event_date).collect();
            let correlations: Vec<&str> =
                unhashed.iter().map(|p| p.correlation_id.as_str()).collect();
            let columns = COLUMNS
                .split(',')
                .map(|c| format!("e.{}", c.trim()))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = if citus {
                // Citus joins a distributed table with a list of keys only this way (the
                // list becomes an intermediate result sent to each shard).
                format!(
                    "SELECT {columns} FROM audit_events e
                     WHERE (e.correlation_id, e.event_id, e.event_date) IN
                         (SELECT * FROM UNNEST($3::text[], $1::uuid[], $2::date[]))"
                )
            } else {
                // A lateral lookup per row: the plan is the primary key's, whatever the
                // generic plan would guess for a semi-join against the whole partitioned table.
                format!(
                    "SELECT {columns}
                     FROM UNNEST($1::uuid[], $2::date[], $3::text[]) AS p(event_id, event_date, correlation_id)
                     CROSS JOIN LATERAL (SELECT * FROM audit_events a
                         WHERE a.correlation_id = p.correlation_id AND a.event_id = p.event_id
                           AND a.event_date = p.event_date) e"
                )
            };
            let rows: Vec<AuditEventRow> = sqlx::query_as(&sql)
                .bind(&ids)
                .bind(&dates)
                .bind(&correlations)
                .fetch_all(&mut *tx)
                .await
                .map_err(unavailable)?;
            for row in rows {
                let event =
                    AuditEvent::try_from(row).map_err(|e| LogError::Corrupt(Cause::new(e)))?;
                hashed.insert(
                    (
                        event.correlation_id.as_str().to_owned(),
                        *event.event_id.as_uuid(),
                        event.event_date(),
                    ),
                    event.leaf_hash(),
                );
            }
        }

        let mut leaves = Vec::with_capacity(pending.len());
        let (mut indexes, mut leaf_ids, mut leaf_dates, mut correlations) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for p in &pending {
            // A row read back for its hash but deleted before it was sequenced has nothing
            // left to log.
            let Some(leaf) = p.writer_leaf().or_else(|| {
                hashed
                    .get(&(p.correlation_id.clone(), p.event_id, p.event_date))
                    .copied()
            }) else {
                continue;
            };
            indexes.push(to_i64(size + leaves.len() as u64));
            leaves.push(leaf);
            leaf_ids.push(p.event_id);
            leaf_dates.push(p.event_date);
            correlations.push(p.correlation_id.clone());
        }
        if citus {
            crate::citus::mark_logged(&mut tx, &pending)
                .await
                .map_err(unavailable)?;
        }
        let changed = tiles.append(size, &leaves).map_err(corrupt)?;
        let new_size = size + leaves.len() as u64;

        sqlx::query(
            "INSERT INTO audit_log_leaves (log_index, event_id, event_date, correlation_id)
             SELECT * FROM UNNEST($1::bigint[], $2::uuid[], $3::date[], $4::text[])",
        )
        .bind(&indexes)
        .bind(&leaf_ids)
        .bind(&leaf_dates)
        .bind(&correlations)
        .execute(&mut *tx)
        .await
        .map_err(unavailable)?;
        let levels: Vec<i16> = changed.iter().map(|t| i16::from(t.level)).collect();
        let tile_indexes: Vec<i64> = changed.iter().map(|t| to_i64(t.index)).collect();
        let contents: Vec<Vec<u8>> = changed
            .iter()
            .map(|id| tiles.get(id).map(tiles::encode).unwrap_or_default())
            .collect();
        sqlx::query(
            "INSERT INTO audit_log_tiles (level, idx, hashes)
             SELECT * FROM UNNEST($1::smallint[], $2::bigint[], $3::bytea[])
             ON CONFLICT (level, idx) DO UPDATE SET hashes = EXCLUDED.hashes",
        )
        .bind(&levels)
        .bind(&tile_indexes)
        .bind(&contents)
        .execute(&mut *tx)
        .await
        .map_err(unavailable)?;
        sqlx::query("UPDATE audit_log_state SET size = $1")
            .bind(to_i64(new_size))
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?;
        let root = tiles.root(new_size).map_err(corrupt)?;
        tx.commit().await.map_err(unavailable)?;
        Ok(SequenceOutcome::Appended {
            appended: leaves.len() as u64,
            size: new_size,
            root,
            lags: pending.iter().map(|p| p.lag).collect(),
        })
    }

    async fn size(&self) -> Result<u64, LogError> {
        let size: i64 = sqlx::query_scalar("SELECT size FROM audit_log_state")
            .fetch_one(&self.pool)
            .await
            .map_err(unavailable)?;
        Ok(to_u64(size))
    }

    async fn tiles(&self, ids: &BTreeSet<TileId>) -> Result<TileSet, LogError> {
        let mut conn = self.pool.acquire().await.map_err(unavailable)?;
        read_tiles(&mut conn, ids).await
    }

    async fn indexes(&self, ids: &[EventId]) -> Result<HashMap<EventId, u64>, LogError> {
        let uuids: Vec<Uuid> = ids.iter().map(|id| *id.as_uuid()).collect();
        let rows: Vec<(Uuid, i64)> = sqlx::query_as(
            "SELECT event_id, min(log_index) FROM audit_log_leaves
             WHERE event_id = ANY($1) GROUP BY event_id",
        )
        .bind(&uuids)
        .fetch_all(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(rows
            .into_iter()
            .map(|(id, index)| (EventId::from_uuid(id), to_u64(index)))
            .collect())
    }

    async fn correlation_entries(
        &self,
        correlation_id: &CorrelationId,
    ) -> Result<Vec<LogEntry>, LogError> {
        let rows: Vec<(i64, Uuid, NaiveDate)> = sqlx::query_as(
            "SELECT log_index, event_id, event_date FROM audit_log_leaves
             WHERE correlation_id = $1 ORDER BY log_index",
        )
        .bind(correlation_id.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(rows
            .into_iter()
            .map(|(index, id, event_date)| LogEntry {
                log_index: to_u64(index),
                event_id: EventId::from_uuid(id),
                correlation_id: correlation_id.clone(),
                event_date,
            })
            .collect())
    }

    async fn save_checkpoint(&self, checkpoint: &StoredCheckpoint) -> Result<(), LogError> {
        sqlx::query(
            "INSERT INTO audit_log_checkpoints (tree_size, root, signed_at, note)
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(to_i64(checkpoint.tree_size))
        .bind(checkpoint.root.0.as_slice())
        .bind(checkpoint.signed_at)
        .bind(&checkpoint.note)
        .execute(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(())
    }

    async fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, LogError> {
        let row: Option<(i64, Vec<u8>, DateTime<Utc>, String)> = sqlx::query_as(
            "SELECT tree_size, root, signed_at, note FROM audit_log_checkpoints
             ORDER BY tree_size DESC, signed_at DESC LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(unavailable)?;
        row.map(|(size, root, signed_at, note)| {
            let root: [u8; 32] = root.try_into().map_err(|_| {
                LogError::Corrupt(Cause::msg("a checkpoint's root is not 32 bytes"))
            })?;
            Ok(StoredCheckpoint {
                tree_size: to_u64(size),
                root: Hash(root),
                signed_at,
                note,
            })
        })
        .transpose()
    }

    async fn pruned_months(&self) -> Result<Vec<NaiveDate>, LogError> {
        sqlx::query_scalar("SELECT month FROM audit_log_pruned ORDER BY month")
            .fetch_all(&self.pool)
            .await
            .map_err(unavailable)
    }

    async fn backlog(&self) -> Result<LogBacklog, LogError> {
        if self.on_citus().await? {
            let mut conn = self.pool.acquire().await.map_err(unavailable)?;
            let size: i64 = sqlx::query_scalar("SELECT size FROM audit_log_state")
                .fetch_one(&mut *conn)
                .await
                .map_err(unavailable)?;
            let (unsequenced, oldest) = crate::citus::backlog(&mut conn)
                .await
                .map_err(unavailable)?;
            return Ok(LogBacklog {
                size: to_u64(size),
                unsequenced: to_u64(unsequenced),
                oldest_unsequenced_seconds: oldest,
            });
        }
        // The queue's seq range, two index probes: counting a queue of dead and live rows
        // under load cost a core when polled. Rows of aborted writes leave gaps, so this is
        // at most the true backlog, and exact when nothing was rolled back.
        let (size, unsequenced, oldest): (i64, i64, Option<f64>) = sqlx::query_as(
            "SELECT (SELECT size FROM audit_log_state),
                    coalesce((SELECT max(seq) FROM audit_log_pending)
                             - (SELECT min(seq) FROM audit_log_pending) + 1, 0),
                    (SELECT extract(epoch FROM clock_timestamp() - committed_at)::float8
                     FROM audit_log_pending ORDER BY seq LIMIT 1)",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(LogBacklog {
            size: to_u64(size),
            unsequenced: to_u64(unsequenced),
            oldest_unsequenced_seconds: oldest,
        })
    }
}

/// Whether inserted events are queued for the log: the trigger enabled, or on Citus the
/// `log_pending` mark's default set (a catalog read: any role may ask).
///
/// # Errors
/// When PostgreSQL cannot be reached.
pub async fn log_queueing_enabled(conn: &mut PgConnection) -> Result<bool, sqlx::Error> {
    let on: Option<bool> = sqlx::query_scalar(
        "SELECT coalesce(
            (SELECT tgenabled <> 'D' FROM pg_trigger
             WHERE tgname = 'audit_log_enqueue' AND tgrelid = 'audit_events'::regclass),
            (SELECT atthasdef FROM pg_attribute
             WHERE attrelid = 'audit_events'::regclass AND attname = 'log_pending'))",
    )
    .fetch_one(conn)
    .await?;
    Ok(on.unwrap_or(false))
}

/// Switches the queueing of inserted events for the log on or off (only when it is not
/// already so: the switch locks `audit_events` briefly).
pub(crate) async fn set_log_queueing(
    conn: &mut PgConnection,
    enabled: bool,
) -> Result<(), sqlx::Error> {
    if log_queueing_enabled(&mut *conn).await? != enabled {
        let on_citus: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pg_attribute
                            WHERE attrelid = 'audit_events'::regclass AND attname = 'log_pending')",
        )
        .fetch_one(&mut *conn)
        .await?;
        let statement = match (on_citus, enabled) {
            (false, true) => "ALTER TABLE audit_events ENABLE TRIGGER audit_log_enqueue",
            (false, false) => "ALTER TABLE audit_events DISABLE TRIGGER audit_log_enqueue",
            (true, true) => "ALTER TABLE audit_events ALTER COLUMN log_pending SET DEFAULT true",
            (true, false) => "ALTER TABLE audit_events ALTER COLUMN log_pending DROP DEFAULT",
        };
        sqlx::query(statement).execute(conn).await?;
        tracing::warn!(
            enabled,
            "switched queueing of stored events for the transparency log"
        );
    }
    Ok(())
}

/// [`set_log_queueing`] on a pooled connection.
///
/// # Errors
/// When PostgreSQL refuses (the role must own `audit_events`) or cannot be reached.
pub async fn queue_events_for_log(pool: &PgPool, enabled: bool) -> Result<(), sqlx::Error> {
    let mut conn = pool.acquire().await?;
    set_log_queueing(&mut conn, enabled).await
}
