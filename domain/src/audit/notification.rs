//! A notification delivery attempt (the original contract's `NotificationAudit`), recorded as
//! one unified audit event rather than a row of a table of its own: it is queried, replayed
//! from the dead-letter queue and kept like every other event.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value};

use super::{AuditEventDraft, EventId};
use crate::{Reason, ValidationErrors};

macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident, $field:literal, { $($variant:ident => $wire:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [&'static str] = &[$($wire),+];

            fn parse(value: &str, errors: &mut ValidationErrors) -> Option<Self> {
                match value {
                    $($wire => Some($name::$variant),)+
                    _ => {
                        errors.push_because(
                            $field, Reason::UnknownValue,
                            format!("unknown value {value:?}; expected one of: {}", Self::ALL.join(", ")));
                        None
                    }
                }
            }

            pub const fn as_str(&self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }
        }
    };
}

wire_enum!(
    /// How the notification was delivered.
    NotificationChannel, "channel", {
        Email => "email",
        Slack => "slack",
        Pagerduty => "pagerduty",
        Webhook => "webhook",
    }
);

wire_enum!(
    /// What became of the delivery.
    NotificationStatus, "status", {
        Sent => "sent",
        Failed => "failed",
        Pending => "pending",
    }
);

impl NotificationStatus {
    /// The unified event's outcome for this status.
    const fn outcome(&self) -> &'static str {
        match self {
            NotificationStatus::Sent => "success",
            NotificationStatus::Failed => "failure",
            NotificationStatus::Pending => "pending",
        }
    }
}

/// A notification audit record as the client sent it.
#[derive(Debug, Clone, PartialEq)]
pub struct NotificationDraft {
    pub remediation_id: String,
    pub notification_id: String,
    pub recipient: String,
    pub channel: String,
    pub message_summary: String,
    pub status: String,
    /// RFC 3339 with an offset.
    pub sent_at: String,
    pub delivery_status: Option<String>,
    pub error_message: Option<String>,
    pub escalation_level: Option<i64>,
}

/// A notification audit record that keeps the original contract's rules.
#[derive(Debug, Clone, PartialEq)]
pub struct NotificationRecord {
    pub remediation_id: String,
    pub notification_id: String,
    pub recipient: String,
    pub channel: NotificationChannel,
    pub message_summary: String,
    pub status: NotificationStatus,
    pub sent_at: DateTime<Utc>,
    pub delivery_status: Option<String>,
    pub error_message: Option<String>,
    pub escalation_level: u8,
}

/// The field lengths of the original contract (in characters).
const MAX_ID: usize = 255;
const MAX_RECIPIENT: usize = 500;
const MAX_SUMMARY: usize = 1000;
const MAX_DELIVERY_STATUS: usize = 255;
const MAX_ERROR: usize = 1000;
pub const MAX_ESCALATION_LEVEL: i64 = 5;

impl NotificationDraft {
    pub fn validate(self) -> Result<NotificationRecord, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let remediation_id = errors.required_text("remediation_id", self.remediation_id, MAX_ID);
        let notification_id = errors.required_text("notification_id", self.notification_id, MAX_ID);
        let recipient = errors.required_text("recipient", self.recipient, MAX_RECIPIENT);
        let channel = NotificationChannel::parse(&self.channel, &mut errors);
        let message_summary =
            errors.required_text("message_summary", self.message_summary, MAX_SUMMARY);
        let status = NotificationStatus::parse(&self.status, &mut errors);
        let sent_at = match DateTime::parse_from_rfc3339(&self.sent_at) {
            Ok(t) => Some(t.with_timezone(&Utc)),
            Err(_) => {
                errors.push("sent_at", "must be an RFC 3339 date-time with an offset");
                None
            }
        };
        let delivery_status =
            errors.optional_text("delivery_status", self.delivery_status, MAX_DELIVERY_STATUS);
        let error_message = errors.optional_text("error_message", self.error_message, MAX_ERROR);
        let escalation_level = match self.escalation_level.unwrap_or(0) {
            n @ 0..=MAX_ESCALATION_LEVEL => Some(n as u8),
            _ => {
                errors.push_because(
                    "escalation_level",
                    Reason::OutOfRange,
                    format!("must be between 0 and {MAX_ESCALATION_LEVEL}"),
                );
                None
            }
        };
        match (channel, status, sent_at, escalation_level) {
            (Some(channel), Some(status), Some(sent_at), Some(escalation_level))
                if errors.is_empty() =>
            {
                Ok(NotificationRecord {
                    remediation_id,
                    notification_id,
                    recipient,
                    channel,
                    message_summary,
                    status,
                    sent_at,
                    delivery_status,
                    error_message,
                    escalation_level,
                })
            }
            _ => Err(errors),
        }
    }
}

impl NotificationRecord {
    /// The stored event's id: the same notification id always names the same event, so a
    /// re-sent record is the idempotent repeat of one event and other content under the same
    /// notification id is a conflict (the original's unique `notification_id`).
    pub fn event_id(&self) -> EventId {
        let digest = self.digest();
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        // A name-based UUID: version 8 (custom), RFC 9562 variant.
        let uuid = uuid::Builder::from_custom_bytes(bytes).into_uuid();
        EventId::from_uuid(uuid)
    }

