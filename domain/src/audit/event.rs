//! The audit event aggregate: an unvalidated draft, the rules it must meet, and the validated
//! event that every adapter stores.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sha2::{Digest, Sha256};

use super::event_data::{EventData, EventDataInput};
use super::fields::*;
use crate::{Reason, ValidationErrors};

/// Retention applied when the client does not say (seven years, the original contract's).
pub const DEFAULT_RETENTION_DAYS: i64 = 2555;

/// Declares the audit event's fields once: each as the client sends it (the draft) and as
/// the domain holds it once valid (the event), in the order of every contract.
macro_rules! audit_event_fields {
    ($( $(#[$doc:meta])* $name:ident: $draft:ty => $event:ty, )+) => {
        /// An audit event as the client sent it: typed, but not yet checked against any rule.
        /// Inbound adapters build it; [`AuditEventDraft::validate`] is the only way to an event.
        /// `Default` is every field empty (not a valid event), so that code building a draft
        /// names only the fields it sets.
        #[derive(Debug, Clone, Default, PartialEq)]
        pub struct AuditEventDraft {
            $( $(#[$doc])* pub $name: $draft, )+
        }

        /// A validated audit event. Every field obeys the contract; stored and read back
        /// unchanged.
        #[derive(Debug, Clone, PartialEq)]
        pub struct AuditEvent {
            $( $(#[$doc])* pub $name: $event, )+
        }

        impl AuditEventDraft {
            /// The fields of an audit event, as every contract spells them: the HTTP request
            /// and response, the `audit_events` row, the dead-letter queue's entries. The
            /// contracts add only what describes the store (`event_date`, `content_hash`,
            /// `log_index`, ...); the integration test `contracts` fails when a contract
            /// drifts from this list.
            pub const FIELDS: &'static [&'static str] = &[$(stringify!($name)),+];
        }
    };
}

audit_event_fields! {
    event_id: Option<String> => EventId,
    version: String => SchemaVersion,
    event_type: String => EventType,
    /// RFC 3339 with an offset, e.g. `2026-11-26T10:00:00Z`.
    event_timestamp: String => EventTimestamp,
    event_category: String => EventCategory,
    event_action: String => EventAction,
    event_outcome: String => EventOutcome,
    actor_type: Option<String> => Option<ActorType>,
    actor_id: Option<String> => Option<ActorId>,
    resource_type: Option<String> => Option<ResourceType>,
    resource_id: Option<String> => Option<ResourceId>,
    resource_name: Option<String> => Option<ResourceName>,
    correlation_id: String => CorrelationId,
    parent_event_id: Option<String> => Option<EventId>,
    /// `YYYY-MM-DD`.
    parent_event_date: Option<String> => Option<NaiveDate>,
    trace_id: Option<String> => Option<TraceId>,
    span_id: Option<String> => Option<SpanId>,
    namespace: Option<String> => Option<Namespace>,
    cluster_name: Option<String> => Option<ClusterName>,
    severity: Option<String> => Option<Severity>,
    duration_ms: Option<i64> => Option<DurationMs>,
    error_code: Option<String> => Option<ErrorCode>,
    error_message: Option<String> => Option<ErrorMessage>,
    event_data: EventDataInput => EventData,
    retention_days: Option<i64> => RetentionDays,
    is_sensitive: Option<bool> => bool,
}

/// Rules that depend on configuration rather than on the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventRules {
    /// How far in the past an `event_timestamp` may lie.
    pub max_age: Duration,
    /// How far in the future an `event_timestamp` may lie (clock skew allowance).
    pub max_skew_ahead: Duration,
    /// `retention_days` of an event that does not say, by category.
    pub default_retention: RetentionDefaults,
}

impl Default for EventRules {
    fn default() -> Self {
        Self {
            max_age: Duration::days(7),
            max_skew_ahead: Duration::minutes(60),
            default_retention: RetentionDefaults::default(),
        }
    }
}

/// The retention an event gets when it does not state one: [`DEFAULT_RETENTION_DAYS`],
/// unless configured for its category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionDefaults([i64; EventCategory::ALL.len()]);

impl Default for RetentionDefaults {
    fn default() -> Self {
        Self([DEFAULT_RETENTION_DAYS; EventCategory::ALL.len()])
    }
}

impl RetentionDefaults {
    pub fn days(&self, category: EventCategory) -> i64 {
        let at = EventCategory::ALL.iter().position(|c| *c == category);
        at.map_or(DEFAULT_RETENTION_DAYS, |i| self.0[i])
    }

    /// `category=days` pairs separated by commas (`workflow=365,notification=90`); the
    /// categories not named keep [`DEFAULT_RETENTION_DAYS`].
    ///
    /// # Errors
    /// An unknown category, or days outside the contract's 1..=2555.
    pub fn parse(text: &str) -> Result<Self, ValidationErrors> {
        let mut out = Self::default();
        let mut errors = ValidationErrors::new();
        for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((name, days)) = pair.split_once('=') else {
                errors.push(
                    "default_retention",
                    format!("{pair:?} is not category=days"),
                );
                continue;
            };
            let category = errors.collect(EventCategory::parse(name.trim()));
            let days = days
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|d| (1..=2555).contains(d));
            match (category, days) {
                (Some(c), Some(d)) => {
                    if let Some(i) = EventCategory::ALL.iter().position(|x| *x == c) {
                        out.0[i] = d;
                    }
                }
                (_, None) => errors.push(
                    "default_retention",
                    format!("{pair:?}: days must be a whole number from 1 to 2555"),
                ),
                _ => {}
            }
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(errors)
        }
    }
}

impl EventRules {
    /// Rules for events read back from the dead-letter queue: each passed the window when it
    /// was accepted and may be hours old by the time it is replayed.
    pub fn replay() -> Self {
        Self {
            max_age: Duration::days(36_500),
            max_skew_ahead: Duration::days(36_500),
            ..Self::default()
        }
    }
}

/// Who assigned the event id, which says whether the id may already be stored. Client ids
/// must be checked for idempotent re-sends; a server id (UUIDv7) is fresh on its first write
/// attempt, and becomes "may exist" (`Client`) for a retry or a replay after an ambiguous
/// failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventIdOrigin {
    Client,
    Server,
}

/// An event ready to be written, with where its id came from.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAuditEvent {
    pub event: AuditEvent,
    pub id_origin: EventIdOrigin,
}

