//! W3C Trace Context (level 1) `traceparent`: parsing and formatting, nothing else.
//!
//! Pure: no I/O, no clock; the random ids come from the caller's generator so that the rules
//! can be tested against the specification's own examples.

use std::fmt;

/// The 16-byte id of a whole distributed trace; never all zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TraceId(u128);

/// The 8-byte id of one span (the `parent-id` of the next hop); never all zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SpanId(u64);

impl TraceId {
    /// `None` for zero, which the specification reserves as invalid.
    pub fn new(value: u128) -> Option<Self> {
        (value != 0).then_some(Self(value))
    }
}

impl SpanId {
    /// `None` for zero, which the specification reserves as invalid.
    pub fn new(value: u64) -> Option<Self> {
        (value != 0).then_some(Self(value))
    }
}

impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

impl fmt::Display for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// The only flag level 1 defines: the caller may have recorded trace data.
pub const SAMPLED: u8 = 0x01;

/// A valid incoming `traceparent`, whatever version it was sent in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceParent {
    pub trace_id: TraceId,
    pub parent_id: SpanId,
    /// Only the flags this version defines ([`SAMPLED`]): the others are reserved and must
    /// be sent on as zero.
    pub flags: u8,
}

impl TraceParent {
    pub fn sampled(&self) -> bool {
        self.flags & SAMPLED == SAMPLED
    }

    /// Parses a `traceparent` value; `None` when the specification says to ignore it and
    /// restart the trace. Version `00` must be exactly its 55 characters; a higher version
    /// (not `ff`) is read by the forward-compatibility rules: its first four fields in the
    /// version-00 layout, followed by the end or a dash, the rest left unread.
    pub fn parse(value: &str) -> Option<Self> {
        let b = value.as_bytes();
        if b.len() < 3 || b[2] != b'-' {
            return None;
        }
        let version = hex_u8(&b[..2])?;
        match version {
            0xff => return None,
            0x00 if b.len() != 55 => return None,
            _ if b.len() < 55 => return None,
            _ => {}
        }
        if b[35] != b'-' || b[52] != b'-' || (b.len() > 55 && b[55] != b'-') {
            return None;
        }
        let trace_id = TraceId::new(u128::from_str_radix(lower_hex(&b[3..35])?, 16).ok()?)?;
        let parent_id = SpanId::new(u64::from_str_radix(lower_hex(&b[36..52])?, 16).ok()?)?;
        let flags = hex_u8(&b[53..55])? & SAMPLED;
        Some(Self {
            trace_id,
            parent_id,
            flags,
        })
    }
}

/// The `traceparent` (version `00`) naming `span_id` as the parent of whatever follows.
pub fn format_traceparent(trace_id: TraceId, span_id: SpanId, flags: u8) -> String {
    format!("00-{trace_id}-{span_id}-{:02x}", flags & SAMPLED)
}

/// The bytes as text when every one is a lowercase hex digit (the specification's HEXDIGLC).
fn lower_hex(b: &[u8]) -> Option<&str> {
    b.iter()
        .all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
        .then(|| std::str::from_utf8(b).ok())
        .flatten()
}

