//! How audit events are asked for: filters, page position and the page that comes back.
//! [`AuditFilter::matches`] is the reference semantics every adapter must reproduce.

use std::fmt;

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use uuid::Uuid;

use super::event::AuditEvent;
use super::event_data::EventData;
use super::fields::*;
use crate::{Reason, ValidationErrors};

/// The largest page a client may ask for.
pub const MAX_PAGE_LIMIT: u32 = 1000;

/// Filters of an audit query; all given filters must hold (AND).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditFilter {
    pub correlation_id: Option<CorrelationId>,
    pub event_type: Option<EventType>,
    pub event_category: Option<EventCategory>,
    pub event_outcome: Option<EventOutcome>,
    pub severity: Option<Severity>,
    pub resource_type: Option<ResourceType>,
    pub resource_id: Option<ResourceId>,
    pub actor_id: Option<ActorId>,
    /// Inclusive lower bound on `event_timestamp`.
    pub since: Option<DateTime<Utc>>,
    /// Inclusive upper bound on `event_timestamp`.
    pub until: Option<DateTime<Utc>>,
    pub detail: Option<DetailMatch>,
}

/// `event_data[key]` equals `value`: as a string, or as the JSON scalar `value` spells
/// (`42`, `true`, `null`), so `detail_value=42` finds both `"42"` and `42`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetailMatch {
    key: String,
    value: String,
}

impl DetailMatch {
    pub fn parse(key: String, value: String) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        if key.is_empty() || key.chars().count() > 255 || key.contains('\0') {
            errors.push_because(
                "detail_key",
                Reason::OutOfRange,
                "must be 1 to 255 characters, none of them NUL",
            );
        }
        if value.chars().count() > 1024 || value.contains('\0') {
            errors.push_because(
                "detail_value",
                Reason::OutOfRange,
                "must be at most 1024 characters, none of them NUL",
            );
        }
        errors.into_result()?;
        Ok(Self { key, value })
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    pub fn value(&self) -> &str {
        &self.value
    }

    /// The JSON values that count as equal to the requested value.
    pub fn candidates(&self) -> Vec<Value> {
        let mut out = vec![Value::String(self.value.clone())];
        if let Ok(scalar @ (Value::Number(_) | Value::Bool(_) | Value::Null)) =
            serde_json::from_str::<Value>(&self.value)
        {
            out.push(scalar);
        }
        out
    }

    pub fn matches(&self, data: &EventData) -> bool {
        data.as_map()
            .get(&self.key)
            .is_some_and(|v| self.candidates().iter().any(|c| json_equal(c, v)))
    }
}

/// Equality as PostgreSQL's `jsonb` sees it: numbers compare by value (`1.0` = `1`).
fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => x == y,
            _ => x == y,
        },
        _ => a == b,
    }
}

impl AuditFilter {
    pub fn matches(&self, e: &AuditEvent) -> bool {
        fn eq<T: PartialEq>(want: &Option<T>, have: Option<&T>) -> bool {
            want.as_ref().is_none_or(|w| have == Some(w))
        }
        let at = e.event_timestamp.as_datetime();
        eq(&self.correlation_id, Some(&e.correlation_id))
            && eq(&self.event_type, Some(&e.event_type))
            && eq(&self.event_category, Some(&e.event_category))
            && eq(&self.event_outcome, Some(&e.event_outcome))
            && eq(&self.severity, e.severity.as_ref())
            && eq(&self.resource_type, e.resource_type.as_ref())
            && eq(&self.resource_id, e.resource_id.as_ref())
            && eq(&self.actor_id, e.actor_id.as_ref())
            && self.since.is_none_or(|s| *at >= s)
            && self.until.is_none_or(|u| *at <= u)
            && self
                .detail
                .as_ref()
                .is_none_or(|d| d.matches(&e.event_data))
    }
}

/// A page size between 1 and [`MAX_PAGE_LIMIT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageLimit(u32);

impl PageLimit {
    pub const DEFAULT: PageLimit = PageLimit(50);

    pub fn parse(value: i64) -> Result<Self, ValidationErrors> {
        if !(1..=i64::from(MAX_PAGE_LIMIT)).contains(&value) {
            return Err(ValidationErrors::single_because(
                "limit",
                Reason::OutOfRange,
                format!("must be between 1 and {MAX_PAGE_LIMIT} (got {value})"),
            ));
        }
        Ok(Self(value as u32))
    }

