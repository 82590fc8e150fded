//! RFC 8785 JSON Canonicalization Scheme (JCS).
//!
//! A log leaf is hashed over its canonical form, so two services that hold the same JSON value
//! must produce byte-identical output: members sorted by UTF-16 code units, no whitespace,
//! strings escaped as ECMAScript `JSON.stringify` does and numbers printed as ECMAScript
//! `Number.prototype.toString` prints an IEEE-754 double.

use serde_json::{Map, Number, Value};

/// The RFC 8785 canonical UTF-8 bytes of `value`.
pub fn canonicalize(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    write_canonical(&mut out, value);
    out
}

/// Appends the RFC 8785 canonical form of `value` to `out`.
pub fn write_canonical(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(number) => write_number(out, number),
        Value::String(text) => write_string(out, text),
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
        Value::Object(members) => write_object(out, members),
    }
}

/// Members in the order of RFC 8785 §3.2.3.
fn write_object(out: &mut Vec<u8>, members: &Map<String, Value>) {
    // serde_json's map orders keys by UTF-8 bytes (or by insertion), which differs from
    // UTF-16 order once keys mix supplementary-plane characters with U+E000..U+FFFF.
    let mut sorted: Vec<(&String, &Value)> = members.iter().collect();
    // Below U+E000 (UTF-8 lead bytes under 0xEE) UTF-8 byte order is UTF-16 order, so the
    // common case compares bytes and only keys with such characters pay for UTF-16.
    if sorted.iter().all(|(k, _)| k.bytes().all(|b| b < 0xEE)) {
        sorted.sort_by(|(a, _), (b, _)| a.as_bytes().cmp(b.as_bytes()));
    } else {
        sorted.sort_by(|(a, _), (b, _)| a.encode_utf16().cmp(b.encode_utf16()));
    }
    out.push(b'{');
    for (i, (name, member)) in sorted.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_string(out, name);
        out.push(b':');
        write_canonical(out, member);
    }
    out.push(b'}');
}

/// A JSON string escaped as RFC 8785 §3.2.2.2 requires.
fn write_string(out: &mut Vec<u8>, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    // Only ASCII bytes are ever escaped, and a UTF-8 continuation or lead byte is never
    // ASCII, so working on bytes copies every other character through unchanged; runs that
    // need no escape are copied whole.
    let bytes = text.as_bytes();
    let mut start = 0;
    for (i, &byte) in bytes.iter().enumerate() {
        if byte >= 0x20 && byte != b'"' && byte != b'\\' {
            continue;
        }
        out.extend_from_slice(&bytes[start..i]);
        start = i + 1;
        match byte {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x09 => out.extend_from_slice(b"\\t"),
            0x0a => out.extend_from_slice(b"\\n"),
            0x0c => out.extend_from_slice(b"\\f"),
            0x0d => out.extend_from_slice(b"\\r"),
            0x00..=0x1f => {
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(byte >> 4)]);
                out.push(HEX[usize::from(byte & 0x0f)]);
            }
            _ => out.push(byte),
        }
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

fn write_number(out: &mut Vec<u8>, number: &Number) {
    // An integer a double holds exactly prints as its digits in ECMAScript too.
    const EXACT: u64 = 1 << 53;
    if let Some(i) = number.as_i64().filter(|i| i.unsigned_abs() <= EXACT) {
        out.extend_from_slice(i.to_string().as_bytes());
        return;
    }
    if let Some(u) = number.as_u64().filter(|u| *u <= EXACT) {
        out.extend_from_slice(u.to_string().as_bytes());
        return;
    }
    match number.as_f64() {
        Some(value) => out.extend_from_slice(format_double(value).as_bytes()),
        // Without serde_json's `arbitrary_precision` every number converts to a double, so
        // this arm is unreachable; the number's own text is the least surprising fallback.
        None => out.extend_from_slice(number.to_string().as_bytes()),
    }
}

