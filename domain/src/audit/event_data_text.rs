//! event_data read straight into its canonical text, without a `serde_json::Value` between.
//!
//! The write path only needs the canonical text (it is hashed and stored), so building a map
//! of owned strings for each event only to write it out again and drop it was the largest
//! piece of decoding a batch. Here the document is read into a borrowing tree (a string
//! without escapes stays a slice of the request body) and written out with its keys sorted,
//! byte for byte what [`EventData::parse`](super::EventData::parse) writes from a `Value`.

use std::borrow::Cow;
use std::fmt::{self, Write as _};

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Number, Value};

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
    pub(crate) fn of(value: &Value) -> Self {
        match value {
            Value::Null => JsonKind::Null,
            Value::Bool(_) => JsonKind::Bool,
            Value::Number(_) => JsonKind::Number,
            Value::String(_) => JsonKind::String,
            Value::Array(_) => JsonKind::Array,
            Value::Object(_) => JsonKind::Object,
        }
    }

    pub(crate) fn in_words(self) -> &'static str {
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

/// event_data as read from a request: its canonical text, and what validation needs to know.
/// Any JSON deserialises into it; whether it is an acceptable event_data is
/// [`EventData::parse`](super::EventData::parse)'s to say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventDataText {
    /// Compact JSON, object keys sorted, a repeated key holding its last value.
    pub(crate) canonical: String,
    /// What the document is (only an object is event_data).
    pub(crate) kind: JsonKind,
    /// Levels of objects and arrays: `{}` is 1, `{"a":{}}` and `{"a":[]}` are 2.
    pub(crate) depth: usize,
    /// Whether a key or a string holds NUL.
    pub(crate) has_nul: bool,
}

impl<'de> Deserialize<'de> for EventDataText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let node = Node::deserialize(deserializer)?;
        let mut text = EventDataText {
            canonical: String::new(),
            kind: node.kind(),
            depth: 0,
            has_nul: false,
        };
        let mut out = String::with_capacity(node.approx_len());
        text.write(&mut out, &node, 1);
        text.canonical = out;
        Ok(text)
    }
}

/// A JSON document, its strings borrowed where the input had no escapes. serde_json's own
/// nesting limit (128) bounds its depth, so recursing over it is safe.
enum Node<'a> {
    Null,
    Bool(bool),
    Number(Number),
    String(Cow<'a, str>),
    Array(Vec<Node<'a>>),
    Object(Vec<(Cow<'a, str>, Node<'a>)>),
}

impl Node<'_> {
    fn kind(&self) -> JsonKind {
        match self {
            Node::Null => JsonKind::Null,
            Node::Bool(_) => JsonKind::Bool,
            Node::Number(_) => JsonKind::Number,
            Node::String(_) => JsonKind::String,
            Node::Array(_) => JsonKind::Array,
            Node::Object(_) => JsonKind::Object,
        }
    }

    /// About the length of its compact text (exact when no string needs escaping).
    fn approx_len(&self) -> usize {
        match self {
            Node::Null | Node::Bool(_) => 5,
            Node::Number(_) => 8,
            Node::String(s) => s.len() + 2,
            Node::Array(items) => 2 + items.iter().map(|i| i.approx_len() + 1).sum::<usize>(),
            Node::Object(entries) => {
                2 + entries
                    .iter()
                    .map(|(k, v)| k.len() + 4 + v.approx_len())
                    .sum::<usize>()
            }
        }
    }
}

impl EventDataText {
    /// Writes `node`, found at nesting level `depth`, as canonical JSON.
    fn write(&mut self, out: &mut String, node: &Node<'_>, depth: usize) {
        match node {
            Node::Null => out.push_str("null"),
            Node::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            // As serde_json writes it (its `Display`); writing to a String cannot fail.
            Node::Number(n) => {
                let _ = write!(out, "{n}");
            }
            Node::String(s) => self.write_str(out, s),
            Node::Array(items) => {
                self.depth = self.depth.max(depth);
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    self.write(out, item, depth + 1);
                }
                out.push(']');
            }
            Node::Object(entries) => {
                self.depth = self.depth.max(depth);
                let mut sorted: Vec<&(Cow<'_, str>, Node<'_>)> = entries.iter().collect();
                // Stable: of a repeated key, the last one read stays last, and is the one kept.
                sorted.sort_by(|a, b| a.0.cmp(&b.0));
                out.push('{');
                let mut first = true;
                for (i, (key, value)) in sorted.iter().copied().enumerate() {
                    if sorted.get(i + 1).is_some_and(|next| next.0 == *key) {
                        continue;
                    }
                    if !first {
                        out.push(',');
                    }
                    first = false;
                    self.write_str(out, key);
                    out.push(':');
                    self.write(out, value, depth + 1);
                }
                out.push('}');
            }
        }
    }

    // The `Cow` itself tells whether the input escaped anything.
    #[allow(clippy::ptr_arg)]
    fn write_str(&mut self, out: &mut String, s: &Cow<'_, str>) {
        if let Cow::Borrowed(s) = s {
            // Read without escapes, so it holds nothing JSON escapes (quotes, backslashes and
            // control characters must be escaped in the input): the text goes out as it came,
            // as serde_json would write it.
            out.push('"');
            out.push_str(s);
            out.push('"');
        } else {
            self.has_nul |= s.contains('\0');
            // Serialising a string cannot fail.
            out.push_str(&serde_json::to_string(s.as_ref()).unwrap_or_default());
        }
    }
}

