//! The one way events are written: a batch in one binary `COPY`, all or nothing. A
//! client-supplied event id is checked for an earlier copy inside the same transaction, under
//! an advisory lock on the id, because a partitioned table cannot enforce a unique `event_id`
//! across partitions. Used by the repository directly (batches, replays) and through the
//! group commit (single events).

use std::collections::HashMap;
use std::ops::DerefMut;

use datastorage_application::ports::{InsertOutcome, RepositoryError};
use datastorage_domain::audit::*;
use sqlx::PgPool;
use sqlx::postgres::{PgConnection, PgCopyIn, PgPoolCopyExt};
use uuid::Uuid;

use crate::copy::{COPY_AUDIT_EVENTS, CopyRows};
use crate::error::{is_missing_partition, to_repository_error};
use crate::partitions::ensure_audit_partitions;

/// Writes batches of events, each batch in one transaction.
#[derive(Clone)]
pub(crate) struct Writer {
    pub(crate) pool: PgPool,
}

impl Writer {
    /// Writes all or nothing, creating missing monthly partitions once if the first attempt
    /// needs them; outcomes in input order. `events` must hold distinct ids.
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
            WriteError::Sql(e) => to_repository_error(e),
            WriteError::Conflict(event_id) => RepositoryError::Conflict { event_id },
        })
    }

    async fn try_write(&self, events: &[NewAuditEvent]) -> Result<Vec<InsertOutcome>, WriteError> {
        let client_ids: Vec<Uuid> = events
            .iter()
            .filter(|e| e.id_origin == EventIdOrigin::Client)
            .map(|e| *e.event.event_id.as_uuid())
            .collect();
        if client_ids.is_empty() {
            // Fresh server ids cannot exist yet, and one statement is all or nothing: it
            // needs no explicit transaction (two round trips fewer).
            if let Some(payload) = copy_payload(events.iter().map(|e| &e.event)) {
                send_copy(self.pool.copy_in_raw(COPY_AUDIT_EVENTS).await?, payload).await?;
            }
            return Ok(vec![InsertOutcome::Created; events.len()]);
        }

        let mut tx = self.pool.begin().await?;
        let mut outcomes = vec![InsertOutcome::Created; events.len()];
        if !client_ids.is_empty() {
            let mut keys: Vec<i64> = client_ids.iter().map(lock_key).collect();
            keys.sort_unstable();
            keys.dedup();
            // Sorted so that two batches locking overlapping ids cannot deadlock.
            sqlx::query(
                "SELECT pg_advisory_xact_lock(k) FROM (SELECT k FROM UNNEST($1::int8[]) AS k ORDER BY k) AS keys",
            )
            .bind(&keys)
            .execute(&mut *tx)
            .await?;
            let stored: HashMap<Uuid, Vec<u8>> = sqlx::query!(
                "SELECT event_id, content_hash FROM audit_events WHERE event_id = ANY($1)",
                &client_ids
            )
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .map(|r| (r.event_id, r.content_hash))
            .collect();
            for (new, outcome) in events.iter().zip(outcomes.iter_mut()) {
                if let Some(hash) = stored.get(new.event.event_id.as_uuid()) {
                    if hash.as_slice() != new.event.content_hash() {
                        return Err(WriteError::Conflict(new.event.event_id));
                    }
                    *outcome = InsertOutcome::AlreadyExists;
                }
            }
        }
        let fresh = events
            .iter()
            .zip(&outcomes)
            .filter(|(_, o)| **o == InsertOutcome::Created)
            .map(|(e, _)| &e.event);
        if let Some(payload) = copy_payload(fresh) {
            send_copy(tx.copy_in_raw(COPY_AUDIT_EVENTS).await?, payload).await?;
        }
        tx.commit().await?;
        Ok(outcomes)
    }
}

enum WriteError {
    Sql(sqlx::Error),
    Conflict(EventId),
}

impl From<sqlx::Error> for WriteError {
    fn from(e: sqlx::Error) -> Self {
        WriteError::Sql(e)
    }
}

/// Advisory-lock key of an event id.
fn lock_key(id: &Uuid) -> i64 {
    let (hi, lo) = id.as_u64_pair();
    (hi ^ lo) as i64
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