impl AuditEventDraft {
    /// Checks every rule and reports every broken one. `fresh_id` is used when the client sent
    /// no `event_id`; `now` bounds the accepted `event_timestamp` window.
    pub fn validate(
        self,
        rules: &EventRules,
        now: DateTime<Utc>,
        fresh_id: EventId,
    ) -> Result<NewAuditEvent, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let (event_id, id_origin) = match self.event_id.filter(|s| !s.is_empty()) {
            Some(id) => match EventId::parse(&id) {
                Ok(id) => (id, EventIdOrigin::Client),
                Err(e) => {
                    errors.collect::<()>(Err(e));
                    (fresh_id, EventIdOrigin::Client)
                }
            },
            None => (fresh_id, EventIdOrigin::Server),
        };

        let event_timestamp = match DateTime::parse_from_rfc3339(&self.event_timestamp) {
            Ok(at) => EventTimestamp::new(at.with_timezone(&Utc)),
            Err(_) => {
                errors.push(
                    "event_timestamp",
                    "must be an RFC 3339 timestamp with an offset, e.g. 2026-11-26T10:00:00Z",
                );
                EventTimestamp::new(now)
            }
        };
        let earliest = now - rules.max_age;
        let latest = now + rules.max_skew_ahead;
        let outside =
            *event_timestamp.as_datetime() < earliest || *event_timestamp.as_datetime() > latest;
        if outside && errors.errors().iter().all(|e| e.field != "event_timestamp") {
            errors.push_because(
                "event_timestamp",
                Reason::OutsideTimeWindow,
                format!(
                    "must lie between {} and {} (at most {} hours old and {} minutes ahead)",
                    earliest.to_rfc3339(),
                    latest.to_rfc3339(),
                    rules.max_age.num_hours(),
                    rules.max_skew_ahead.num_minutes()
                ),
            );
        }

