//! The validated fields of an audit event. Each type can only hold a value that obeys the
//! wire contract's limits, so code past the edge never re-checks them.

use std::fmt;
use std::sync::OnceLock;

use chrono::{DateTime, NaiveDate, SubsecRound, Utc};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::event_data_text::EventDataText;
use crate::ValidationErrors;

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
                        return Err(ValidationErrors::single(
                            $field,
                            format!("must be at most {} characters (got {chars})", $max),
                        ));
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
        Uuid::parse_str(value)
            .map(Self)
            .map_err(|_| ValidationErrors::single("event_id", "must be a UUID"))
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
                    other => Err(ValidationErrors::single(
                        $field,
                        format!(
                            "unknown value {other:?}; expected one of: {}",
                            [$($wire),+].join(", ")
                        ),
                    )),
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
    /// The service that emitted the event (ADR-034 v1.2).
    EventCategory, "event_category", {
        Gateway => "gateway",
        Notification => "notification",
        Analysis => "analysis",
        SignalProcessing => "signalprocessing",
        Workflow => "workflow",
        Execution => "execution",
        Orchestration => "orchestration",
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
            return Err(ValidationErrors::single(
                "retention_days",
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

/// Service-specific payload: a JSON object of at most [`EventData::MAX_BYTES`] when
/// serialised and at most [`EventData::MAX_DEPTH`] levels deep.
///
/// Holds its canonical text (compact JSON, object keys sorted), built once at parse: the text
/// is what the content hash covers and what the stores write, so an event is serialised once
/// however many times it is hashed and stored. The object itself is built from that text on
/// first use (reads and filters want it; writes never do).
#[derive(Debug, Clone)]
pub struct EventData {
    map: OnceLock<Map<String, Value>>,
    canonical: Box<str>,
}

/// The canonical text is one text per object, so it alone tells two apart.
impl PartialEq for EventData {
    fn eq(&self, other: &Self) -> bool {
        self.canonical == other.canonical
    }
}

/// event_data as it arrived: a JSON value, or text read straight into its canonical form
/// (the HTTP adapter's way: no value is built on the write path).
#[derive(Debug, Clone, PartialEq)]
pub enum EventDataInput {
    Value(Value),
    Text(EventDataText),
}

impl From<Value> for EventDataInput {
    fn from(value: Value) -> Self {
        EventDataInput::Value(value)
    }
}

impl From<EventDataText> for EventDataInput {
    fn from(text: EventDataText) -> Self {
        EventDataInput::Text(text)
    }
}

impl EventData {
    pub const MAX_BYTES: usize = 256 * 1024;
    pub const MAX_DEPTH: usize = 10;
    const FIELD: &'static str = "event_data";

    pub fn parse(input: impl Into<EventDataInput>) -> Result<Self, ValidationErrors> {
        match input.into() {
            EventDataInput::Value(Value::Object(map)) => {
                let shape = Shape::of(&map);
                // Checked before writing: the writer recurses.
                Self::check_nesting(shape.depth, shape.has_nul)?;
                let canonical = canonical_json(&map, shape.approx_len);
                Self::sized(OnceLock::from(map), canonical)
            }
            EventDataInput::Text(text) if text.kind == JsonKind::Object => {
                Self::check_nesting(text.depth, text.has_nul)?;
                Self::sized(OnceLock::new(), text.canonical.into_boxed_str())
            }
            EventDataInput::Value(other) => Err(Self::not_an_object(JsonKind::of(&other))),
            EventDataInput::Text(text) => Err(Self::not_an_object(text.kind)),
        }
    }

    fn not_an_object(kind: JsonKind) -> ValidationErrors {
        ValidationErrors::single(
            Self::FIELD,
            format!("must be a JSON object (got {})", kind.in_words()),
        )
    }

    fn check_nesting(depth: usize, has_nul: bool) -> Result<(), ValidationErrors> {
        if depth > Self::MAX_DEPTH {
            return Err(ValidationErrors::single(
                Self::FIELD,
                format!(
                    "must be at most {} levels deep (got {depth})",
                    Self::MAX_DEPTH
                ),
            ));
        }
        if has_nul {
            return Err(ValidationErrors::single(
                Self::FIELD,
                "must not contain the NUL character (\\u0000) in any key or string",
            ));
        }
        Ok(())
    }

    /// The event data, once its canonical text is known to be within [`Self::MAX_BYTES`]. Key
    /// order does not change the length, so this is the serialised size whatever order the
    /// client sent.
    fn sized(
        map: OnceLock<Map<String, Value>>,
        canonical: Box<str>,
    ) -> Result<Self, ValidationErrors> {
        if canonical.len() > Self::MAX_BYTES {
            return Err(ValidationErrors::single(
                Self::FIELD,
                format!(
                    "must be at most {} bytes when serialised (got {})",
                    Self::MAX_BYTES,
                    canonical.len()
                ),
            ));
        }
        Ok(Self { map, canonical })
    }

    /// The object: as given, or else its canonical text read back (as a store reading it would).
    pub fn as_map(&self) -> &Map<String, Value> {
        self.map.get_or_init(|| read_back(&self.canonical))
    }

    /// The object as compact JSON text with its keys sorted (the canonical form).
    pub fn as_json(&self) -> &str {
        &self.canonical
    }
}

/// Compact JSON with object keys sorted, whatever map type serde_json was built with.
/// Called only on validated data (at most [`EventData::MAX_DEPTH`] deep), so the recursion
/// is bounded.
fn canonical_json(map: &Map<String, Value>, approx_len: usize) -> Box<str> {
    let mut out = Vec::with_capacity(approx_len);
    write_canonical_map(&mut out, map);
    // Only JSON text was written, and serde_json writes valid UTF-8.
    String::from_utf8(out).unwrap_or_default().into_boxed_str()
}

fn write_canonical(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Object(map) => write_canonical_map(out, map),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(out, item);
            }
            out.push(b']');
        }
        // Writing to a Vec cannot fail, and scalars always serialise.
        scalar => {
            let _ = serde_json::to_writer(&mut *out, scalar);
        }
    }
}

