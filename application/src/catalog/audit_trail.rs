//! The catalog audits itself: each change and search becomes an audit event.

use datastorage_domain::audit::AuditEventDraft;
use serde_json::Value;

use super::CatalogService;

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

impl CatalogService {
    /// Records the event. The catalog change is already committed, so a failure to audit is
    /// logged rather than undoing or failing it (the audit path queues when it can).
    pub(crate) async fn audit(&self, e: CatalogEvent<'_>) {
        let draft = AuditEventDraft {
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
        };
        if let Err(error) = self.audit.record(draft).await {
            tracing::warn!(%error, event_type = e.event_type, "catalog: could not record its audit event");
        }
    }
}
