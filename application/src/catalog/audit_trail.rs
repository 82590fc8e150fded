//! The catalog audits itself: each change and search becomes an audit event.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use datastorage_domain::audit::AuditEventDraft;
use serde_json::Value;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

use super::CatalogService;
use crate::audit::AuditService;
use crate::clock::Clock;
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
/// How long a background audit waits for others to share its write. Nobody waits for these
/// writes, and written one by one (through the group commit) they cost the machine more than
/// the searches themselves; longer lingers saved little more and made the writes burstier.
const BACKGROUND_LINGER: Duration = Duration::from_millis(5);
/// Most background audits in one write.
const BACKGROUND_BATCH: usize = 128;

/// The search audits written in the background, batched: one writer task, started with the
/// first of them, takes what arrives within [`BACKGROUND_LINGER`] of the first and records it
/// as one batch. Each queued audit holds a permit until its batch is written, so holding every
/// permit means none is left to write.
pub(crate) struct BackgroundAudits {
    permits: Arc<Semaphore>,
    queue: OnceLock<mpsc::UnboundedSender<Queued>>,
}

type Queued = (AuditEventDraft, OwnedSemaphorePermit);

impl BackgroundAudits {
    pub(crate) fn new() -> Self {
        Self {
            permits: Arc::new(Semaphore::new(MAX_BACKGROUND_AUDITS as usize)),
            queue: OnceLock::new(),
        }
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
        let queue = background.queue.get_or_init(|| {
            let (sender, receiver) = mpsc::unbounded_channel();
            tokio::spawn(write_in_batches(
                self.audit.clone(),
                self.clock.clone(),
                receiver,
            ));
            sender
        });
        // The writer ends only when every sender is gone; should it have stopped anyway, the
        // event is written here instead of being lost.
        if let Err(mpsc::error::SendError((draft, _permit))) = queue.send((draft, permit)) {
            record_logged(&self.audit, draft).await;
        }
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
            event_id: None,
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
            parent_event_id: None,
            parent_event_date: None,
            trace_id: None,
            span_id: None,
            namespace: None,
            cluster_name: None,
            severity: None,
            duration_ms: None,
            error_code: None,
            error_message: None,
            event_data: e.data.into(),
            retention_days: None,
            is_sensitive: None,
        }
    }
}

/// The background writer: a batch is what arrives within [`BACKGROUND_LINGER`] of its first
/// audit (at most [`BACKGROUND_BATCH`]); one batch is written at a time.
async fn write_in_batches(
    audit: AuditService,
    clock: Arc<dyn Clock>,
    mut queue: mpsc::UnboundedReceiver<Queued>,
) {
    while let Some(first) = queue.recv().await {
        let mut batch = vec![first];
        // Through the clock port: a manual clock ends the linger at once.
        let mut linger = clock.sleep(BACKGROUND_LINGER);
        while batch.len() < BACKGROUND_BATCH {
            tokio::select! {
                next = queue.recv() => match next {
                    Some(next) => batch.push(next),
                    None => break,
                },
                () = &mut linger => break,
            }
        }
        let (drafts, permits): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
        record_batch_logged(&audit, drafts).await;
        drop(permits);
    }
}

/// Records the batch all or nothing; if the batch itself is refused (an event the rules
/// refuse, say a correlation id from a client), each event is recorded on its own, so one
/// bad event does not cost the others theirs.
async fn record_batch_logged(audit: &AuditService, drafts: Vec<AuditEventDraft>) {
    let events = drafts.len();
    match audit.record_batch(drafts.clone()).await {
        Ok(_) => {}
        Err(
            AuditError::InvalidBatchItem { .. }
            | AuditError::BatchSize { .. }
            | AuditError::Conflict { .. },
        ) => {
            for draft in drafts {
                record_logged(audit, draft).await;
            }
        }
        Err(error) => {
            tracing::warn!(%error, events, "catalog: could not record its search audit events");
        }
    }
}

async fn record_logged(audit: &AuditService, draft: AuditEventDraft) {
    let event_type = draft.event_type.clone();
    if let Err(error) = audit.record(draft).await {
        tracing::warn!(%error, %event_type, "catalog: could not record its audit event");
    }
}
