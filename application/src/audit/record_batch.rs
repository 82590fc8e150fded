//! Use-case: record a batch of audit events, all or nothing.

use std::collections::HashMap;

use datastorage_domain::audit::{AuditEventDraft, EventId, NewAuditEvent};

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

        // The port takes distinct ids: a repeated id inside the batch is resolved here.
        let keys: Vec<_> = events
            .iter()
            .map(|n| (n.event.event_id, n.event.event_timestamp))
            .collect();
        let (unique, first_of) =
            dedupe(events).map_err(|event_id| AuditError::Conflict { event_id })?;
        let ids: Vec<EventId> = unique.iter().map(|n| n.event.event_id).collect();
        let stored = self.store(unique).await?;
        let outcomes: HashMap<EventId, WriteOutcome> = ids.into_iter().zip(stored).collect();

        let recorded = keys
            .into_iter()
            .enumerate()
            .map(|(i, (id, event_timestamp))| {
                let outcome = match outcomes.get(&id) {
                    Some(o) if first_of.get(&id) == Some(&i) => *o,
                    Some(WriteOutcome::Queued) => WriteOutcome::Queued,
                    _ => WriteOutcome::AlreadyExists,
                };
                Recorded {
                    event_id: id,
                    event_timestamp,
                    outcome,
                }
            })
            .collect();
        Ok(BatchRecorded { events: recorded })
    }
}

/// Keeps the first event of each id, with its index in `events`; a later one with other
/// content is a conflict (its id is the error). Identical repeats are dropped. Takes the
/// events rather than cloning them: copying and dropping every event_data map was about 3 %
/// of the service's samples in a batch profile, before their allocations.
pub(crate) fn dedupe(
    events: Vec<NewAuditEvent>,
) -> Result<(Vec<NewAuditEvent>, HashMap<EventId, usize>), EventId> {
    // id -> (index in `events`, index in `unique`)
    let mut first_of: HashMap<EventId, (usize, usize)> = HashMap::with_capacity(events.len());
    let mut unique: Vec<NewAuditEvent> = Vec::with_capacity(events.len());
    for (i, new) in events.into_iter().enumerate() {
        let id = new.event.event_id;
        match first_of.get(&id) {
            None => {
                first_of.insert(id, (i, unique.len()));
                unique.push(new);
            }
            Some(&(_, kept)) => {
                if unique[kept].event.content_hash() != new.event.content_hash() {
                    return Err(id);
                }
            }
        }
    }
    let first_of = first_of
        .into_iter()
        .map(|(id, (index, _))| (id, index))
        .collect();
    Ok((unique, first_of))
}
