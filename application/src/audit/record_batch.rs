//! Use-case: record a batch of audit events, all or nothing.

use std::collections::HashMap;

use datastorage_domain::audit::{
    AuditEventDraft, CorrelationId, EventId, EventIdOrigin, NewAuditEvent,
};

use super::{AuditService, BatchRecorded, Recorded, WriteOutcome};
use crate::error::AuditError;

impl AuditService {
    /// Validates the whole batch first (the first bad item is reported with its index and
    /// nothing is written), then stores it in one transaction, or queues it whole.
    pub async fn record_batch(
        &self,
        drafts: Vec<AuditEventDraft>,
    ) -> Result<BatchRecorded, AuditError> {
        let max = self.settings.max_batch;
        if drafts.is_empty() || drafts.len() > max {
            return Err(AuditError::BatchSize {
                max,
                got: drafts.len(),
            });
        }
        let now = self.clock.now();
        let mut events = Vec::with_capacity(drafts.len());
        for (index, draft) in drafts.into_iter().enumerate() {
            let new = draft
                .validate(&self.settings.rules, now, self.fresh_id())
                .map_err(|errors| AuditError::InvalidBatchItem { index, errors })?;
            events.push(new);
        }

        // The port takes distinct (correlation, id) pairs: a repeat inside the batch is
        // resolved here.
        let keys: Vec<_> = events
            .iter()
            .map(|n| (n.event.event_id, n.event.event_timestamp))
            .collect();
        // Ids this request just assigned are distinct: a batch without a client id has nothing
        // to resolve (the usual batch), so it skips the map and the moves.
        let (unique, kept) = if events.iter().all(|e| e.id_origin == EventIdOrigin::Server) {
            let kept = vec![true; events.len()];
            (events, kept)
        } else {
            dedupe(events).map_err(|event_id| AuditError::Conflict { event_id })?
        };
        let stored = self.store(unique).await?;
        // A batch is queued whole, so a dropped repeat was queued if its first copy was.
        let queued = stored.contains(&WriteOutcome::Queued);
        let mut stored = stored.into_iter();
        let recorded = keys
            .into_iter()
            .zip(kept)
            .map(|((event_id, event_timestamp), kept)| {
                let outcome = match (kept, queued) {
                    (true, _) => stored.next().unwrap_or(WriteOutcome::AlreadyExists),
                    (false, true) => WriteOutcome::Queued,
                    (false, false) => WriteOutcome::AlreadyExists,
                };
                Recorded {
                    event_id,
                    event_timestamp,
                    outcome,
                }
            })
            .collect();
        Ok(BatchRecorded { events: recorded })
    }
}

/// Keeps the first event of each (correlation, id): an event_id is unique within its
/// correlation, so the same id in two correlations is two events. A later one with other
/// content is a conflict (its id is the error), an identical one is dropped. Answers the kept events and, for each input
/// position, whether its event was kept. Takes the events rather than cloning them: a batch
/// would otherwise copy and drop every event_data.
pub(crate) fn dedupe(
    events: Vec<NewAuditEvent>,
) -> Result<(Vec<NewAuditEvent>, Vec<bool>), EventId> {
    // (correlation, id) -> its event's index in `unique`
    let mut kept_at: HashMap<(CorrelationId, EventId), usize> =
        HashMap::with_capacity(events.len());
    let mut unique: Vec<NewAuditEvent> = Vec::with_capacity(events.len());
    let mut kept = Vec::with_capacity(events.len());
    for new in events {
        let id = new.event.event_id;
        let key = (new.event.correlation_id.clone(), id);
        match kept_at.get(&key) {
            None => {
                kept_at.insert(key, unique.len());
                unique.push(new);
                kept.push(true);
            }
            Some(&at) => {
                if unique[at].event.content_hash() != new.event.content_hash() {
                    return Err(id);
                }
                kept.push(false);
            }
        }
    }
    Ok((unique, kept))
}
