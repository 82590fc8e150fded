//! What reads events: a stored event, the query and its page, a correlation's trail.

use chrono::{DateTime, NaiveDate, Utc};
use datastorage_application::audit::CorrelationTrail;
use datastorage_domain::audit::{AuditEvent, AuditPage};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::*;

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
    /// The event's leaf index in the transparency log; absent until it is sequenced (within
    /// about a second of its commit). Not part of the leaf it indexes.
    #[schema(nullable = false, minimum = 0)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_index: Option<u64>,
}

impl AuditEventDto<'_> {
    /// Sets `log_index` on each event that has one.
    pub fn index_all<'x, 'a: 'x>(
        events: impl IntoIterator<Item = &'x mut AuditEventDto<'a>>,
        indexes: &std::collections::HashMap<datastorage_domain::audit::EventId, u64>,
    ) {
        for dto in events {
            let id = datastorage_domain::audit::EventId::from_uuid(dto.event_id);
            dto.log_index = indexes.get(&id).copied();
        }
    }
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
            log_index: None,
        }
    }
}

/// A time bound of the audit query: an RFC 3339 date-time, a span back from now (`90s`,
/// `15m`, `24h`, `7d`), or empty (no bound).
pub fn time_bound_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, OneOfBuilder, SchemaFormat, Type};
    let string = || ObjectBuilder::new().schema_type(Type::String);
    OneOfBuilder::new()
        .item(string().format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime))))
        .item(
            string()
                .pattern(Some("^[0-9]{1,6}[smhd]$"))
                .description(Some("A span back from now: 90s, 15m, 24h, 7d")),
        )
        .item(string().max_length(Some(0)).description(Some("No bound")))
        .build()
        .into()
}

/// A query filter over a closed set of values, where an empty value is no filter.
fn empty_or(schema_name: &str) -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
    OneOfBuilder::new()
        .item(utoipa::openapi::Ref::from_schema_name(schema_name))
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .max_length(Some(0))
                .description(Some("No filter")),
        )
        .build()
        .into()
}

pub fn category_filter_schema() -> utoipa::openapi::schema::Schema {
    empty_or("EventCategory")
}

pub fn outcome_filter_schema() -> utoipa::openapi::schema::Schema {
    empty_or("EventOutcome")
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
    #[param(schema_with = category_filter_schema)]
    pub event_category: Option<String>,
    /// Filter by event outcome.
    #[param(schema_with = outcome_filter_schema)]
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
    #[param(example = "24h", schema_with = time_bound_schema)]
    pub since: Option<String>,
    /// Latest event_timestamp (inclusive): RFC 3339, or relative to now. Not earlier than
    /// since.
    #[param(example = "2026-11-26T23:59:59Z", schema_with = time_bound_schema)]
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