impl<'de> Deserialize<'de> for Node<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

/// Numbers as `serde_json::Value` takes them, so that they are written the same.
impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<Node<'de>, E> {
        Ok(Node::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Node<'de>, E> {
        Ok(Node::Number(n.into()))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Node<'de>, E> {
        Ok(Node::Number(n.into()))
    }

    fn visit_f64<E>(self, n: f64) -> Result<Node<'de>, E> {
        Ok(Number::from_f64(n).map_or(Node::Null, Node::Number))
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Node<'de>, E> {
        Ok(Node::String(Cow::Borrowed(s)))
    }

    fn visit_str<E>(self, s: &str) -> Result<Node<'de>, E> {
        Ok(Node::String(Cow::Owned(s.to_owned())))
    }

    fn visit_string<E>(self, s: String) -> Result<Node<'de>, E> {
        Ok(Node::String(Cow::Owned(s)))
    }

    fn visit_unit<E>(self) -> Result<Node<'de>, E> {
        Ok(Node::Null)
    }

    fn visit_none<E>(self) -> Result<Node<'de>, E> {
        Ok(Node::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node<'de>, D::Error> {
        Node::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node<'de>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node<'de>, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(64));
        while let Some(Key(key)) = map.next_key()? {
            entries.push((key, map.next_value()?));
        }
        Ok(Node::Object(entries))
    }
}

/// An object key, borrowed where the input had no escapes (serde's own `Cow` always copies).
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E>(self, s: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{EventData, EventDataInput};
    use proptest::prelude::*;
    use serde_json::{Value, json};

    /// Both ways to event_data from the same JSON text: through a `Value`, and straight to
    /// canonical text.
    fn both(text: &str) -> (Result<EventData, String>, Result<EventData, String>) {
        let value: Value = serde_json::from_str(text).unwrap();
        let read: EventDataText = serde_json::from_str(text).unwrap();
        let show = |r: Result<EventData, crate::ValidationErrors>| r.map_err(|e| format!("{e:?}"));
        (show(EventData::parse(value)), show(EventData::parse(read)))
    }

    /// JSON text with every non-ASCII character written as a `\u` escape (surrogate pairs
    /// beyond the BMP), so that strings arrive escaped and are not borrowed.
    fn ascii_escaped(value: &Value) -> String {
        let mut out = String::new();
        for c in serde_json::to_string(value).unwrap().chars() {
            if c.is_ascii() {
                out.push(c);
            } else {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
        out
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            "[a-z\"\\\\/\n\t\u{1}é🚒 ]{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 40, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec(("[a-c\"é\u{1}]{0,3}", inner), 0..6)
                    .prop_map(|entries| Value::Object(entries.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn reads_to_the_same_event_data_as_a_value_does(value in json_value()) {
            for text in [
                serde_json::to_string(&value).unwrap(),
                serde_json::to_string_pretty(&value).unwrap(),
                ascii_escaped(&value),
            ] {
                let (through_value, read) = both(&text);
                prop_assert_eq!(&through_value, &read, "{}", text);
                // The object is the canonical text read back, as a store reading it would
                // (serde_json's default float parsing may land a float one unit off the
                // first reading, which the canonical text does not depend on).
                if let Ok(read) = read {
                    let again: serde_json::Map<String, Value> =
                        serde_json::from_str(read.as_json()).unwrap();
                    prop_assert_eq!(read.as_map(), &again);
                }
            }
        }
    }

    #[test]
    fn a_repeated_key_keeps_its_last_value_and_keys_come_out_sorted() {
        let text = r#"{"b": 1, "a": {"y": [1, 2.5, "x"], "x": null}, "b": "last", "\u0061": true}"#;
        let (through_value, read) = both(text);
        let read = read.unwrap();
        assert_eq!(read.as_json(), r#"{"a":true,"b":"last"}"#);
        assert_eq!(through_value.unwrap(), read);
    }

    #[test]
    fn what_event_data_refuses_it_refuses_read_either_way() {
        let deep = format!("{}{}", r#"{"a":"#.repeat(11), "}".repeat(11)).replace(":}", ":1}");
        for text in [
            "[1]",
            "null",
            "\"text\"",
            "12",
            r#"{"nul": "a\u0000b"}"#,
            r#"{"a\u0000": 1}"#,
            deep.as_str(),
            &format!(r#"{{"big": "{}"}}"#, "x".repeat(EventData::MAX_BYTES)),
        ] {
            let (through_value, read) = both(text);
            assert!(read.is_err(), "{text}");
            assert_eq!(through_value, read, "{text}");
        }
        let read: EventDataText = serde_json::from_str("[1]").unwrap();
        assert!(matches!(
            EventData::parse(EventDataInput::Text(read)),
            Err(e) if format!("{e:?}").contains("must be a JSON object (got an array)")
        ));
    }

    #[test]
    fn a_string_without_escapes_is_written_as_it_came() {
        let read: EventDataText =
            serde_json::from_str(r#"{"note": "plain é 🚒 text", "n": -0.0, "m": 1e2}"#).unwrap();
        assert_eq!(
            read.canonical,
            serde_json::to_string(&json!({"m": 100.0, "n": -0.0, "note": "plain é 🚒 text"}))
                .unwrap()
        );
    }
}
