//! event_data: the service-specific payload of an audit event, a JSON object kept as its
//! canonical text (compact, object keys sorted), the text the content hash covers and the
//! stores write.

use std::sync::OnceLock;

use serde_json::{Map, Value};

use super::event_data_text::{EventDataText, JsonKind};
use crate::{Reason, ValidationErrors};

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

/// `null`, as a missing event_data reads: validation refuses it.
impl Default for EventDataInput {
    fn default() -> Self {
        EventDataInput::Value(Value::Null)
    }
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
        ValidationErrors::single_because(
            Self::FIELD,
            Reason::WrongType,
            format!("must be a JSON object (got {})", kind.in_words()),
        )
    }

    fn check_nesting(depth: usize, has_nul: bool) -> Result<(), ValidationErrors> {
        if depth > Self::MAX_DEPTH {
            return Err(ValidationErrors::single_because(
                Self::FIELD,
                Reason::OutOfRange,
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
            return Err(ValidationErrors::single_because(
                Self::FIELD,
                Reason::OutOfRange,
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
        fn event_data_depth_limit_is_exact(depth in 1usize..16) {
            let mut value = json!({});
            for _ in 1..depth {
                value = json!({ "n": value });
            }
            prop_assert_eq!(EventData::parse(value).is_ok(), depth <= EventData::MAX_DEPTH);
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
}