/// ECMAScript `Number::toString(x)` (ECMA-262 7.1.12.1 in ES2015, RFC 8785 §3.2.2.3).
///
/// serde_json cannot hold NaN or an infinity; should one reach this function it prints
/// `null`, as `JSON.stringify` does, rather than emitting text that is not JSON.
pub fn format_double(value: f64) -> String {
    if !value.is_finite() {
        return "null".to_owned();
    }
    // Covers -0 as well, which ECMAScript prints without its sign.
    if value == 0.0 {
        return "0".to_owned();
    }
    let mut text = String::new();
    if value < 0.0 {
        text.push('-');
    }
    // Rust's `{:e}` prints the shortest digit string that round-trips, the closest one when
    // several are equally short: ECMAScript's `s`, `k` and `n`, except for exact ties.
    let (digits, exponent) = split_scientific(&format!("{:e}", value.abs()));
    let digits = break_tie_to_even(value.abs(), digits, exponent);
    let k = i64::try_from(digits.len()).unwrap_or(i64::MAX);
    // ECMAScript's n places the decimal point after n digits: value = 0.d1d2... × 10^n.
    let n = exponent + 1;

    if k <= n && n <= 21 {
        text.push_str(&digits);
        text.extend(std::iter::repeat_n(
            '0',
            usize::try_from(n - k).unwrap_or(0),
        ));
    } else if 0 < n && n <= 21 {
        let (whole, fraction) = digits.split_at(usize::try_from(n).unwrap_or(0));
        text.push_str(whole);
        text.push('.');
        text.push_str(fraction);
    } else if -6 < n && n <= 0 {
        text.push_str("0.");
        text.extend(std::iter::repeat_n('0', usize::try_from(-n).unwrap_or(0)));
        text.push_str(&digits);
    } else {
        let (first, rest) = digits.split_at(1);
        text.push_str(first);
        if !rest.is_empty() {
            text.push('.');
            text.push_str(rest);
        }
        text.push('e');
        if n > 0 {
            text.push('+');
        }
        text.push_str(&(n - 1).to_string());
    }
    text
}

/// The significant digits and the decimal exponent of Rust's `{:e}` output, `d.ddde±x`.
fn split_scientific(text: &str) -> (String, i64) {
    let (mantissa, exponent) = text.split_once('e').unwrap_or((text, "0"));
    let digits = mantissa.chars().filter(char::is_ascii_digit).collect();
    (digits, exponent.parse().unwrap_or(0))
}

/// Applies ECMAScript's "if there are two such possible values of s, choose the one that is
/// even" to Rust's shortest `digits × 10^(exponent - k + 1)` of a positive double.
///
/// Rust rounds an exact tie up, so `1424953923781206.25` (RFC 8785 Appendix B) would come out
/// as `…206.3` where ECMAScript prints `…206.2`. A tie needs the double's exact decimal
/// expansion to end in a 5 right after the k-th digit, which only an odd last digit can need.
fn break_tie_to_even(value: f64, digits: String, exponent: i64) -> String {
    let odd = digits.bytes().last().is_some_and(|d| (d - b'0') % 2 == 1);
    if !odd {
        return digits;
    }
    // A double's exact decimal expansion has at most 767 significant digits, so this
    // precision prints it without rounding.
    let (exact, exact_exponent) = split_scientific(&format!("{:.767e}", value));
    let exact = exact.trim_end_matches('0');
    let k = digits.len();
    if exact_exponent != exponent || exact.len() != k + 1 || !exact.ends_with('5') {
        return digits;
    }
    let below = &exact[..k];
    let other = if digits == below {
        match increment_digits(below) {
            Some(above) => above,
            None => return digits,
        }
    } else {
        below.to_owned()
    };
    // Both neighbours are equally close, but the even one must still round-trip.
    let (first, rest) = other.split_at(1);
    let round_trips = format!("{first}.{rest}e{exponent}").parse::<f64>() == Ok(value);
    if round_trips { other } else { digits }
}

