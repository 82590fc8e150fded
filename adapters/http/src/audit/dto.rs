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
    #[schema(min_length = 1, max_length = 20, example = "1.0")]
    pub version: String,
    /// Event type identifier.
    #[schema(min_length = 1, max_length = 100, example = "gateway.signal.received")]
    pub event_type: String,
    /// When the event occurred (RFC 3339 with offset). Must lie within the accepted window
    /// (by default at most 7 days old and 60 minutes ahead). It decides the event's partition.
    #[schema(value_type = String, format = DateTime, example = "2026-11-26T10:00:00Z")]
    pub event_timestamp: String,
    #[schema(value_type = EventCategoryDoc)]
    pub event_category: String,
    /// Action performed.
    #[schema(min_length = 1, max_length = 50, example = "received")]
    pub event_action: String,
    #[schema(value_type = EventOutcomeDoc)]
    pub event_outcome: String,
    #[schema(max_length = 50, example = "service")]
    pub actor_type: Option<String>,
    #[schema(max_length = 255, example = "gateway-service")]
    pub actor_id: Option<String>,
    #[schema(max_length = 100, example = "Signal")]
    pub resource_type: Option<String>,
    #[schema(max_length = 255, example = "fp-abc123")]
    pub resource_id: Option<String>,
    #[schema(max_length = 255)]
    pub resource_name: Option<String>,
    /// Links every event of one remediation.
    #[schema(min_length = 1, max_length = 255, example = "rr-2025-001")]
    pub correlation_id: String,
    #[schema(value_type = Option<String>, format = Uuid)]
    pub parent_event_id: Option<String>,
    #[schema(value_type = Option<String>, format = Date)]
    pub parent_event_date: Option<String>,
    #[schema(max_length = 128)]
    pub trace_id: Option<String>,
    #[schema(max_length = 128)]
    pub span_id: Option<String>,
    #[schema(max_length = 253)]
    pub namespace: Option<String>,
    #[schema(max_length = 255)]
    pub cluster_name: Option<String>,
    #[schema(max_length = 50, example = "critical")]
    pub severity: Option<String>,
    #[schema(minimum = 0)]
    pub duration_ms: Option<i64>,
    #[schema(max_length = 100)]
    pub error_code: Option<String>,
    #[schema(max_length = 8192)]
    pub error_message: Option<String>,
    /// Service-specific payload: a JSON object, at most 256 KiB serialised and 10 levels deep.
    #[schema(value_type = Object)]
    pub event_data: EventDataText,
    /// Days to keep the event (1 to 36500, default 2555).
    #[schema(minimum = 1, maximum = 36500)]
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
    pub actor_type: Option<&'a str>,
    pub actor_id: Option<&'a str>,
    pub resource_type: Option<&'a str>,
    pub resource_id: Option<&'a str>,
    pub resource_name: Option<&'a str>,
    pub correlation_id: &'a str,
    pub parent_event_id: Option<Uuid>,
    pub parent_event_date: Option<NaiveDate>,
    pub trace_id: Option<&'a str>,
    pub span_id: Option<&'a str>,
    pub namespace: Option<&'a str>,
    pub cluster_name: Option<&'a str>,
    pub severity: Option<&'a str>,
    pub duration_ms: Option<i64>,
    pub error_code: Option<&'a str>,
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

/// Query parameters of `GET /api/v1/audit/events`. Every filter is exact; all must hold.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditEventsParams {
    /// Filter by correlation id.
    #[param(example = "rr-2025-001")]
    pub correlation_id: Option<String>,
    /// Filter by event type.
    #[param(example = "notification.message.sent")]
    pub event_type: Option<String>,
    /// Filter by event category.
    #[param(value_type = Option<EventCategoryDoc>)]
    pub event_category: Option<String>,
    /// Filter by event outcome.
    #[param(value_type = Option<EventOutcomeDoc>)]
    pub event_outcome: Option<String>,
    /// Filter by severity.
    #[param(example = "critical")]
    pub severity: Option<String>,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    pub actor_id: Option<String>,
    /// Earliest event_timestamp (inclusive): RFC 3339, or relative to now like 90s, 15m,
    /// 24h, 7d.
    #[param(example = "24h")]
    pub since: Option<String>,
    /// Latest event_timestamp (inclusive): RFC 3339, or relative to now.
    #[param(example = "2026-11-26T23:59:59Z")]
    pub until: Option<String>,
    /// With detail_value: only events whose event_data has this top-level key...
    pub detail_key: Option<String>,
    /// ...with this value (a string, or the number/boolean/null it spells).
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
