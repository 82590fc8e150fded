//! The catalog audits itself: each change and search becomes an audit event.

use crate::cause::chain;
use std::sync::Arc;
use std::time::Duration;

use datastorage_domain::audit::AuditEventDraft;
use datastorage_grouping::{GroupSettings, GroupWrite, Grouped};
use serde_json::Value;
use tokio::sync::Semaphore;

use super::CatalogService;
use crate::audit::AuditService;
use crate::error::AuditError;

/// What the catalog did, for its audit event.
pub(crate) struct CatalogEvent<'a> {
    pub event_type: &'static str,
    pub action: &'static str,
    pub actor: Option<&'a str>,
    pub resource_id: String,
    pub resource_name: String,
    pub correlation_id: String,
    pub data: Value,
}

/// Most search audits queued or being written in the background; past it a search writes its
/// own before answering (back-pressure instead of an unbounded backlog).
pub(crate) const MAX_BACKGROUND_AUDITS: u32 = 256;

/// Search audits are written in groups: nobody waits for them, and written one by one
/// (through the group commit) they cost the machine more than the searches themselves. One
/// group is written at a time; a group smaller than the one before waits a few milliseconds
/// for company, as the dead-letter enqueue's does.
const BACKGROUND_GROUPS: GroupSettings = GroupSettings {
    max_items: 128,
    max_in_flight: 1,
    gather: Some(Duration::from_millis(5)),
};

/// The search audits written in the background, grouped by the shared flusher. Each queued
/// audit holds a permit until its group is written, so holding every permit means none is
/// left to write.
pub(crate) struct BackgroundAudits {
    permits: Arc<Semaphore>,
    writer: Arc<Grouped<AuditWriter>>,
}

impl BackgroundAudits {
    pub(crate) fn new(audit: AuditService) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(MAX_BACKGROUND_AUDITS as usize)),
            writer: Arc::new(Grouped::new(AuditWriter(audit), BACKGROUND_GROUPS)),
        }
    }
}

/// Writes a group of audit events all or nothing; if the batch itself is refused (an event
/// the rules refuse, say), each event is recorded on its own, so one bad event does not cost
/// the others theirs. Nobody waits on the outcome: failures are logged.
struct AuditWriter(AuditService);

impl GroupWrite for AuditWriter {
    type Item = AuditEventDraft;
    type Answer = ();
    type Membership = ();

    fn admit((): &mut (), _: &AuditEventDraft) -> bool {
        true
    }

    async fn write(&self, drafts: Vec<AuditEventDraft>) -> Vec<()> {
        let events = drafts.len();
        match self.0.record_batch(drafts.clone()).await {
            Ok(_) => {}
            Err(
                AuditError::InvalidBatchItem { .. }
                | AuditError::BatchSize { .. }
                | AuditError::Conflict { .. },
            ) => {
                for draft in drafts {
                    record_logged(&self.0, draft).await;
                }
            }
            Err(error) => {
                tracing::warn!(error = %chain(&error), events, "catalog: could not record its search audit events");
            }
        }
        vec![(); events]
    }
}

impl CatalogService {
    /// Records the event. The catalog change is already committed, so a failure to audit is
    /// logged rather than undoing or failing it (the audit path queues when it can).
    pub(crate) async fn audit(&self, e: CatalogEvent<'_>) {
        record_logged(&self.audit, self.draft(e)).await;
    }

    /// Records the event after the caller has its answer: a search does not wait for its
    /// audit event's commit, which would be most of its latency. Shutdown waits for these
    /// writes ([`CatalogService::finish_background_audits`]), so none is dropped.
    pub(crate) async fn audit_in_background(&self, e: CatalogEvent<'_>) {
        let draft = self.draft(e);
        let background = &self.background_audits;
        let Ok(permit) = background.permits.clone().try_acquire_owned() else {
            return record_logged(&self.audit, draft).await;
        };
        let writer = background.writer.clone();
        tokio::spawn(async move {
            // The flusher ends only with the runtime; the write is then as lost as any
            // in-flight work, which shutdown avoids by waiting for the permits first.
            let _ = writer.write(draft).await;
            drop(permit);
        });
    }

    /// Waits until every background audit is written (at shutdown, and in tests that read a
    /// search's audit event).
    pub async fn finish_background_audits(&self) {
        // Holding every permit means no audit is queued or being written; they are released
        // at once.
        let _ = self
            .background_audits
            .permits
            .acquire_many(MAX_BACKGROUND_AUDITS)
            .await;
    }

    fn draft(&self, e: CatalogEvent<'_>) -> AuditEventDraft {
        AuditEventDraft {
            version: "1.0".into(),
            event_type: e.event_type.into(),
            event_timestamp: self.clock.now().to_rfc3339(),
            event_category: "workflow".into(),
            event_action: e.action.into(),
            event_outcome: "success".into(),
            actor_type: Some(if e.actor.is_some() { "user" } else { "service" }.into()),
            actor_id: Some(e.actor.unwrap_or("datastorage").to_owned()),
            resource_type: Some("Workflow".into()),
            resource_id: Some(e.resource_id),
            resource_name: Some(e.resource_name.chars().take(255).collect()),
            correlation_id: e.correlation_id.chars().take(255).collect(),
            event_data: e.data.into(),
            ..AuditEventDraft::default()
        }
    }
}

async fn record_logged(audit: &AuditService, draft: AuditEventDraft) {
    let event_type = draft.event_type.clone();
    if let Err(error) = audit.record(draft).await {
        tracing::warn!(error = %chain(&error), %event_type, "catalog: could not record its audit event");
    }
}
