//! The validated fields of an audit event. Each type can only hold a value that obeys the
//! wire contract's limits, so code past the edge never re-checks them.

use std::fmt;

use chrono::{DateTime, NaiveDate, SubsecRound, Utc};
use uuid::Uuid;

use crate::{Reason, ValidationErrors};

/// Rejects text that PostgreSQL cannot store (`text` and `jsonb` refuse NUL), so that every
/// adapter accepts exactly the same inputs.
fn check_storable(field: &str, value: &str) -> Result<(), ValidationErrors> {
    if value.contains('\0') {
        return Err(ValidationErrors::single(
            field,
            "must not contain the NUL character (\\u0000)",
        ));
    }
    Ok(())
}

macro_rules! bounded_text {
    ($(#[$doc:meta])* $name:ident, $field:literal, $max:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Wire name of the field this type validates.
            pub const FIELD: &'static str = $field;
            /// Longest accepted value, in characters.
            pub const MAX_CHARS: usize = $max;

            /// Accepts 1 to `MAX_CHARS` characters, none of them NUL.
            pub fn parse(value: impl Into<String>) -> Result<Self, ValidationErrors> {
                let value = value.into();
                if value.is_empty() {
                    return Err(ValidationErrors::single($field, "must not be empty"));
                }
                // No more characters than bytes: only a long value needs counting.
                if value.len() > $max {
                    let chars = value.chars().count();
                    if chars > $max {
                        return Err(ValidationErrors::single_because(
                            $field, Reason::OutOfRange,
                            format!("must be at most {} characters (got {chars})", $max)));
                    }
                }
                check_storable($field, &value)?;
                Ok(Self(value))
            }

            /// Like [`Self::parse`], but an absent or empty value means "not given".
            pub fn parse_optional(value: Option<String>) -> Result<Option<Self>, ValidationErrors> {
                match value {
                    None => Ok(None),
                    Some(v) if v.is_empty() => Ok(None),
                    Some(v) => Self::parse(v).map(Some),
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_inner(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

bounded_text!(
    /// Schema version of the event payload, e.g. `1.0`.
    SchemaVersion, "version", 20
);
bounded_text!(
    /// Event type identifier, e.g. `gateway.signal.received`.
    EventType, "event_type", 100
);
bounded_text!(
    /// The action performed, e.g. `received`.
    EventAction, "event_action", 50
);
bounded_text!(
    /// Links every event of one remediation.
    CorrelationId, "correlation_id", 255
);
bounded_text!(ActorType, "actor_type", 50);
bounded_text!(ActorId, "actor_id", 255);
bounded_text!(ResourceType, "resource_type", 100);
bounded_text!(ResourceId, "resource_id", 255);
bounded_text!(ResourceName, "resource_name", 255);
bounded_text!(TraceId, "trace_id", 128);
bounded_text!(SpanId, "span_id", 128);
bounded_text!(
    /// Kubernetes namespace (DNS label rules allow up to 253 characters).
    Namespace, "namespace", 253
);
bounded_text!(ClusterName, "cluster_name", 255);
bounded_text!(Severity, "severity", 50);
bounded_text!(ErrorCode, "error_code", 100);
bounded_text!(ErrorMessage, "error_message", 8192);

/// Identity of an audit event. Server-assigned ids are UUIDv7 (time-ordered).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventId(Uuid);

impl EventId {
    pub const fn from_uuid(id: Uuid) -> Self {
        Self(id)
    }

    pub fn parse(value: &str) -> Result<Self, ValidationErrors> {
        Uuid::parse_str(value).map(Self).map_err(|_| {
            ValidationErrors::single_because("event_id", Reason::WrongType, "must be a UUID")
        })
    }

    pub const fn as_uuid(&self) -> &Uuid {
        &self.0
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

macro_rules! closed_enum {
    ($(#[$doc:meta])* $name:ident, $field:literal, { $($variant:ident => $wire:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub const fn as_str(&self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }

            pub fn parse(value: &str) -> Result<Self, ValidationErrors> {
                match value {
                    $($wire => Ok($name::$variant),)+
                    other => Err(ValidationErrors::single_because(
                        $field, Reason::UnknownValue,
                        format!(
                            "unknown value {other:?}; expected one of: {}",
                            [$($wire),+].join(", ")
                        ))),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

closed_enum!(
    /// The service that emitted the event (ADR-034 v1.2, plus the categories the original's
    /// producers send today).
    EventCategory, "event_category", {
        Gateway => "gateway",
        Notification => "notification",
        Analysis => "analysis",
        SignalProcessing => "signalprocessing",
        Workflow => "workflow",
        Execution => "execution",
        Orchestration => "orchestration",
        // The categories the original's producers added after the Dec-2025 contract.
        AiAgent => "aiagent",
        WorkflowExecution => "workflowexecution",
        Approval => "approval",
        Effectiveness => "effectiveness",
        ActionType => "actiontype",
        ApiFrontend => "apifrontend",
        Security => "security",
        AgentSession => "agentsession",
    }
);

closed_enum!(
    /// The result of the event.
    EventOutcome, "event_outcome", {
        Success => "success",
        Failure => "failure",
        Pending => "pending",
    }
);

/// When the event happened, in UTC, truncated to microseconds (PostgreSQL's precision), so
/// every adapter stores and orders the same instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventTimestamp(DateTime<Utc>);

impl EventTimestamp {
    pub fn new(at: DateTime<Utc>) -> Self {
        Self(at.trunc_subsecs(6))
    }

    pub const fn as_datetime(&self) -> &DateTime<Utc> {
        &self.0
    }

    /// The partition key. Derived from the client's timestamp, never from the server clock,
    /// so a retried or replayed write lands in the same partition.
    pub fn partition_date(&self) -> NaiveDate {
        self.0.date_naive()
    }

    /// The instant as chrono's `%Y-%m-%dT%H:%M:%S%.6fZ` prints it: the text the content hash
    /// covers and the dead-letter queue stores. Written with integer formatting, because
    /// parsing that pattern for every event was a tenth of the hash's cost.
    pub fn to_micros_text(&self) -> String {
        use chrono::{Datelike, Timelike};
        use std::fmt::Write as _;
        let at = &self.0;
        // chrono prints these its own way: years past four digits, leap seconds.
        if !(0..=9999).contains(&at.year()) || at.nanosecond() >= 1_000_000_000 {
            return at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
        }
        let mut text = String::with_capacity(27);
        // Writing to a String cannot fail.
        let _ = write!(
            text,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
            at.year(),
            at.month(),
            at.day(),
            at.hour(),
            at.minute(),
            at.second(),
            at.nanosecond() / 1_000
        );
        text
    }
}

/// Milliseconds an operation took; never negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DurationMs(i64);

impl DurationMs {
    pub fn parse(value: i64) -> Result<Self, ValidationErrors> {
        if value < 0 {
            return Err(ValidationErrors::single(
                "duration_ms",
                "must be zero or positive",
            ));
        }
        Ok(Self(value))
    }

    pub const fn get(&self) -> i64 {
        self.0
    }
}

/// How long the event must be kept, in days (1 to 36,500).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RetentionDays(i32);

impl RetentionDays {
    pub const MAX: i64 = 36_500;

    pub fn parse(value: i64) -> Result<Self, ValidationErrors> {
        if !(1..=Self::MAX).contains(&value) {
            return Err(ValidationErrors::single_because(
                "retention_days",
                Reason::OutOfRange,
                format!("must be between 1 and {}", Self::MAX),
            ));
        }
        // In range of i32 by the check above.
        Ok(Self(value as i32))
    }

    pub const fn get(&self) -> i32 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn bounded_text_accepts_exactly_the_allowed_lengths(s in "[^\u{0}]{0,120}") {
            let chars = s.chars().count();
            let parsed = EventType::parse(s.clone());
            prop_assert_eq!(parsed.is_ok(), (1..=100).contains(&chars));
            if let Ok(v) = parsed {
                prop_assert_eq!(v.as_str(), s.as_str());
            }
        }

        #[test]
        fn bounded_text_never_holds_nul(prefix in "[a-z]{0,10}", suffix in "[a-z]{0,10}") {
            let value = format!("{prefix}\0{suffix}");
            prop_assert!(CorrelationId::parse(value).is_err());
        }

        #[test]
        fn retention_days_accepts_only_its_range(days in -10i64..40_000) {
            prop_assert_eq!(RetentionDays::parse(days).is_ok(), (1..=36_500).contains(&days));
        }

        #[test]
        fn duration_is_never_negative(ms in i64::MIN..i64::MAX) {
            prop_assert_eq!(DurationMs::parse(ms).is_ok(), ms >= 0);
        }


        #[test]
        fn timestamps_are_truncated_to_microseconds(nanos in 0u32..1_000_000_000) {
            let at = DateTime::from_timestamp(1_700_000_000, nanos).unwrap_or_default();
            let ts = EventTimestamp::new(at);
            prop_assert_eq!(ts.as_datetime().timestamp_subsec_nanos() % 1000, 0);
            prop_assert!(*ts.as_datetime() <= at);
        }
    }

    #[test]
    fn every_category_the_producers_send_is_accepted() {
        let sent = [
            "gateway",
            "notification",
            "analysis",
            "signalprocessing",
            "workflow",
            "orchestration",
            "execution",
            "aiagent",
            "workflowexecution",
            "approval",
            "effectiveness",
            "actiontype",
            "apifrontend",
            "security",
            "agentsession",
        ];
        for name in sent {
            let parsed = EventCategory::parse(name).map(|c| c.as_str());
            assert_eq!(parsed.ok(), Some(name), "{name}");
        }
        assert_eq!(EventCategory::ALL.len(), sent.len());
        assert!(EventCategory::parse("Effectiveness").is_err());
    }

    #[test]
    fn closed_enums_name_the_allowed_values() {
        let err = EventCategory::parse("billing").unwrap_err();
        assert!(err.to_string().contains("gateway"));
        assert_eq!(
            EventOutcome::parse("pending").ok(),
            Some(EventOutcome::Pending)
        );
    }
}