    pub const fn get(&self) -> u32 {
        self.0
    }
}

/// Position of a keyset page: strictly after this (timestamp, id) in newest-first order.
/// Stable under concurrent inserts, unlike an offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub event_timestamp: EventTimestamp,
    pub event_id: EventId,
}

impl Cursor {
    pub fn after(event: &AuditEvent) -> Self {
        Self {
            event_timestamp: event.event_timestamp,
            event_id: event.event_id,
        }
    }

    /// Opaque to clients: `<microseconds since epoch>_<uuid without dashes>`.
    pub fn encode(&self) -> String {
        format!(
            "{}_{}",
            self.event_timestamp.as_datetime().timestamp_micros(),
            self.event_id.as_uuid().simple()
        )
    }

    pub fn decode(value: &str) -> Result<Self, ValidationErrors> {
        let invalid = || ValidationErrors::single("cursor", "is not a cursor this service issued");
        let (micros, id) = value.split_once('_').ok_or_else(invalid)?;
        let micros: i64 = micros.parse().map_err(|_| invalid())?;
        let at = DateTime::from_timestamp_micros(micros).ok_or_else(invalid)?;
        let id = Uuid::try_parse(id).map_err(|_| invalid())?;
        Ok(Self {
            event_timestamp: EventTimestamp::new(at),
            event_id: EventId::from_uuid(id),
        })
    }

    /// True when `event` comes after this cursor in newest-first order.
    pub fn precedes(&self, event: &AuditEvent) -> bool {
        event.sort_key() < (self.event_timestamp, self.event_id)
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.encode())
    }
}

/// Where a page starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PagePosition {
    /// Skip this many matching events (the original contract's pagination).
    Offset(u64),
    /// Start after this cursor (keyset pagination).
    After(Cursor),
}

/// A complete audit query. Results are ordered newest first: `event_timestamp DESC,
/// event_id DESC`.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditQuery {
    pub filter: AuditFilter,
    pub limit: PageLimit,
    pub position: PagePosition,
    /// Count every match (costly on large tables); `false` leaves `total` empty.
    pub include_total: bool,
}

impl AuditQuery {
    /// The total, when the page's own over-fetch (up to `limit + 1` matches) already tells it,
    /// so no count is needed: a page read from offset `n` that found no more beyond itself
    /// holds the last match, so the total is `n` plus what it found. Not for a page past the
    /// end (nothing found after a non-zero offset: the total is below the offset) nor for a
    /// keyset page (its offset is unknown).
    pub fn total_from_overfetch(&self, fetched: usize) -> Option<u64> {
        match self.position {
            PagePosition::Offset(offset)
                if fetched <= self.limit.get() as usize && (fetched > 0 || offset == 0) =>
            {
                Some(offset + fetched as u64)
            }
            _ => None,
        }
    }
}

/// One page of events.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditPage {
    pub events: Vec<AuditEvent>,
    pub total: Option<u64>,
    pub has_more: bool,
    /// Where the next page starts; present when `has_more`.
    pub next_cursor: Option<Cursor>,
}

impl AuditPage {
    /// Builds a page from up to `limit + 1` ordered matches: the extra one only says that more
    /// exist, so no count is needed to answer `has_more`.
    pub fn from_overfetch(
        mut events: Vec<AuditEvent>,
        limit: PageLimit,
        total: Option<u64>,
    ) -> Self {
        let has_more = events.len() > limit.get() as usize;
        events.truncate(limit.get() as usize);
        let next_cursor = if has_more {
            events.last().map(Cursor::after)
        } else {
            None
        };
        Self {
            events,
            total,
            has_more,
            next_cursor,
        }
    }
}