fn write_canonical_map(out: &mut Vec<u8>, map: &Map<String, Value>) {
    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
    entries.sort_by_key(|(k, _)| *k);
    out.push(b'{');
    for (i, (key, value)) in entries.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let _ = serde_json::to_writer(&mut *out, key);
        out.push(b':');
        write_canonical(out, value);
    }
    out.push(b'}');
}

/// An object's canonical text read back; it is an object's compact JSON, so it always parses.
fn read_back(canonical: &str) -> Map<String, Value> {
    serde_json::from_str(canonical).unwrap_or_default()
}

/// What a JSON document is, for messages that say what was sent instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JsonKind {
    Null,
    Bool,
    Number,
    String,
    Array,
    Object,
}

impl JsonKind {
    fn of(value: &Value) -> Self {
        match value {
            Value::Null => JsonKind::Null,
            Value::Bool(_) => JsonKind::Bool,
            Value::Number(_) => JsonKind::Number,
            Value::String(_) => JsonKind::String,
            Value::Array(_) => JsonKind::Array,
            Value::Object(_) => JsonKind::Object,
        }
    }

    fn in_words(self) -> &'static str {
        match self {
            JsonKind::Null => "null",
            JsonKind::Bool => "a boolean",
            JsonKind::Number => "a number",
            JsonKind::String => "a string",
            JsonKind::Array => "an array",
            JsonKind::Object => "an object",
        }
    }
}

/// What validation needs to know of event_data, found in one walk over it. Iterative, so a
/// hostile document cannot overflow the stack.
struct Shape {
    /// Levels of objects and arrays: `{}` is 1, `{"a":{}}` and `{"a":[]}` are 2.
    depth: usize,
    /// Whether a key or a string holds NUL (PostgreSQL's jsonb cannot store it).
    has_nul: bool,
    /// About the length of its compact text (exact when no string needs escaping): the
    /// capacity of the canonical text, which then is written without growing.
    approx_len: usize,
}

impl Shape {
    fn of(map: &Map<String, Value>) -> Self {
        let mut shape = Shape {
            depth: 1,
            has_nul: false,
            approx_len: 0,
        };
        let mut stack: Vec<(&Value, usize)> = Vec::new();
        shape.add_object(map, 1, &mut stack);
        while let Some((value, depth)) = stack.pop() {
            match value {
                Value::Object(map) => shape.add_object(map, depth, &mut stack),
                Value::Array(items) => {
                    shape.depth = shape.depth.max(depth);
                    shape.approx_len += 1 + items.len().max(1);
                    stack.extend(items.iter().map(|item| (item, depth + 1)));
                }
                Value::String(text) => {
                    shape.has_nul |= text.contains('\0');
                    shape.approx_len += text.len() + 2;
                }
                Value::Number(_) => shape.approx_len += 8,
                Value::Bool(_) | Value::Null => shape.approx_len += 5,
            }
        }
        shape
    }

    fn add_object<'a>(
        &mut self,
        map: &'a Map<String, Value>,
        depth: usize,
        stack: &mut Vec<(&'a Value, usize)>,
    ) {
        self.depth = self.depth.max(depth);
        // Braces, and per entry a comma, a colon and the key's quotes.
        self.approx_len += 2 + map.len() * 4;
        for (key, value) in map {
            self.has_nul |= key.contains('\0');
            self.approx_len += key.len();
            stack.push((value, depth + 1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

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
        fn event_data_depth_limit_is_exact(depth in 1usize..16) {
            let mut value = json!({});
            for _ in 1..depth {
                value = json!({ "n": value });
            }
            prop_assert_eq!(EventData::parse(value).is_ok(), depth <= EventData::MAX_DEPTH);
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
    fn event_data_must_be_an_object() {
        for bad in [json!([]), json!("x"), json!(1), json!(null), json!(true)] {
            assert!(EventData::parse(bad).is_err());
        }
        assert!(EventData::parse(json!({"a": [1, {"b": null}]})).is_ok());
    }

    #[test]
    fn event_data_size_limit_is_enforced() {
        let fits = "x".repeat(EventData::MAX_BYTES - 20);
        assert!(EventData::parse(json!({ "k": fits })).is_ok());
        let too_big = "x".repeat(EventData::MAX_BYTES);
        assert!(EventData::parse(json!({ "k": too_big })).is_err());
    }

    #[test]
    fn event_data_rejects_nul_in_keys_and_values() {
        assert!(EventData::parse(json!({ "a\u{0}": 1 })).is_err());
        assert!(EventData::parse(json!({ "a": ["\u{0}"] })).is_err());
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
