//! Wire shapes of the audit API. Field names follow the original contract
//! (`kubernaut-datastorage-v1.openapi.yaml`) so clients generated from it work unchanged.

use chrono::{DateTime, NaiveDate, Utc};
use datastorage_application::audit::CorrelationTrail;
use datastorage_domain::audit::{AuditEvent, AuditEventDraft, AuditPage, EventDataText};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
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
    /// Client-assigned id for idempotent re-sends: the same id with the same content is
    /// stored once; with other content it is a 409. Omit it and the service assigns a UUIDv7.
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

/// A stored audit event.
// Borrows every field from the event, so a page of them is written out without copying a string.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventDto<'a> {
    pub event_id: Uuid,
    pub version: &'a str,
    pub event_type: &'a str,
    pub event_timestamp: DateTime<Utc>,
    /// Partition date (UTC date of event_timestamp).
    pub event_date: NaiveDate,
    #[schema(value_type = EventCategoryDoc)]
    pub event_category: &'a str,
    pub event_action: &'a str,
    #[schema(value_type = EventOutcomeDoc)]
    pub event_outcome: &'a str,
    #[schema(nullable = false)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor_type: Option<&'a str>,
    #[schema(nullable = false)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor_id: Option<&'a str>,
    #[schema(nullable = false)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<&'a str>,
    #[schema(nullable = false)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<&'a str>,
    #[schema(nullable = false)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_name: Option<&'a str>,
    pub correlation_id: &'a str,
    #[schema(nullable = false)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_event_id: Option<Uuid>,
    #[schema(nullable = false)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_event_date: Option<NaiveDate>,
    #[schema(nullable = false)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<&'a str>,
    #[schema(nullable = false)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub span_id: Option<&'a str>,
    #[schema(nullable = false)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<&'a str>,
    #[schema(nullable = false)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_name: Option<&'a str>,
    #[schema(nullable = false)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<&'a str>,
    #[schema(nullable = false)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<i64>,
    #[schema(nullable = false)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<&'a str>,
    #[schema(nullable = false)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<&'a str>,
    #[schema(value_type = Object)]
    pub event_data: RawJson<'a>,
    pub retention_days: i32,
    pub is_sensitive: bool,
}

/// JSON text written out as it is (event_data's canonical text), instead of being read into a
/// value only to be written again.
#[derive(Debug)]
pub struct RawJson<'a>(&'a str);

impl Serialize for RawJson<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // serde_json writes a RawValue verbatim; borrowing one checks the text without
        // allocating.
        let raw: &serde_json::value::RawValue =
            serde_json::from_str(self.0).map_err(serde::ser::Error::custom)?;
        raw.serialize(serializer)
    }
}

fn text<T: AsRef<str>>(v: &Option<T>) -> Option<&str> {
    v.as_ref().map(AsRef::as_ref)
}

impl<'a> From<&'a AuditEvent> for AuditEventDto<'a> {
    fn from(e: &'a AuditEvent) -> Self {
        Self {
            event_id: *e.event_id.as_uuid(),
            version: e.version.as_str(),
            event_type: e.event_type.as_str(),
            event_timestamp: *e.event_timestamp.as_datetime(),
            event_date: e.event_date(),
            event_category: e.event_category.as_str(),
            event_action: e.event_action.as_str(),
            event_outcome: e.event_outcome.as_str(),
            actor_type: text(&e.actor_type),
            actor_id: text(&e.actor_id),
            resource_type: text(&e.resource_type),
            resource_id: text(&e.resource_id),
            resource_name: text(&e.resource_name),
            correlation_id: e.correlation_id.as_str(),
            parent_event_id: e.parent_event_id.map(|p| *p.as_uuid()),
            parent_event_date: e.parent_event_date,
            trace_id: text(&e.trace_id),
            span_id: text(&e.span_id),
            namespace: text(&e.namespace),
            cluster_name: text(&e.cluster_name),
            severity: text(&e.severity),
            duration_ms: e.duration_ms.map(|d| d.get()),
            error_code: text(&e.error_code),
            error_message: text(&e.error_message),
            event_data: RawJson(e.event_data.as_json()),
            retention_days: e.retention_days.get(),
            is_sensitive: e.is_sensitive,
        }
    }
}