/// `digits + 1` in the last place, or `None` when that carries into a new leading digit.
fn increment_digits(digits: &str) -> Option<String> {
    let mut bytes = digits.as_bytes().to_vec();
    for byte in bytes.iter_mut().rev() {
        if *byte == b'9' {
            *byte = b'0';
        } else {
            *byte += 1;
            return String::from_utf8(bytes).ok();
        }
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn canonical_text(json: &str) -> String {
        let value: Value = serde_json::from_str(json).unwrap();
        String::from_utf8(canonicalize(&value)).unwrap()
    }

    /// RFC 8785 Appendix B: IEEE-754 bit patterns and their canonical text.
    #[test]
    fn appendix_b_numbers() {
        let table: &[(u64, &str)] = &[
            (0x0000000000000000, "0"),
            (0x8000000000000000, "0"),
            (0x0000000000000001, "5e-324"),
            (0x8000000000000001, "-5e-324"),
            (0x7fefffffffffffff, "1.7976931348623157e+308"),
            (0xffefffffffffffff, "-1.7976931348623157e+308"),
            (0x4340000000000000, "9007199254740992"),
            (0xc340000000000000, "-9007199254740992"),
            (0x4430000000000000, "295147905179352830000"),
            (0x44b52d02c7e14af5, "9.999999999999997e+22"),
            (0x44b52d02c7e14af6, "1e+23"),
            (0x44b52d02c7e14af7, "1.0000000000000001e+23"),
            (0x444b1ae4d6e2ef4e, "999999999999999700000"),
            (0x444b1ae4d6e2ef4f, "999999999999999900000"),
            (0x444b1ae4d6e2ef50, "1e+21"),
            (0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"),
            (0x3eb0c6f7a0b5ed8d, "0.000001"),
            (0x41b3de4355555553, "333333333.3333332"),
            (0x41b3de4355555554, "333333333.33333325"),
            (0x41b3de4355555555, "333333333.3333333"),
            (0x41b3de4355555556, "333333333.3333334"),
            (0x41b3de4355555557, "333333333.33333343"),
            (0xbecbf647612f3696, "-0.0000033333333333333333"),
            (0x43143ff3c1cb0959, "1424953923781206.2"),
        ];
        for &(bits, expected) in table {
            let value = f64::from_bits(bits);
            assert_eq!(format_double(value), expected, "bits {bits:016x}");
            // The same double must print the same way when it arrives inside a JSON value.
            if let Some(number) = Number::from_f64(value) {
                let text = String::from_utf8(canonicalize(&Value::Number(number))).unwrap();
                assert_eq!(text, expected, "bits {bits:016x} as a JSON value");
            }
        }
    }

    #[test]
    fn number_formats_at_the_boundaries() {
        assert_eq!(format_double(1e21), "1e+21");
        assert_eq!(format_double(1e20), "100000000000000000000");
        assert_eq!(format_double(123e18), "123000000000000000000");
        assert_eq!(format_double(1.5e-6), "0.0000015");
        assert_eq!(format_double(1e-7), "1e-7");
        assert_eq!(format_double(1.25e-7), "1.25e-7");
        assert_eq!(format_double(0.5), "0.5");
        assert_eq!(format_double(-12.75), "-12.75");
        assert_eq!(format_double(f64::NAN), "null");
        // Exact ties between two shortest candidates go to the even one. The doubles are
        // built by addition, which is exact here, because their literals would be rounded.
        let base = 1_125_899_906_842_624.0_f64; // 2^50, where doubles are 0.25 apart
        assert_eq!(format_double(base + 1.25), "1125899906842625.2");
        assert_eq!(format_double(base + 1.75), "1125899906842625.8");
        assert_eq!(format_double(base + 0.75), "1125899906842624.8");
        assert_eq!(format_double(-(base + 1.25)), "-1125899906842625.2");
    }

    #[test]
    fn integers_go_through_doubles() {
        assert_eq!(canonical_text("0"), "0");
        assert_eq!(canonical_text("-0"), "0");
        assert_eq!(canonical_text("-0.0"), "0");
        assert_eq!(canonical_text("42"), "42");
        assert_eq!(canonical_text("-9007199254740993"), "-9007199254740992");
        assert_eq!(
            canonical_text("18446744073709551615"),
            "18446744073709552000"
        );
        assert_eq!(
            canonical_text("-9223372036854775808"),
            "-9223372036854776000"
        );
    }

    /// RFC 8785 §3.2.3: names compare as UTF-16 code unit sequences.
    #[test]
    fn sorts_members_by_utf16_code_units() {
        let input = r#"{"\u20ac": "Euro Sign", "\r": "Carriage Return", "\ufb33": "Hebrew Letter Dalet With Dagesh", "1": "One", "\ud83d\ude00": "Emoji: Grinning Face", "\u0080": "Control", "\u00f6": "Latin Small Letter O With Diaeresis"}"#;
        let expected = "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",\
                        \"\u{f6}\":\"Latin Small Letter O With Diaeresis\",\"\u{20ac}\":\"Euro Sign\",\
                        \"\u{1f600}\":\"Emoji: Grinning Face\",\
                        \"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}";
        assert_eq!(canonical_text(input), expected);
    }

    /// The input and canonical output of the example in RFC 8785 §3.2.2.
    #[test]
    fn rfc_example() {
        let input = r#"{
            "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
            "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
            "literals": [null, true, false]
        }"#;
        let expected = r#"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#;
        assert_eq!(canonical_text(input), expected);
    }

    #[test]
    fn escapes_strings_like_json_stringify() {
        let all_controls: String = (0u8..0x20).map(char::from).collect();
        let text = String::from_utf8(canonicalize(&Value::String(all_controls))).unwrap();
        assert_eq!(
            text,
            "\"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r\
             \\u000e\\u000f\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\
             \\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f\""
        );
        assert_eq!(
            canonical_text(r#""\u007f \u2028 \u2029 / \" \\ é 😀""#),
            "\"\u{7f} \u{2028} \u{2029} / \\\" \\\\ é 😀\""
        );
    }

    #[test]
    fn nested_values_have_no_whitespace() {
        assert_eq!(
            canonical_text(r#" { "b" : [ 1 , { "d" : {}, "c" : [] } ] , "a" : "" } "#),
            r#"{"a":"","b":[1,{"c":[],"d":{}}]}"#
        );
    }

    /// Canonical output is JSON that parses back to the same value, and canonicalizing is
    /// idempotent, for integers that doubles hold exactly and for a spread of doubles.
    #[test]
    fn output_round_trips() {
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            // xorshift64: a cheap deterministic generator, enough to spread bit patterns.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            let raw = next();
            let integer = (raw >> 11) as i64 * if raw & 1 == 0 { 1 } else { -1 };
            let double = f64::from_bits(next());
            let mut members = Map::new();
            members.insert(format!("k{}", raw % 97), Value::from(integer));
            if let Some(number) = Number::from_f64(double) {
                members.insert("d".to_owned(), Value::Number(number));
            }
            let value = Value::Object(members);
            let bytes = canonicalize(&value);
            let reparsed: Value = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(
                reparsed.get("d").and_then(Value::as_f64),
                value.get("d").and_then(Value::as_f64)
            );
            assert_eq!(
                reparsed.as_object().unwrap().len(),
                value.as_object().unwrap().len()
            );
            for (name, member) in value.as_object().unwrap() {
                if name != "d" {
                    assert_eq!(reparsed[name].as_f64(), member.as_f64(), "{name}");
                    assert_eq!(reparsed[name].as_i64(), member.as_i64(), "{name}");
                }
            }
            assert_eq!(canonicalize(&reparsed), bytes);
        }
    }
}