        let parent_event_id = errors
            .collect(
                self.parent_event_id
                    .filter(|s| !s.is_empty())
                    .map(|p| {
                        EventId::parse(&p).map_err(|_| {
                            ValidationErrors::single_because(
                                "parent_event_id",
                                Reason::WrongType,
                                "must be a UUID",
                            )
                        })
                    })
                    .transpose(),
            )
            .flatten();
        let parent_event_date = errors
            .collect(
                self.parent_event_date
                    .filter(|s| !s.is_empty())
                    .map(|d| {
                        NaiveDate::parse_from_str(&d, "%Y-%m-%d").map_err(|_| {
                            ValidationErrors::single_because(
                                "parent_event_date",
                                Reason::WrongType,
                                "must be a date in the form YYYY-MM-DD",
                            )
                        })
                    })
                    .transpose(),
            )
            .flatten();
        if parent_event_id.is_some() && parent_event_id == Some(event_id) {
            errors.push("parent_event_id", "an event cannot be its own parent");
        }

        let version = errors.collect(SchemaVersion::parse(self.version));
        let event_type = errors.collect(EventType::parse(self.event_type));
        let event_category = errors.collect(EventCategory::parse(&self.event_category));
        let event_action = errors.collect(EventAction::parse(self.event_action));
        let event_outcome = errors.collect(EventOutcome::parse(&self.event_outcome));
        let actor_type = errors.collect(ActorType::parse_optional(self.actor_type));
        let actor_id = errors.collect(ActorId::parse_optional(self.actor_id));
        let resource_type = errors.collect(ResourceType::parse_optional(self.resource_type));
        let resource_id = errors.collect(ResourceId::parse_optional(self.resource_id));
        let resource_name = errors.collect(ResourceName::parse_optional(self.resource_name));
        let correlation_id = errors.collect(CorrelationId::parse(self.correlation_id));
        let trace_id = errors.collect(TraceId::parse_optional(self.trace_id));
        let span_id = errors.collect(SpanId::parse_optional(self.span_id));
        let namespace = errors.collect(Namespace::parse_optional(self.namespace));
        let cluster_name = errors.collect(ClusterName::parse_optional(self.cluster_name));
        let severity = errors.collect(Severity::parse_optional(self.severity));
        let duration_ms = errors.collect(self.duration_ms.map(DurationMs::parse).transpose());
        let error_code = errors.collect(ErrorCode::parse_optional(self.error_code));
        let error_message = errors.collect(ErrorMessage::parse_optional(self.error_message));
        let event_data = errors.collect(EventData::parse(self.event_data));
        let retention_days = errors.collect(RetentionDays::parse(
            self.retention_days.unwrap_or_else(|| {
                event_category.map_or(DEFAULT_RETENTION_DAYS, |c| rules.default_retention.days(c))
            }),
        ));

        // Each field is `Some` exactly when it parsed; any `None` has its error collected.
        let event = (|| {
            Some(AuditEvent {
                event_id,
                version: version?,
                event_type: event_type?,
                event_timestamp,
                event_category: event_category?,
                event_action: event_action?,
                event_outcome: event_outcome?,
                actor_type: actor_type?,
                actor_id: actor_id?,
                resource_type: resource_type?,
                resource_id: resource_id?,
                resource_name: resource_name?,
                correlation_id: correlation_id?,
                parent_event_id,
                parent_event_date,
                trace_id: trace_id?,
                span_id: span_id?,
                namespace: namespace?,
                cluster_name: cluster_name?,
                severity: severity?,
                duration_ms: duration_ms?,
                error_code: error_code?,
                error_message: error_message?,
                event_data: event_data?,
                retention_days: retention_days?,
                is_sensitive: self.is_sensitive.unwrap_or(false),
            })
        })();
        match event {
            Some(event) if errors.is_empty() => Ok(NewAuditEvent { event, id_origin }),
            _ => Err(errors),
        }
    }
}

