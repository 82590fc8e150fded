//! The catalog audits itself: each change and search becomes an audit event.

use datastorage_domain::audit::AuditEventDraft;
use serde_json::Value;

use super::CatalogService;
use crate::audit::AuditService;

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

/// Most search audits written in the background at once; past it a search writes its own
/// before answering (back-pressure instead of an unbounded backlog).
pub(crate) const MAX_BACKGROUND_AUDITS: u32 = 256;

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
        match self.background_audits.clone().try_acquire_owned() {
            Ok(permit) => {
                let audit = self.audit.clone();
                tokio::spawn(async move {
                    record_logged(&audit, draft).await;
                    drop(permit);
                });
            }
            Err(_) => record_logged(&self.audit, draft).await,
        }
    }

    /// Waits until every background audit write has ended (at shutdown, and in tests that
    /// read a search's audit event).
    pub async fn finish_background_audits(&self) {
        // Holding every permit means no write holds one; they are released at once.
        let _ = self
            .background_audits
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
            event_data: e.data,
            retention_days: None,
            is_sensitive: None,
        }
    }
}

async fn record_logged(audit: &AuditService, draft: AuditEventDraft) {
    let event_type = draft.event_type.clone();
    if let Err(error) = audit.record(draft).await {
        tracing::warn!(%error, %event_type, "catalog: could not record its audit event");
    }
}