/// Query parameters of `GET /api/v1/audit/events`. Every filter is exact; all must hold. An
/// empty parameter (`?severity=`) is no filter.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditEventsParams {
    /// Filter by correlation id.
    #[param(example = "rr-2025-001", max_length = 255, pattern = r"^[^\u0000]*$")]
    pub correlation_id: Option<String>,
    /// Filter by event type.
    #[param(
        example = "notification.message.sent",
        max_length = 100,
        pattern = r"^[^\u0000]*$"
    )]
    pub event_type: Option<String>,
    /// Filter by event category.
    #[param(schema_with = crate::openapi::category_filter_schema)]
    pub event_category: Option<String>,
    /// Filter by event outcome.
    #[param(schema_with = crate::openapi::outcome_filter_schema)]
    pub event_outcome: Option<String>,
    /// Filter by severity.
    #[param(example = "critical", max_length = 50, pattern = r"^[^\u0000]*$")]
    pub severity: Option<String>,
    #[param(max_length = 100, pattern = r"^[^\u0000]*$")]
    pub resource_type: Option<String>,
    #[param(max_length = 255, pattern = r"^[^\u0000]*$")]
    pub resource_id: Option<String>,
    #[param(max_length = 255, pattern = r"^[^\u0000]*$")]
    pub actor_id: Option<String>,
    /// Earliest event_timestamp (inclusive): RFC 3339, or relative to now like 90s, 15m,
    /// 24h, 7d.
    #[param(example = "24h", schema_with = crate::openapi::time_bound_schema)]
    pub since: Option<String>,
    /// Latest event_timestamp (inclusive): RFC 3339, or relative to now. Not earlier than
    /// since.
    #[param(example = "2026-11-26T23:59:59Z", schema_with = crate::openapi::time_bound_schema)]
    pub until: Option<String>,
    /// With detail_value (the two go together): only events whose event_data has this
    /// top-level key...
    #[param(max_length = 255, pattern = r"^[^\u0000]*$")]
    pub detail_key: Option<String>,
    /// ...with this value (a string, or the number/boolean/null it spells).
    #[param(max_length = 1024, pattern = r"^[^\u0000]*$")]
    pub detail_value: Option<String>,
    /// Page size (1-1000, default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000, default = 50)]
    pub limit: Option<String>,
    /// Events to skip (default 0). Not with cursor.
    #[param(value_type = Option<u64>, minimum = 0, default = 0)]
    pub offset: Option<String>,
    /// Keyset pagination: the next_cursor of the previous page. Stable while events are
    /// being added. Not with offset.
    pub cursor: Option<String>,
    /// Count every match into pagination.total (default true). Set false on large tables.
    #[param(value_type = Option<bool>, default = true)]
    pub include_total: Option<String>,
}

impl From<AuditEventsParams> for datastorage_application::audit::AuditQueryInput {
    fn from(p: AuditEventsParams) -> Self {
        Self {
            correlation_id: p.correlation_id,
            event_type: p.event_type,
            event_category: p.event_category,
            event_outcome: p.event_outcome,
            severity: p.severity,
            resource_type: p.resource_type,
            resource_id: p.resource_id,
            actor_id: p.actor_id,
            since: p.since,
            until: p.until,
            detail_key: p.detail_key,
            detail_value: p.detail_value,
            limit: p.limit,
            offset: p.offset,
            cursor: p.cursor,
            include_total: p.include_total,
        }
    }
}

/// Pagination of a query answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Pagination {
    /// Maximum number of events per page.
    pub limit: u32,
    /// Number of events skipped (0 with cursor pagination).
    pub offset: u64,
    /// Number of events matching the query; absent when include_total=false.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
    /// Whether more events match beyond this page.
    pub has_more: bool,
    /// Pass as `cursor` to get the next page; present when has_more.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// One page of audit events, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventsQueryResponse<'a> {
    pub data: Vec<AuditEventDto<'a>>,
    pub pagination: Pagination,
}

impl<'a> AuditEventsQueryResponse<'a> {
    pub fn new(page: &'a AuditPage, limit: u32, offset: u64) -> Self {
        Self {
            data: page.events.iter().map(AuditEventDto::from).collect(),
            pagination: Pagination {
                limit,
                offset,
                total: page.total,
                has_more: page.has_more,
                next_cursor: page.next_cursor.map(|c| c.encode()),
            },
        }
    }
}

/// One event of a correlation trail, in depth-first order.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrailEvent<'a> {
    /// 0 for a root (no parent, or a parent outside this correlation).
    pub depth: u32,
    /// Ids of the direct children, oldest first.
    pub children: Vec<Uuid>,
    pub event: AuditEventDto<'a>,
}

/// A correlation's events as a parent/child tree, flattened in depth-first pre-order: each
/// parent comes before its children; siblings and roots are oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct CorrelationTrailResponse<'a> {
    pub correlation_id: &'a str,
    /// True when the trail has more events than the service returns at once.
    pub truncated: bool,
    pub events: Vec<TrailEvent<'a>>,
}

impl<'a> From<&'a CorrelationTrail> for CorrelationTrailResponse<'a> {
    fn from(t: &'a CorrelationTrail) -> Self {
        Self {
            correlation_id: t.correlation_id.as_str(),
            truncated: t.truncated,
            events: t
                .nodes
                .iter()
                .map(|n| TrailEvent {
                    depth: n.depth,
                    children: n.children.iter().map(|c| *c.as_uuid()).collect(),
                    event: AuditEventDto::from(&n.event),
                })
                .collect(),
        }
    }
}

