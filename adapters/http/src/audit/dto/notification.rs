//! The original contract's notification audit record, stored as a unified audit event.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

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