    /// The original contract's integer `id`: a positive number derived from the notification
    /// id like [`Self::event_id`], so a repeat answers with the same id.
    pub fn record_id(&self) -> i64 {
        let digest = self.digest();
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&digest[16..24]);
        // The top bit cleared keeps it positive; zero is moved to one.
        (u64::from_be_bytes(bytes) >> 1).max(1) as i64
    }

    fn digest(&self) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        hasher.update(b"datastorage/notification-audit/v1\0");
        hasher.update(self.notification_id.as_bytes());
        hasher.finalize().into()
    }

    /// The unified audit event that records this notification.
    pub fn to_event(&self) -> AuditEventDraft {
        let mut data = Map::new();
        data.insert(
            "notification_id".into(),
            self.notification_id.clone().into(),
        );
        data.insert("recipient".into(), self.recipient.clone().into());
        data.insert("channel".into(), self.channel.as_str().into());
        data.insert(
            "message_summary".into(),
            self.message_summary.clone().into(),
        );
        data.insert("status".into(), self.status.as_str().into());
        if let Some(d) = &self.delivery_status {
            data.insert("delivery_status".into(), d.clone().into());
        }
        if let Some(e) = &self.error_message {
            data.insert("error_message".into(), e.clone().into());
        }
        data.insert("escalation_level".into(), self.escalation_level.into());
        AuditEventDraft {
            event_id: Some(self.event_id().as_uuid().to_string()),
            version: "1.0".into(),
            event_type: format!("notification.message.{}", self.status.as_str()),
            event_timestamp: self.sent_at.to_rfc3339_opts(SecondsFormat::AutoSi, true),
            event_category: "notification".into(),
            event_action: self.status.as_str().into(),
            event_outcome: self.status.outcome().into(),
            actor_type: Some("service".into()),
            actor_id: Some("notification".into()),
            resource_type: Some("Notification".into()),
            resource_id: Some(self.notification_id.clone()),
            correlation_id: self.remediation_id.clone(),
            error_message: self.error_message.clone(),
            event_data: Value::Object(data).into(),
            ..AuditEventDraft::default()
        }
    }

    /// Renames an event field in a validation error to the notification field it came from,
    /// so a refused record names what the client sent.
    pub fn field_of_event(field: &str) -> &str {
        match field {
            "event_timestamp" => "sent_at",
            "correlation_id" => "remediation_id",
            "resource_id" => "notification_id",
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft() -> NotificationDraft {
        NotificationDraft {
            remediation_id: "remediation-123".into(),
            notification_id: "notification-456".into(),
            recipient: "ops-team@example.com".into(),
            channel: "email".into(),
            message_summary: "Incident alert".into(),
            status: "sent".into(),
            sent_at: "2026-12-05T12:00:00Z".into(),
            delivery_status: Some("200 OK".into()),
            error_message: None,
            escalation_level: None,
        }
    }

    #[test]
    fn the_same_notification_id_names_the_same_event_whatever_else_changes() {
        let a = draft().validate().unwrap();
        let b = NotificationDraft {
            status: "failed".into(),
            ..draft()
        }
        .validate()
        .unwrap();
        let c = NotificationDraft {
            notification_id: "notification-457".into(),
            ..draft()
        }
        .validate()
        .unwrap();
        assert_eq!(a.event_id(), b.event_id());
        assert_eq!(a.record_id(), b.record_id());
        assert_ne!(a.event_id(), c.event_id());
        assert_ne!(a.record_id(), c.record_id());
        assert!(a.record_id() > 0);
        assert_eq!(a.event_id().as_uuid().get_version_num(), 8);
    }

    #[test]
    fn a_record_becomes_a_notification_event_of_its_remediation() {
        let event = draft().validate().unwrap().to_event();
        assert_eq!(event.event_category, "notification");
        assert_eq!(event.event_type, "notification.message.sent");
        assert_eq!(event.event_outcome, "success");
        assert_eq!(event.correlation_id, "remediation-123");
        assert_eq!(event.event_timestamp, "2026-12-05T12:00:00Z");
        assert_eq!(event.resource_id.as_deref(), Some("notification-456"));
    }

    #[test]
    fn every_rule_of_the_original_contract_is_checked() {
        let bad = NotificationDraft {
            remediation_id: String::new(),
            notification_id: "x".repeat(256),
            recipient: "a\0b".into(),
            channel: "fax".into(),
            message_summary: "m".repeat(1001),
            status: "lost".into(),
            sent_at: "yesterday".into(),
            delivery_status: Some("d".repeat(256)),
            error_message: Some("e".repeat(1001)),
            escalation_level: Some(6),
        }
        .validate()
        .unwrap_err();
        let fields: Vec<&str> = bad.errors().iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "remediation_id",
                "notification_id",
                "recipient",
                "channel",
                "message_summary",
                "status",
                "sent_at",
                "delivery_status",
                "error_message",
                "escalation_level"
            ]
        );
    }
}
