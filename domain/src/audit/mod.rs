//! Audit events: what happened, who did it, to which resource, linked by a correlation id.

mod effectiveness;
mod event;
mod event_data;
mod event_data_text;
mod fields;
mod notification;
mod query;
mod read_form;
mod trail;

pub use effectiveness::{
    ALERT_WEIGHT, AssessmentStatus, ComponentAssessment, Effectiveness, EffectivenessFold,
    HEALTH_WEIGHT, HashComparison, METRICS_WEIGHT, SPEC_DRIFT, assess, event_types,
};
pub use event::{
    AuditEvent, AuditEventDraft, DEFAULT_RETENTION_DAYS, EventIdOrigin, EventRules, NewAuditEvent,
    RetentionDefaults,
};
pub use event_data::{EventData, EventDataInput};
pub use event_data_text::EventDataText;
pub use fields::{
    ActorId, ActorType, ClusterName, CorrelationId, DurationMs, ErrorCode, ErrorMessage,
    EventAction, EventCategory, EventId, EventOutcome, EventTimestamp, EventType, Namespace,
    ResourceId, ResourceName, ResourceType, RetentionDays, SchemaVersion, Severity, SpanId,
    TraceId,
};
pub use notification::{
    NotificationChannel, NotificationDraft, NotificationRecord, NotificationStatus,
};
pub use query::{
    AuditFilter, AuditPage, AuditQuery, Cursor, DetailMatch, MAX_PAGE_LIMIT, PageLimit,
    PagePosition, parse_time_bound,
};
pub use trail::{TrailNode, build_trail};
