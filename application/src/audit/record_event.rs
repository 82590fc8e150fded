//! Use-case: record one audit event.

use datastorage_domain::audit::AuditEventDraft;

use super::{AuditService, Recorded, WriteOutcome};
use crate::error::AuditError;

impl AuditService {
    /// Validates the draft and stores it durably (see `durable_write`). A client-supplied
    /// `event_id` makes the call idempotent: the same content again is `AlreadyExists`, other
    /// content is `Conflict`.
    pub async fn record(&self, draft: AuditEventDraft) -> Result<Recorded, AuditError> {
        let new = draft.validate(&self.settings.rules, self.clock.now(), self.fresh_id())?;
        let (event_id, event_timestamp) = (new.event.event_id, new.event.event_timestamp);
        let outcome = self
            .store(vec![new])
            .await?
            .into_iter()
            .next()
            .unwrap_or(WriteOutcome::Created);
        Ok(Recorded {
            event_id,
            event_timestamp,
            outcome,
        })
    }
}