/// Delivery channel of a notification.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = NotificationChannel)]
#[allow(dead_code)] // documents the accepted values; parsing lives in the domain
pub enum NotificationChannelDoc {
    Email,
    Slack,
    Pagerduty,
    Webhook,
}

/// Delivery status of a notification.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = NotificationStatus)]
#[allow(dead_code)]
pub enum NotificationStatusDoc {
    Sent,
    Failed,
    Pending,
}

/// A notification delivery attempt (the original contract's `NotificationAudit`). Stored as
/// a unified audit event: category `notification`, correlation `remediation_id`, type
/// `notification.message.<status>`, the record's fields in `event_data`. Unknown fields are
/// ignored.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = NotificationAudit)]
pub struct NotificationAuditRequest {
    /// The remediation (RemediationRequest name) this notification belongs to; the stored
    /// event's correlation id.
    #[schema(
        min_length = 1,
        max_length = 255,
        pattern = r"^[^\u0000]+$",
        example = "remediation-123"
    )]
    pub remediation_id: String,
    /// Unique per notification: the same id with the same content is stored once; with
    /// other content it is a 409.
    #[schema(
        min_length = 1,
        max_length = 255,
        pattern = r"^[^\u0000]+$",
        example = "notification-456"
    )]
    pub notification_id: String,
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = r"^[^\u0000]+$",
        example = "ops-team@example.com"
    )]
    pub recipient: String,
    #[schema(value_type = NotificationChannelDoc)]
    pub channel: String,
    #[schema(
        min_length = 1,
        max_length = 1000,
        pattern = r"^[^\u0000]+$",
        example = "Incident alert: High CPU usage on pod xyz"
    )]
    pub message_summary: String,
    #[schema(value_type = NotificationStatusDoc)]
    pub status: String,
    /// When it was sent (RFC 3339 with offset); the stored event's `event_timestamp`, so it
    /// must lie within the accepted window like every event's.
    #[schema(value_type = String, format = DateTime, example = "2026-12-05T12:00:00Z")]
    pub sent_at: String,
    #[schema(max_length = 255, pattern = r"^[^\u0000]*$", example = "200 OK")]
    pub delivery_status: Option<String>,
    #[schema(max_length = 1000, pattern = r"^[^\u0000]*$")]
    pub error_message: Option<String>,
    /// 0 for the first attempt (default), 1+ when escalated.
    #[schema(minimum = 0, maximum = 5, default = 0)]
    #[serde(default, deserialize_with = "crate::extract::whole_number")]
    pub escalation_level: Option<i64>,
}

impl From<NotificationAuditRequest> for datastorage_domain::audit::NotificationDraft {
    fn from(r: NotificationAuditRequest) -> Self {
        Self {
            remediation_id: r.remediation_id,
            notification_id: r.notification_id,
            recipient: r.recipient,
            channel: r.channel,
            message_summary: r.message_summary,
            status: r.status,
            sent_at: r.sent_at,
            delivery_status: r.delivery_status,
            error_message: r.error_message,
            escalation_level: r.escalation_level,
        }
    }
}

/// The recorded notification (the original's `NotificationAuditResponse`), plus the id of
/// the audit event that holds it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NotificationAuditResponse {
    /// A stable positive number derived from notification_id (the original's row id).
    #[schema(format = Int64, minimum = 1)]
    pub id: i64,
    /// The audit event that holds this record (`GET /api/v1/audit/events/{event_id}`).
    pub event_id: Uuid,
    pub remediation_id: String,
    pub notification_id: String,
    pub recipient: String,
    #[schema(value_type = NotificationChannelDoc)]
    pub channel: String,
    pub message_summary: String,
    #[schema(value_type = NotificationStatusDoc)]
    pub status: String,
    pub sent_at: DateTime<Utc>,
    #[schema(nullable = false)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_status: Option<String>,
    #[schema(nullable = false)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    #[schema(minimum = 0, maximum = 5)]
    pub escalation_level: u8,
    /// When this answer was written (the record is immutable, so also its last update).
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl NotificationAuditResponse {
    pub fn new(record: &datastorage_domain::audit::NotificationRecord, at: DateTime<Utc>) -> Self {
        Self {
            id: record.record_id(),
            event_id: *record.event_id().as_uuid(),
            remediation_id: record.remediation_id.clone(),
            notification_id: record.notification_id.clone(),
            recipient: record.recipient.clone(),
            channel: record.channel.as_str().into(),
            message_summary: record.message_summary.clone(),
            status: record.status.as_str().into(),
            sent_at: record.sent_at,
            delivery_status: record.delivery_status.clone(),
            error_message: record.error_message.clone(),
            escalation_level: record.escalation_level,
            created_at: at,
            updated_at: at,
        }
    }
}