impl AuditEvent {
    /// The partition the event belongs to.
    pub fn event_date(&self) -> NaiveDate {
        self.event_timestamp.partition_date()
    }

    /// Newest first: the order of every audit listing.
    pub fn sort_key(&self) -> (EventTimestamp, EventId) {
        (self.event_timestamp, self.event_id)
    }

    /// SHA-256 of a canonical form of every field (object keys sorted). Two sends of an event
    /// with the same id are "the same content" exactly when their hashes are equal. Written
    /// straight into one buffer: this runs for every stored event, and building a JSON value
    /// per field was most of its allocations.
    pub fn content_hash(&self) -> [u8; 32] {
        use CanonicalField::{Int, Null, Str};
        let mut id_text = uuid::Uuid::encode_buffer();
        let event_id = self
            .event_id
            .as_uuid()
            .hyphenated()
            .encode_lower(&mut id_text);
        let timestamp = self.event_timestamp.to_micros_text();
        let parent_id = self.parent_event_id.map(|v| v.to_string());
        let parent_date = self.parent_event_date.map(|v| v.to_string());
        let fields: [(&str, CanonicalField); 25] = [
            ("event_id", Str(event_id)),
            ("version", Str(self.version.as_str())),
            ("event_type", Str(self.event_type.as_str())),
            ("event_timestamp", Str(&timestamp)),
            ("event_category", Str(self.event_category.as_str())),
            ("event_action", Str(self.event_action.as_str())),
            ("event_outcome", Str(self.event_outcome.as_str())),
            (
                "actor_type",
                opt(self.actor_type.as_ref().map(|v| v.as_str())),
            ),
            ("actor_id", opt(self.actor_id.as_ref().map(|v| v.as_str()))),
            (
                "resource_type",
                opt(self.resource_type.as_ref().map(|v| v.as_str())),
            ),
            (
                "resource_id",
                opt(self.resource_id.as_ref().map(|v| v.as_str())),
            ),
            (
                "resource_name",
                opt(self.resource_name.as_ref().map(|v| v.as_str())),
            ),
            ("correlation_id", Str(self.correlation_id.as_str())),
            ("parent_event_id", opt(parent_id.as_deref())),
            ("parent_event_date", opt(parent_date.as_deref())),
            ("trace_id", opt(self.trace_id.as_ref().map(|v| v.as_str()))),
            ("span_id", opt(self.span_id.as_ref().map(|v| v.as_str()))),
            (
                "namespace",
                opt(self.namespace.as_ref().map(|v| v.as_str())),
            ),
            (
                "cluster_name",
                opt(self.cluster_name.as_ref().map(|v| v.as_str())),
            ),
            ("severity", opt(self.severity.as_ref().map(|v| v.as_str()))),
            (
                "duration_ms",
                self.duration_ms.map_or(Null, |d| Int(d.get())),
            ),
            (
                "error_code",
                opt(self.error_code.as_ref().map(|v| v.as_str())),
            ),
            (
                "error_message",
                opt(self.error_message.as_ref().map(|v| v.as_str())),
            ),
            ("retention_days", Int(i64::from(self.retention_days.get()))),
            ("is_sensitive", CanonicalField::Bool(self.is_sensitive)),
        ];
        let mut canonical: Vec<u8> = Vec::with_capacity(512);
        for (name, value) in &fields {
            canonical.extend_from_slice(name.as_bytes());
            canonical.push(b'=');
            match value {
                Str(s) => write_json_str(&mut canonical, s),
                Int(i) => canonical.extend_from_slice(i.to_string().as_bytes()),
                CanonicalField::Bool(b) => {
                    canonical.extend_from_slice(if *b { b"true" } else { b"false" })
                }
                Null => canonical.extend_from_slice(b"null"),
            }
            canonical.push(b'\n');
        }
        canonical.extend_from_slice(b"event_data=");
        let mut hasher = Sha256::new();
        hasher.update(&canonical);
        hasher.update(self.event_data.as_json());
        hasher.finalize().into()
    }
}

