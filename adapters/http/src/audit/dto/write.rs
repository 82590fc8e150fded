//! What records events: the request, its closed values, and the answers to a write.

use chrono::{DateTime, Utc};
use datastorage_domain::audit::{AuditEventDraft, EventDataText};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// Service-level event category (ADR-034 v1.2).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = EventCategory)]
#[allow(dead_code)] // documents the accepted values; parsing lives in the domain
pub enum EventCategoryDoc {
    Gateway,
    Notification,
    Analysis,
    SignalProcessing,
    Workflow,
    Execution,
    Orchestration,
    #[serde(rename = "aiagent")]
    AiAgent,
    #[serde(rename = "workflowexecution")]
    WorkflowExecution,
    Approval,
    Effectiveness,
    #[serde(rename = "actiontype")]
    ActionType,
    #[serde(rename = "apifrontend")]
    ApiFrontend,
    Security,
    #[serde(rename = "agentsession")]
    AgentSession,
}

/// Result of the event.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = EventOutcome)]
#[allow(dead_code)]
pub enum EventOutcomeDoc {
    Success,
    Failure,
    Pending,
}

/// An audit event to record. Unknown fields are ignored.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AuditEventRequest {
    /// Client-assigned id for idempotent re-sends, unique within its `correlation_id`: the
    /// same id in the same correlation with the same content is stored once; with other
    /// content it is a 409. The same id in another correlation is another event. Omit it and
    /// the service assigns a UUIDv7.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub event_id: Option<String>,
    /// Schema version (e.g. "1.0").
    #[schema(
        min_length = 1,
        max_length = 20,
        example = "1.0",
        pattern = r"^[^\u0000]+$"
    )]
    pub version: String,
    /// Event type identifier.
    #[schema(
        min_length = 1,
        max_length = 100,
        example = "gateway.signal.received",
        pattern = r"^[^\u0000]+$"
    )]
    pub event_type: String,
    /// When the event occurred (RFC 3339 with offset). Must lie within the accepted window
    /// (by default at most 7 days old and 60 minutes ahead). It decides the event's partition.
    #[schema(value_type = String, format = DateTime, example = "2026-11-26T10:00:00Z")]
    pub event_timestamp: String,
    #[schema(value_type = EventCategoryDoc)]
    pub event_category: String,
    /// Action performed.
    #[schema(
        min_length = 1,
        max_length = 50,
        example = "received",
        pattern = r"^[^\u0000]+$"
    )]
    pub event_action: String,
    #[schema(value_type = EventOutcomeDoc)]
    pub event_outcome: String,
    #[schema(max_length = 50, example = "service", pattern = r"^[^\u0000]*$")]
    pub actor_type: Option<String>,
    #[schema(
        max_length = 255,
        example = "gateway-service",
        pattern = r"^[^\u0000]*$"
    )]
    pub actor_id: Option<String>,
    #[schema(max_length = 100, example = "Signal", pattern = r"^[^\u0000]*$")]
    pub resource_type: Option<String>,
    #[schema(max_length = 255, example = "fp-abc123", pattern = r"^[^\u0000]*$")]
    pub resource_id: Option<String>,
    #[schema(max_length = 255, pattern = r"^[^\u0000]*$")]
    pub resource_name: Option<String>,
    /// Links every event of one remediation.
    #[schema(
        min_length = 1,
        max_length = 255,
        example = "rr-2025-001",
        pattern = r"^[^\u0000]+$"
    )]
    pub correlation_id: String,
    /// The event this one follows from; never the event's own `event_id`.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub parent_event_id: Option<String>,
    #[schema(value_type = Option<String>, format = Date)]
    pub parent_event_date: Option<String>,
    #[schema(max_length = 128, pattern = r"^[^\u0000]*$")]
    pub trace_id: Option<String>,
    #[schema(max_length = 128, pattern = r"^[^\u0000]*$")]
    pub span_id: Option<String>,
    #[schema(max_length = 253, pattern = r"^[^\u0000]*$")]
    pub namespace: Option<String>,
    #[schema(max_length = 255, pattern = r"^[^\u0000]*$")]
    pub cluster_name: Option<String>,
    #[schema(max_length = 50, example = "critical", pattern = r"^[^\u0000]*$")]
    pub severity: Option<String>,
    #[schema(minimum = 0)]
    #[serde(default, deserialize_with = "crate::extract::whole_number")]
    pub duration_ms: Option<i64>,
    #[schema(max_length = 100, pattern = r"^[^\u0000]*$")]
    pub error_code: Option<String>,
    #[schema(max_length = 8192, pattern = r"^[^\u0000]*$")]
    pub error_message: Option<String>,
    /// Service-specific payload: a JSON object, at most 256 KiB serialised and 10 levels deep,
    /// with no NUL (`\u0000`) in any key or string.
    #[schema(value_type = Object)]
    pub event_data: EventDataText,
    /// Days to keep the event (1 to 36500, default 2555).
    #[schema(minimum = 1, maximum = 36500)]
    #[serde(default, deserialize_with = "crate::extract::whole_number")]
    pub retention_days: Option<i64>,
    /// Whether event_data holds sensitive information (default false).
    pub is_sensitive: Option<bool>,
}