/// Parses `since`/`until`: RFC 3339 (`2026-11-26T10:00:00Z`) or a relative duration before
/// `now` (`90s`, `15m`, `24h`, `7d`).
pub fn parse_time_bound(
    field: &str,
    value: &str,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, ValidationErrors> {
    if let Ok(at) = DateTime::parse_from_rfc3339(value) {
        return Ok(at.with_timezone(&Utc));
    }
    let invalid = || {
        ValidationErrors::single(
            field,
            format!(
                "must be an RFC 3339 timestamp (2026-11-26T10:00:00Z) or a relative duration \
                 such as 90s, 15m, 24h or 7d (got {value:?})"
            ),
        )
    };
    // The unit is the last character, which need not be one byte long.
    let unit_at = value
        .char_indices()
        .last()
        .map(|(i, _)| i)
        .ok_or_else(invalid)?;
    let (amount, unit) = value.split_at(unit_at);
    if amount.is_empty() || !amount.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    let amount: i64 = amount.parse().map_err(|_| invalid())?;
    let span = match unit {
        "s" => Duration::try_seconds(amount),
        "m" => Duration::try_minutes(amount),
        "h" => Duration::try_hours(amount),
        "d" => Duration::try_days(amount),
        _ => None,
    }
    .ok_or_else(invalid)?;
    now.checked_sub_signed(span).ok_or_else(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default()
    }

    #[test]
    fn the_total_is_known_from_the_overfetch_only_on_an_offset_page_that_reached_the_end() {
        let at = |position| AuditQuery {
            filter: AuditFilter::default(),
            limit: PageLimit::parse(10).unwrap_or(PageLimit::DEFAULT),
            position,
            include_total: true,
        };
        let offset = |n| at(PagePosition::Offset(n));
        assert_eq!(offset(0).total_from_overfetch(0), Some(0));
        assert_eq!(offset(0).total_from_overfetch(10), Some(10));
        assert_eq!(offset(30).total_from_overfetch(4), Some(34));
        // One more than the limit: more matches exist, how many is unknown.
        assert_eq!(offset(0).total_from_overfetch(11), None);
        // Past the end: the matches end somewhere before the offset.
        assert_eq!(offset(30).total_from_overfetch(0), None);
        let cursor = Cursor {
            event_timestamp: EventTimestamp::new(now()),
            event_id: EventId::from_uuid(uuid::Uuid::nil()),
        };
        assert_eq!(
            at(PagePosition::After(cursor)).total_from_overfetch(3),
            None
        );
    }

    #[test]
    fn relative_and_absolute_bounds_parse() {
        assert!(parse_time_bound("until", "Ý¢", now()).is_err());
        assert_eq!(
            parse_time_bound("since", "24h", now()).ok(),
            Some(now() - Duration::hours(24))
        );
        assert_eq!(
            parse_time_bound("since", "7d", now()).ok(),
            Some(now() - Duration::days(7))
        );
        assert!(parse_time_bound("since", "2026-11-26T10:00:00+02:00", now()).is_ok());
        for bad in [
            "yesterday",
            "",
            "h",
            "-5h",
            "5w",
            "1.5h",
            "99999999999999999d",
        ] {
            assert!(parse_time_bound("since", bad, now()).is_err(), "{bad}");
        }
    }

    #[test]
    fn detail_match_accepts_string_or_scalar() {
        let data = EventData::parse(serde_json::json!({"n": 42, "s": "42", "b": true}))
            .unwrap_or_else(|e| panic!("{e}"));
        let m = |k: &str, v: &str| {
            DetailMatch::parse(k.into(), v.into())
                .unwrap()
                .matches(&data)
        };
        assert!(m("n", "42"));
        assert!(m("s", "42"));
        assert!(m("b", "true"));
        assert!(!m("b", "false"));
        assert!(!m("missing", "42"));
    }

    proptest! {
        #[test]
        fn cursors_round_trip(micros in 0i64..4_000_000_000_000_000, id in any::<u128>()) {
            let at = DateTime::from_timestamp_micros(micros).unwrap_or_default();
            let cursor = Cursor {
                event_timestamp: EventTimestamp::new(at),
                event_id: EventId::from_uuid(Uuid::from_u128(id)),
            };
            prop_assert_eq!(Cursor::decode(&cursor.encode()).ok(), Some(cursor));
        }

        #[test]
        fn garbage_is_not_a_cursor(s in "[^_]{0,40}") {
            prop_assert!(Cursor::decode(&s).is_err());
        }

        // Found by the property-based API run: `until=Ý¢` panicked slicing inside `¢`.
        #[test]
        fn any_text_is_a_time_bound_or_an_error_never_a_panic(s in "\\PC{0,12}") {
            let _ = parse_time_bound("until", &s, now());
        }

        #[test]
        fn page_limit_accepts_only_1_to_1000(n in -5i64..1200) {
            prop_assert_eq!(PageLimit::parse(n).is_ok(), (1..=1000).contains(&n));
        }
    }
}