fn opt(v: Option<&str>) -> CanonicalField<'_> {
    v.map_or(CanonicalField::Null, CanonicalField::Str)
}

/// A top-level field's value in the canonical form.
enum CanonicalField<'a> {
    Str(&'a str),
    Int(i64),
    Bool(bool),
    Null,
}

// Compact JSON, as serde_json prints it, appended to `out`. Writing to a Vec cannot fail,
// and strings always serialise.
fn write_json_str(out: &mut Vec<u8>, s: &str) {
    let _ = serde_json::to_writer(out, s);
}

#[cfg(test)]
mod tests {
    use super::*;

    use proptest::prelude::*;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-26T12:00:00Z")
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_default()
    }

    #[test]
    fn an_event_without_retention_gets_its_categorys_configured_default() {
        let rules = EventRules {
            default_retention: RetentionDefaults::parse("workflow=365, notification=90").unwrap(),
            ..EventRules::default()
        };
        let id = EventId::from_uuid(uuid::Uuid::now_v7());
        let days = |category: &str, stated: Option<i64>| {
            let mut d = draft();
            d.event_category = category.into();
            d.retention_days = stated;
            d.validate(&rules, now(), id)
                .unwrap()
                .event
                .retention_days
                .get()
        };
        assert_eq!(days("workflow", None), 365);
        assert_eq!(days("notification", None), 90);
        assert_eq!(days("gateway", None), 2555);
        assert_eq!(days("workflow", Some(10)), 10, "a stated retention wins");
        assert!(RetentionDefaults::parse("billing=3").is_err());
        assert!(RetentionDefaults::parse("workflow=0").is_err());
        assert!(RetentionDefaults::parse("workflow").is_err());
        assert_eq!(
            RetentionDefaults::parse("").unwrap(),
            RetentionDefaults::default()
        );
    }

    fn draft() -> AuditEventDraft {
        AuditEventDraft {
            event_id: None,
            version: "1.0".into(),
            event_type: "gateway.signal.received".into(),
            event_timestamp: now().to_rfc3339(),
            event_category: "gateway".into(),
            event_action: "received".into(),
            event_outcome: "success".into(),
            actor_type: Some("service".into()),
            actor_id: Some("gateway".into()),
            resource_type: None,
            resource_id: None,
            resource_name: None,
            correlation_id: "rr-1".into(),
            parent_event_id: None,
            parent_event_date: None,
            trace_id: None,
            span_id: None,
            namespace: None,
            cluster_name: None,
            severity: None,
            duration_ms: None,
            error_code: None,
            error_message: None,
            event_data: json!({"k": "v"}).into(),
            retention_days: None,
            is_sensitive: None,
        }
    }

    fn fresh() -> EventId {
        EventId::from_uuid(uuid::Uuid::nil())
    }

    #[test]
    fn a_valid_draft_becomes_an_event_with_defaults() {
        let new = draft()
            .validate(&EventRules::default(), now(), fresh())
            .unwrap();
        assert_eq!(new.id_origin, EventIdOrigin::Server);
        assert_eq!(
            new.event.retention_days.get(),
            DEFAULT_RETENTION_DAYS as i32
        );
        assert!(!new.event.is_sensitive);
        assert_eq!(new.event.event_date().to_string(), "2026-11-26");
    }

    #[test]
    fn every_broken_rule_is_reported_at_once() {
        let mut d = draft();
        d.version = String::new();
        d.event_category = "billing".into();
        d.correlation_id = "x".repeat(256);
        d.event_data = json!([1]).into();
        let errors = d
            .validate(&EventRules::default(), now(), fresh())
            .unwrap_err();
        let fields: Vec<&str> = errors.errors().iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["version", "event_category", "correlation_id", "event_data"]
        );
    }

    #[test]
    fn malformed_ids_dates_and_timestamps_are_field_errors() {
        let mut d = draft();
        d.event_id = Some("not-a-uuid".into());
        d.parent_event_id = Some("nope".into());
        d.parent_event_date = Some("26/11/2026".into());
        d.event_timestamp = "2026-11-26 10:00".into();
        let errors = d
            .validate(&EventRules::default(), now(), fresh())
            .unwrap_err();
        let fields: Vec<&str> = errors.errors().iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "event_id",
                "event_timestamp",
                "parent_event_id",
                "parent_event_date"
            ]
        );
    }

    #[test]
    fn empty_optional_strings_mean_absent() {
        let mut d = draft();
        d.actor_type = Some(String::new());
        let new = d.validate(&EventRules::default(), now(), fresh()).unwrap();
        assert_eq!(new.event.actor_type, None);
    }

    #[test]
    fn an_event_cannot_be_its_own_parent() {
        let id = uuid::Uuid::now_v7().to_string();
        let mut d = draft();
        d.event_id = Some(id.clone());
        d.parent_event_id = Some(id);
        assert!(d.validate(&EventRules::default(), now(), fresh()).is_err());
    }

    /// Stored hashes are compared with later sends of the same event: the canonical form must
    /// never change, so its hash for a fixed event is pinned here.
    #[test]
    fn content_hash_is_stable_across_versions() {
        let mut d = draft();
        d.resource_id = Some("pod/a \"quoted\" ü🚒".into());
        d.duration_ms = Some(1500);
        d.is_sensitive = Some(true);
        d.event_data = json!({
            "z": [1, 2.5, null, true, "x\ny"], "a": {"é": -3, "b": {}}, "n": 9_007_199_254_740_993_u64
        }).into();
        let hash = d
            .validate(&EventRules::default(), now(), fresh())
            .unwrap()
            .event
            .content_hash();
        let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "00f1925aab9c2db282d6e2c5713849f979fbafdba0a2cd28db4031d529c27b99"
        );
    }

    #[test]
    fn content_hash_ignores_key_order_but_not_values() {
        let mut a = draft();
        a.event_data = json!({"a": 1, "b": {"c": 2, "d": 3}}).into();
        let mut b = draft();
        b.event_data = json!({"b": {"d": 3, "c": 2}, "a": 1}).into();
        let rules = EventRules::default();
        let ha = a
            .clone()
            .validate(&rules, now(), fresh())
            .unwrap()
            .event
            .content_hash();
        let hb = b
            .validate(&rules, now(), fresh())
            .unwrap()
            .event
            .content_hash();
        assert_eq!(ha, hb);
        a.event_data = json!({"a": 2, "b": {"c": 2, "d": 3}}).into();
        let hc = a
            .validate(&rules, now(), fresh())
            .unwrap()
            .event
            .content_hash();
        assert_ne!(ha, hc);
    }

    proptest! {
        #[test]
        fn timestamp_window_is_enforced(offset_minutes in -20_000i64..200) {
            let mut d = draft();
            d.event_timestamp = (now() + Duration::minutes(offset_minutes)).to_rfc3339();
            let ok = d.validate(&EventRules::default(), now(), fresh()).is_ok();
            prop_assert_eq!(ok, (-7 * 24 * 60..=60).contains(&offset_minutes));
        }

        #[test]
        fn partition_date_follows_the_event_timestamp(offset_minutes in -10_000i64..60) {
            let mut d = draft();
            let at = now() + Duration::minutes(offset_minutes);
            d.event_timestamp = at.to_rfc3339();
            let new = d.validate(&EventRules::default(), now(), fresh()).unwrap();
            prop_assert_eq!(new.event.event_date(), at.date_naive());
        }

        #[test]
        fn the_hashed_timestamp_is_chronos_format(
            micros in -70_000_000_000_000_000i64..260_000_000_000_000_000,
        ) {
            let at = DateTime::from_timestamp_micros(micros).unwrap();
            prop_assert_eq!(
                EventTimestamp::new(at).to_micros_text(),
                at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
            );
        }
    }
}