impl From<AuditEventRequest> for AuditEventDraft {
    fn from(r: AuditEventRequest) -> Self {
        AuditEventDraft {
            event_id: r.event_id,
            version: r.version,
            event_type: r.event_type,
            event_timestamp: r.event_timestamp,
            event_category: r.event_category,
            event_action: r.event_action,
            event_outcome: r.event_outcome,
            actor_type: r.actor_type,
            actor_id: r.actor_id,
            resource_type: r.resource_type,
            resource_id: r.resource_id,
            resource_name: r.resource_name,
            correlation_id: r.correlation_id,
            parent_event_id: r.parent_event_id,
            parent_event_date: r.parent_event_date,
            trace_id: r.trace_id,
            span_id: r.span_id,
            namespace: r.namespace,
            cluster_name: r.cluster_name,
            severity: r.severity,
            duration_ms: r.duration_ms,
            error_code: r.error_code,
            error_message: r.error_message,
            event_data: r.event_data.into(),
            retention_days: r.retention_days,
            is_sensitive: r.is_sensitive,
        }
    }
}

/// What became of a write: `created` (201, committed), `exists` (200, an identical event was
/// already stored) or `accepted` (202, storage was down and the write is durably queued).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum WriteStatus {
    Created,
    Exists,
    Accepted,
}

impl From<datastorage_application::audit::WriteOutcome> for WriteStatus {
    fn from(o: datastorage_application::audit::WriteOutcome) -> Self {
        use datastorage_application::audit::WriteOutcome;
        match o {
            WriteOutcome::Created => WriteStatus::Created,
            WriteOutcome::AlreadyExists => WriteStatus::Exists,
            WriteOutcome::Queued => WriteStatus::Accepted,
        }
    }
}

/// A batch of audit events: 1 to 1000 (`DS_AUDIT__MAX_BATCH`), recorded all or nothing.
// Documents the body only; the handler reads a Vec<AuditEventRequest>.
pub struct AuditEventBatchDoc;

impl utoipa::PartialSchema for AuditEventBatchDoc {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ArrayBuilder::new()
            .items(utoipa::openapi::Ref::from_schema_name("AuditEventRequest"))
            .min_items(Some(1))
            .max_items(Some(1000))
            .description(Some(
                "1 to 1000 events (`DS_AUDIT__MAX_BATCH`), recorded all or nothing.",
            ))
            .into()
    }
}

impl ToSchema for AuditEventBatchDoc {
    fn name() -> std::borrow::Cow<'static, str> {
        "AuditEventBatch".into()
    }
}

/// The answer to a recorded event.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuditEventResponse {
    pub event_id: Uuid,
    pub event_timestamp: DateTime<Utc>,
    pub status: WriteStatus,
    #[schema(example = "audit event created")]
    pub message: String,
}

/// The answer to a recorded batch; ids in request order.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BatchAuditEventResponse {
    pub event_ids: Vec<Uuid>,
    pub status: WriteStatus,
    #[schema(example = "100 audit events created")]
    pub message: String,
}
