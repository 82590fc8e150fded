//! The one way events are written: a batch in one binary `COPY`, all or nothing. Every
//! event's (correlation_id, event_id) is first inserted into `audit_event_ids` in the same
//! transaction, whose primary key decides new, repeat or conflict (an event_id is unique
//! within its correlation): no lock of ours, so the same holds on Citus, where the id row
//! lives on the event's shard. Used by the repository directly (batches, replays) and
//! through the group commit (single events).

use std::collections::{HashMap, HashSet};
use std::ops::DerefMut;

use datastorage_application::ports::{InsertOutcome, RepositoryError};
use datastorage_domain::audit::*;
use sqlx::PgPool;
use sqlx::postgres::{PgConnection, PgCopyIn};
use uuid::Uuid;

use crate::copy::{COPY_AUDIT_EVENTS, CopyRows};
use crate::error::{is_missing_partition, to_repository_error, uncommitted};
use crate::partitions::ensure_audit_partitions;

/// Writes batches of events, each batch in one transaction.
#[derive(Clone)]
pub(crate) struct Writer {
    pub(crate) pool: PgPool,
    pub(crate) connection_wait: std::time::Duration,
}

impl Writer {
    /// Writes all or nothing, creating missing monthly partitions once if the first attempt
    /// needs them; outcomes in input order. `events` must hold distinct (correlation, id)
    /// pairs.
    pub(crate) async fn write(
        &self,
        events: &[NewAuditEvent],
    ) -> Result<Vec<InsertOutcome>, RepositoryError> {
        match self.try_write(events).await {
            Err(WriteError::Sql(e)) if is_missing_partition(&e) => {
                ensure_audit_partitions(&self.pool, events.iter().map(|e| e.event.event_date()))
                    .await
                    .map_err(to_repository_error)?;
                self.try_write(events).await
            }
            other => other,
        }
        .map_err(|e| match e {
            WriteError::Sql(e) => uncommitted(e),
            WriteError::Commit(e) => to_repository_error(e),
            WriteError::Conflict(event_id) => RepositoryError::Conflict { event_id },
        })
    }

    async fn try_write(&self, events: &[NewAuditEvent]) -> Result<Vec<InsertOutcome>, WriteError> {
        let mut correlations = Vec::with_capacity(events.len());
        let mut ids = Vec::with_capacity(events.len());
        let mut dates = Vec::with_capacity(events.len());
        let mut hashes = Vec::with_capacity(events.len());
        for new in events {
            correlations.push(new.event.correlation_id.as_str());
            ids.push(*new.event.event_id.as_uuid());
            dates.push(new.event.event_date());
            hashes.push(new.event.content_hash().to_vec());
        }

        let mut conn = tokio::time::timeout(self.connection_wait, self.pool.acquire())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)??;
        let mut tx = sqlx::Acquire::begin(&mut conn).await?;
        // The id row decides: inserted means new; not inserted means the pair is already
        // stored (or being stored by a transaction this one waited for).
        let inserted: Vec<(String, Uuid)> = sqlx::query_as(
            "INSERT INTO audit_event_ids (correlation_id, event_id, event_date, content_hash)
             SELECT * FROM UNNEST($1::text[], $2::uuid[], $3::date[], $4::bytea[])
             ON CONFLICT DO NOTHING
             RETURNING correlation_id, event_id",
        )
        .bind(&correlations)
        .bind(&ids)
        .bind(&dates)
        .bind(&hashes)
        .fetch_all(&mut *tx)
        .await?;

        let mut outcomes = vec![InsertOutcome::Created; events.len()];
        // The pairs are distinct, so as many rows back as events means all are new (the usual
        // case: no set to build).
        if inserted.len() < events.len() {
            let inserted: HashSet<(String, Uuid)> = inserted.into_iter().collect();
            let (mut repeat_correlations, mut repeat_ids) = (Vec::new(), Vec::new());
            for new in events {
                let key = (
                    new.event.correlation_id.as_str().to_owned(),
                    *new.event.event_id.as_uuid(),
                );
                if !inserted.contains(&key) {
                    repeat_correlations.push(key.0);
                    repeat_ids.push(key.1);
                }
            }
            let stored: HashMap<(String, Uuid), Vec<u8>> = sqlx::query_as(
                "SELECT i.correlation_id, i.event_id, i.content_hash
                 FROM audit_event_ids i
                 JOIN UNNEST($1::text[], $2::uuid[]) AS r(correlation_id, event_id)
                   ON i.correlation_id = r.correlation_id AND i.event_id = r.event_id",
            )
            .bind(&repeat_correlations)
            .bind(&repeat_ids)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .map(|(correlation, id, hash): (String, Uuid, Vec<u8>)| ((correlation, id), hash))
            .collect();
            for (new, outcome) in events.iter().zip(outcomes.iter_mut()) {
                let key = (
                    new.event.correlation_id.as_str().to_owned(),
                    *new.event.event_id.as_uuid(),
                );
                if inserted.contains(&key) {
                    continue;
                }
                match stored.get(&key) {
                    Some(hash) if hash.as_slice() == new.event.content_hash() => {
                        *outcome = InsertOutcome::AlreadyExists;
                    }
                    _ => return Err(WriteError::Conflict(new.event.event_id)),
                }
            }
        }
        let fresh = events
            .iter()
            .zip(&outcomes)
            .filter(|(_, o)| **o == InsertOutcome::Created)
            .map(|(e, _)| &e.event);
        if let Some(payload) = copy_payload(fresh.clone()) {
            send_copy(tx.copy_in_raw(COPY_AUDIT_EVENTS).await?, payload).await?;
        }
        crate::remediation::record_choices(&mut tx, fresh).await?;
        tx.commit().await.map_err(WriteError::Commit)?;
        Ok(outcomes)
    }
}

enum WriteError {
    /// Before `COMMIT` was sent: the transaction is rolled back, nothing was written.
    Sql(sqlx::Error),
    /// `COMMIT` itself: without its answer, the write may have happened.
    Commit(sqlx::Error),
    Conflict(EventId),
}

impl From<sqlx::Error> for WriteError {
    fn from(e: sqlx::Error) -> Self {
        WriteError::Sql(e)
    }
}

/// `events` as one binary `COPY` payload, or `None` when there are none.
fn copy_payload<'a>(events: impl Iterator<Item = &'a AuditEvent> + Clone) -> Option<Vec<u8>> {
    let mut rows = CopyRows::with_capacity(events.clone().map(CopyRows::row_size_hint).sum());
    for e in events {
        rows.push(e);
    }
    (rows.rows() > 0).then(|| rows.finish())
}

/// Bytes per `CopyData` message. The driver copies each message into the connection's
/// write buffer, which keeps its size for the connection's life: slices keep every pooled
/// connection from holding a whole batch's worth (hundreds of KiB each).
const COPY_CHUNK_BYTES: usize = 64 * 1024;

/// Sends a `COPY` payload and waits for its outcome: all rows or none.
async fn send_copy<C: DerefMut<Target = PgConnection>>(
    mut copy: PgCopyIn<C>,
    payload: Vec<u8>,
) -> Result<(), sqlx::Error> {
    for chunk in payload.chunks(COPY_CHUNK_BYTES) {
        copy.send(chunk).await?;
    }
    copy.finish().await?;
    Ok(())
}
