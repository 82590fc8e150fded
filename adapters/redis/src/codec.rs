//! Queued events on the wire: a versioned JSON shape, decoded back through the domain's
//! constructors so a damaged entry is reported, never replayed half-right.

use datastorage_domain::audit::{
    AuditEvent, AuditEventDraft, EventDataText, EventId, EventRules, NewAuditEvent,
};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// A queued event as read back.
#[derive(Debug, Deserialize)]
struct QueuedEventV1 {
    event_id: String,
    version: String,
    event_type: String,
    event_timestamp: String,
    event_category: String,
    event_action: String,
    event_outcome: String,
    actor_type: Option<String>,
    actor_id: Option<String>,
    resource_type: Option<String>,
    resource_id: Option<String>,
    resource_name: Option<String>,
    correlation_id: String,
    parent_event_id: Option<String>,
    parent_event_date: Option<String>,
    trace_id: Option<String>,
    span_id: Option<String>,
    namespace: Option<String>,
    cluster_name: Option<String>,
    severity: Option<String>,
    duration_ms: Option<i64>,
    error_code: Option<String>,
    error_message: Option<String>,
    /// Read straight into canonical text, as the HTTP and PostgreSQL adapters read it.
    event_data: EventDataText,
    retention_days: i64,
    is_sensitive: bool,
}

/// The same shape as written: borrowed from the event, with event_data as the canonical
/// JSON text it already holds (no copy of the object, no second serialisation).
#[derive(Serialize)]
struct QueuedEventV1Ref<'a> {
    event_id: String,
    version: &'a str,
    event_type: &'a str,
    event_timestamp: String,
    event_category: &'a str,
    event_action: &'a str,
    event_outcome: &'a str,
    actor_type: Option<&'a str>,
    actor_id: Option<&'a str>,
    resource_type: Option<&'a str>,
    resource_id: Option<&'a str>,
    resource_name: Option<&'a str>,
    correlation_id: &'a str,
    parent_event_id: Option<String>,
    parent_event_date: Option<String>,
    trace_id: Option<&'a str>,
    span_id: Option<&'a str>,
    namespace: Option<&'a str>,
    cluster_name: Option<&'a str>,
    severity: Option<&'a str>,
    duration_ms: Option<i64>,
    error_code: Option<&'a str>,
    error_message: Option<&'a str>,
    event_data: &'a RawValue,
    retention_days: i64,
    is_sensitive: bool,
}

fn text<T: AsRef<str>>(v: &Option<T>) -> Option<&str> {
    v.as_ref().map(AsRef::as_ref)
}

impl<'a> QueuedEventV1Ref<'a> {
    fn new(e: &'a AuditEvent) -> Result<Self, serde_json::Error> {
        Ok(Self {
            event_id: e.event_id.to_string(),
            version: e.version.as_str(),
            event_type: e.event_type.as_str(),
            event_timestamp: e.event_timestamp.to_micros_text(),
            event_category: e.event_category.as_str(),
            event_action: e.event_action.as_str(),
            event_outcome: e.event_outcome.as_str(),
            actor_type: text(&e.actor_type),
            actor_id: text(&e.actor_id),
            resource_type: text(&e.resource_type),
            resource_id: text(&e.resource_id),
            resource_name: text(&e.resource_name),
            correlation_id: e.correlation_id.as_str(),
            parent_event_id: e.parent_event_id.map(|p| p.to_string()),
            parent_event_date: e.parent_event_date.map(|d| d.to_string()),
            trace_id: text(&e.trace_id),
            span_id: text(&e.span_id),
            namespace: text(&e.namespace),
            cluster_name: text(&e.cluster_name),
            severity: text(&e.severity),
            duration_ms: e.duration_ms.map(|d| d.get()),
            error_code: text(&e.error_code),
            error_message: text(&e.error_message),
            // Borrows the text after checking it is one JSON value (it always is).
            event_data: serde_json::from_str(e.event_data.as_json())?,
            retention_days: i64::from(e.retention_days.get()),
            is_sensitive: e.is_sensitive,
        })
    }
}

/// Encodes events for the queue. An error here is a bug, never a reason to queue less than
/// was given: the caller refuses the enqueue instead.
pub(crate) fn encode(events: &[NewAuditEvent]) -> Result<String, String> {
    let wire = events
        .iter()
        .map(|n| QueuedEventV1Ref::new(&n.event))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("cannot encode queued events: {e}"))?;
    serde_json::to_string(&wire).map_err(|e| format!("cannot encode queued events: {e}"))
}

/// Decodes queued events. Replayed events may already be stored, so every one is marked for
/// the idempotency check.
pub(crate) fn decode(json: &[u8]) -> Result<Vec<NewAuditEvent>, String> {
    let wire: Vec<QueuedEventV1> =
        serde_json::from_slice(json).map_err(|e| format!("not queued-event JSON: {e}"))?;
    let rules = EventRules::replay();
    let now = chrono::Utc::now();
    wire.into_iter()
        .map(|w| {
            let fallback = EventId::from_uuid(uuid::Uuid::nil());
            AuditEventDraft {
                event_id: Some(w.event_id),
                version: w.version,
                event_type: w.event_type,
                event_timestamp: w.event_timestamp,
                event_category: w.event_category,
                event_action: w.event_action,
                event_outcome: w.event_outcome,
                actor_type: w.actor_type,
                actor_id: w.actor_id,
                resource_type: w.resource_type,
                resource_id: w.resource_id,
                resource_name: w.resource_name,
                correlation_id: w.correlation_id,
                parent_event_id: w.parent_event_id,
                parent_event_date: w.parent_event_date,
                trace_id: w.trace_id,
                span_id: w.span_id,
                namespace: w.namespace,
                cluster_name: w.cluster_name,
                severity: w.severity,
                duration_ms: w.duration_ms,
                error_code: w.error_code,
                error_message: w.error_message,
                event_data: w.event_data.into(),
                retention_days: Some(w.retention_days),
                is_sensitive: Some(w.is_sensitive),
            }
            .validate(&rules, now, fallback)
            .map_err(|e| format!("invalid queued event: {e}"))
        })
        .collect()
}
