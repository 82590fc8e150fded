//! The event as every read returns it, and its leaf in the transparency log.
//!
//! The leaf input is the RFC 8785 canonical JSON of exactly this object, so anyone holding a
//! read event can recompute its leaf hash without our code. The field set is frozen per event
//! `version`: a later API that adds fields must still hash older versions over the fields
//! they had. The HTTP adapter's response type is checked against this form by a test.

use chrono::SecondsFormat;
use serde_json::{Map, Value};

use super::AuditEvent;
use crate::log::{Hash, jcs, merkle};

impl AuditEvent {
    /// The event object as `GET /api/v1/audit/events/{event_id}` returns it, without the
    /// fields that describe its later state in the store (`log_index`). Absent optional
    /// fields are absent, not null.
    pub fn read_form(&self) -> Map<String, Value> {
        let mut m = Map::new();
        let mut text = |name: &str, value: Option<&str>| {
            if let Some(v) = value {
                m.insert(name.to_owned(), Value::String(v.to_owned()));
            }
        };
        text("event_id", Some(&self.event_id.to_string()));
        text("version", Some(self.version.as_str()));
        text("event_type", Some(self.event_type.as_str()));
        text(
            "event_timestamp",
            Some(
                &self
                    .event_timestamp
                    .as_datetime()
                    .to_rfc3339_opts(SecondsFormat::AutoSi, true),
            ),
        );
        text("event_date", Some(&self.event_date().to_string()));
        text("event_category", Some(self.event_category.as_str()));
        text("event_action", Some(self.event_action.as_str()));
        text("event_outcome", Some(self.event_outcome.as_str()));
        text("actor_type", self.actor_type.as_ref().map(|v| v.as_str()));
        text("actor_id", self.actor_id.as_ref().map(|v| v.as_str()));
        text(
            "resource_type",
            self.resource_type.as_ref().map(|v| v.as_str()),
        );
        text("resource_id", self.resource_id.as_ref().map(|v| v.as_str()));
        text(
            "resource_name",
            self.resource_name.as_ref().map(|v| v.as_str()),
        );
        text("correlation_id", Some(self.correlation_id.as_str()));
        text(
            "parent_event_id",
            self.parent_event_id.map(|v| v.to_string()).as_deref(),
        );
        text(
            "parent_event_date",
            self.parent_event_date.map(|v| v.to_string()).as_deref(),
        );
        text("trace_id", self.trace_id.as_ref().map(|v| v.as_str()));
        text("span_id", self.span_id.as_ref().map(|v| v.as_str()));
        text("namespace", self.namespace.as_ref().map(|v| v.as_str()));
        text(
            "cluster_name",
            self.cluster_name.as_ref().map(|v| v.as_str()),
        );
        text("severity", self.severity.as_ref().map(|v| v.as_str()));
        text("error_code", self.error_code.as_ref().map(|v| v.as_str()));
        text(
            "error_message",
            self.error_message.as_ref().map(|v| v.as_str()),
        );
        if let Some(d) = self.duration_ms {
            m.insert("duration_ms".into(), Value::from(d.get()));
        }
        // Validated event data is always a JSON object; the fallback is never taken.
        let data = serde_json::from_str(self.event_data.as_json())
            .unwrap_or_else(|_| Value::Object(Map::new()));
        m.insert("event_data".into(), data);
        m.insert(
            "retention_days".into(),
            Value::from(self.retention_days.get()),
        );
        m.insert("is_sensitive".into(), Value::Bool(self.is_sensitive));
        m
    }

    /// The log's leaf input: RFC 8785 canonical JSON of [`AuditEvent::read_form`].
    pub fn leaf_input(&self) -> Vec<u8> {
        jcs::canonicalize(&Value::Object(self.read_form()))
    }

    /// RFC 9162 leaf hash of [`AuditEvent::leaf_input`].
    pub fn leaf_hash(&self) -> Hash {
        merkle::leaf_hash(&self.leaf_input())
    }
}