fn hex_u8(b: &[u8]) -> Option<u8> {
    u8::from_str_radix(lower_hex(b)?, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The specification's example value.
    const SPEC: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const PARENT: &str = "00f067aa0ba902b7";

    fn ids(value: &str) -> Option<(String, String, u8)> {
        TraceParent::parse(value)
            .map(|p| (p.trace_id.to_string(), p.parent_id.to_string(), p.flags))
    }

    #[test]
    fn the_specification_examples_parse_sampled_and_not_sampled() {
        assert_eq!(ids(SPEC), Some((TRACE.into(), PARENT.into(), 1)));
        let unsampled = SPEC.replace("-01", "-00");
        assert_eq!(ids(&unsampled), Some((TRACE.into(), PARENT.into(), 0)));
        assert!(TraceParent::parse(SPEC).is_some_and(|p| p.sampled()));
        assert!(!TraceParent::parse(&unsampled).is_some_and(|p| p.sampled()));
    }

    #[test]
    fn formatting_round_trips_the_specification_example() {
        let p = TraceParent::parse(SPEC).unwrap();
        assert_eq!(format_traceparent(p.trace_id, p.parent_id, p.flags), SPEC);
        let small = format_traceparent(TraceId::new(1).unwrap(), SpanId::new(2).unwrap(), 0);
        assert_eq!(
            small,
            "00-00000000000000000000000000000001-0000000000000002-00"
        );
    }

    #[test]
    fn reserved_flags_are_dropped_and_only_sampled_kept() {
        let p = TraceParent::parse(&SPEC.replace("-01", "-09")).unwrap();
        assert_eq!(p.flags, SAMPLED);
        let p = TraceParent::parse(&SPEC.replace("-01", "-fe")).unwrap();
        assert_eq!(p.flags, 0);
        assert!(format_traceparent(p.trace_id, p.parent_id, 0xff).ends_with("-01"));
    }

    #[test]
    fn all_zero_ids_are_invalid() {
        assert_eq!(ids(&SPEC.replace(TRACE, &"0".repeat(32))), None);
        assert_eq!(ids(&SPEC.replace(PARENT, &"0".repeat(16))), None);
        assert_eq!(TraceId::new(0), None);
        assert_eq!(SpanId::new(0), None);
    }

    #[test]
    fn only_lowercase_hex_is_accepted_in_every_field() {
        assert_eq!(ids(&SPEC.replace(TRACE, &TRACE.to_uppercase())), None);
        assert_eq!(ids(&SPEC.replace(PARENT, "00F067AA0BA902B7")), None);
        assert_eq!(ids(&SPEC.replace("-01", "-0A")), None);
        assert_eq!(ids(&SPEC.replacen("00", "0A", 1)), None);
        for bad in [
            "00-.2345678901234567890123456789012-1234567890123456-01",
            "00-1234567890123456789012345678901.-1234567890123456-01",
            "00-12345678901234567890123456789012-.234567890123456-01",
            "00-12345678901234567890123456789012-123456789012345.-01",
            "00-12345678901234567890123456789012-1234567890123456-.0",
            "00-12345678901234567890123456789012-1234567890123456-0.",
            ".0-12345678901234567890123456789012-1234567890123456-01",
            "0.-12345678901234567890123456789012-1234567890123456-01",
            "00-+2345678901234567890123456789012-1234567890123456-01",
        ] {
            assert_eq!(ids(bad), None, "{bad}");
        }
    }

    #[test]
    fn fields_of_the_wrong_length_are_invalid() {
        for bad in [
            "",
            "00",
            "0-12345678901234567890123456789012-1234567890123456-01",
            "000-12345678901234567890123456789012-1234567890123456-01",
            "00-1234567890123456789012345678901-1234567890123456-01",
            "00-123456789012345678901234567890123-1234567890123456-01",
            "00-12345678901234567890123456789012-123456789012345-01",
            "00-12345678901234567890123456789012-12345678901234567-01",
            "00-12345678901234567890123456789012-1234567890123456-1",
            "00-12345678901234567890123456789012-1234567890123456-011",
            "00_12345678901234567890123456789012-1234567890123456-01",
            "00-12345678901234567890123456789012_1234567890123456-01",
        ] {
            assert_eq!(ids(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn version_00_allows_nothing_after_the_flags() {
        assert_eq!(ids(&format!("{SPEC}.")), None);
        assert_eq!(ids(&format!("{SPEC}-what-the-future-will-be-like")), None);
    }

    #[test]
    fn version_ff_is_invalid() {
        assert_eq!(ids(&SPEC.replacen("00", "ff", 1)), None);
    }

    #[test]
    fn a_higher_version_is_read_by_the_forward_compatibility_rules() {
        let future = SPEC.replacen("00", "cc", 1);
        assert_eq!(ids(&future), Some((TRACE.into(), PARENT.into(), 1)));
        assert_eq!(
            ids(&format!("{future}-what-the-future-will-be-like")),
            Some((TRACE.into(), PARENT.into(), 1))
        );
        // After the flags: the end, or a dash and whatever the future adds.
        assert_eq!(ids(&format!("{future}.what-the-future-will-be-like")), None);
        // Shorter than version 00's 55 characters: not parsed.
        assert_eq!(ids(&future[..54]), None);
        // The known fields are still checked.
        assert_eq!(ids(&future.replace(TRACE, &"0".repeat(32))), None);
        assert_eq!(ids(&future.replace(PARENT, "00F067AA0BA902B7")), None);
    }
}
