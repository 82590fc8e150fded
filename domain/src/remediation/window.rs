//! The look-back windows of the remediation history: Go duration syntax (what the original's
//! clients send, `24h`, `2160h`, `1h30m`) plus a day unit (`7d`, `90d`), which the original
//! rejects although its own design documents use it.

use std::fmt;

use chrono::Duration;

/// A positive look-back span, kept in nanoseconds like Go's `time.Duration`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct HistoryWindow(i64);

/// Why a window was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    #[error("not a duration")]
    Syntax,
    #[error("not positive")]
    NotPositive,
}

const NANOS_PER_SECOND: i64 = 1_000_000_000;

fn unit_nanos(unit: &str) -> Option<u128> {
    Some(match unit {
        "ns" => 1,
        "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        "d" => 86_400_000_000_000,
        _ => return None,
    })
}

impl HistoryWindow {
    /// Tier 1's default: one day.
    pub const DEFAULT_TIER1: HistoryWindow = HistoryWindow(24 * 3_600 * NANOS_PER_SECOND);
    /// Tier 2's default: 90 days.
    pub const DEFAULT_TIER2: HistoryWindow = HistoryWindow(2_160 * 3_600 * NANOS_PER_SECOND);

    /// Parses `[+-]?(<number><unit>)+` with Go's units (`ns`, `us`/`µs`, `ms`, `s`, `m`, `h`)
    /// and `d`; numbers may carry a fraction (`1.5h`); a bare `0` is zero (not positive).
    ///
    /// # Errors
    /// [`WindowError::Syntax`] for anything else or a span beyond Go's 292 years;
    /// [`WindowError::NotPositive`] for zero or a negative span.
    pub fn parse(text: &str) -> Result<Self, WindowError> {
        let (negative, mut rest) = match text.as_bytes().first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        if rest == "0" {
            return Err(WindowError::NotPositive);
        }
        if rest.is_empty() {
            return Err(WindowError::Syntax);
        }
        let mut total: u128 = 0;
        while !rest.is_empty() {
            let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
            let (int_part, after) = rest.split_at(int_len);
            let (frac_part, after) = match after.strip_prefix('.') {
                Some(after) => {
                    let len = after.bytes().take_while(u8::is_ascii_digit).count();
                    after.split_at(len)
                }
                None => ("", after),
            };
            if int_part.is_empty() && frac_part.is_empty() {
                return Err(WindowError::Syntax);
            }
            let unit_len = after
                .char_indices()
                .find(|(_, c)| c.is_ascii_digit() || *c == '.')
                .map_or(after.len(), |(i, _)| i);
            let (unit, after) = after.split_at(unit_len);
            let per = unit_nanos(unit).ok_or(WindowError::Syntax)?;
            let whole: u128 = if int_part.is_empty() {
                0
            } else {
                int_part.parse().map_err(|_| WindowError::Syntax)?
            };
            let mut part = whole.checked_mul(per).ok_or(WindowError::Syntax)?;
            // Fractions beyond nanosecond precision are dropped, as Go drops them.
            let mut scale = per;
            for digit in frac_part.bytes().take(30) {
                scale /= 10;
                part += u128::from(digit - b'0') * scale;
            }
            total = total.checked_add(part).ok_or(WindowError::Syntax)?;
            if total > i64::MAX as u128 {
                return Err(WindowError::Syntax);
            }
            rest = after;
        }
        if negative || total == 0 {
            return Err(WindowError::NotPositive);
        }
        Ok(Self(total as i64))
    }

    pub fn as_duration(&self) -> Duration {
        Duration::nanoseconds(self.0)
    }

    pub const fn nanos(&self) -> i64 {
        self.0
    }
}

/// Go's `Duration.String()`: `24h0m0s`, `1m30s`, `1.5s`, `250ms`; what the original echoes.
impl fmt::Display for HistoryWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn fraction(f: &mut fmt::Formatter<'_>, whole: i64, rest: i64, digits: u32) -> fmt::Result {
            write!(f, "{whole}")?;
            if rest != 0 {
                let text = format!("{rest:0width$}", width = digits as usize);
                write!(f, ".{}", text.trim_end_matches('0'))?;
            }
            Ok(())
        }
        let n = self.0;
        if n < NANOS_PER_SECOND {
            return match n {
                0 => f.write_str("0s"),
                n if n < 1_000 => write!(f, "{n}ns"),
                n if n < 1_000_000 => {
                    fraction(f, n / 1_000, n % 1_000, 3)?;
                    f.write_str("\u{b5}s")
                }
                n => {
                    fraction(f, n / 1_000_000, n % 1_000_000, 6)?;
                    f.write_str("ms")
                }
            };
        }
        let (secs, nanos) = (n / NANOS_PER_SECOND, n % NANOS_PER_SECOND);
        let (hours, minutes, seconds) = (secs / 3_600, secs / 60 % 60, secs % 60);
        if hours > 0 {
            write!(f, "{hours}h")?;
        }
        if hours > 0 || minutes > 0 {
            write!(f, "{minutes}m")?;
        }
        fraction(f, seconds, nanos, 9)?;
        f.write_str("s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn shown(text: &str) -> String {
        HistoryWindow::parse(text).map_or_else(|e| format!("{e:?}"), |w| w.to_string())
    }

    #[test]
    fn go_durations_parse_and_print_as_go_prints_them() {
        assert_eq!(shown("24h"), "24h0m0s");
        assert_eq!(shown("2160h"), "2160h0m0s");
        assert_eq!(shown("1h30m"), "1h30m0s");
        assert_eq!(shown("90s"), "1m30s");
        assert_eq!(shown("1.5h"), "1h30m0s");
        assert_eq!(shown("1.5s"), "1.5s");
        assert_eq!(shown("250ms"), "250ms");
        assert_eq!(shown("1500us"), "1.5ms");
        assert_eq!(shown("2\u{b5}s"), "2\u{b5}s");
        assert_eq!(shown("7ns"), "7ns");
        assert_eq!(shown("+3m"), "3m0s");
        assert_eq!(shown(".5m"), "30s");
        assert_eq!(shown("1h0.5s"), "1h0m0.5s");
    }

    #[test]
    fn days_are_accepted_beyond_the_original() {
        assert_eq!(shown("7d"), "168h0m0s");
        assert_eq!(shown("90d"), "2160h0m0s");
        assert_eq!(shown("1d12h"), "36h0m0s");
        assert_eq!(
            HistoryWindow::parse("90d"),
            Ok(HistoryWindow::DEFAULT_TIER2)
        );
        assert_eq!(HistoryWindow::parse("1d"), Ok(HistoryWindow::DEFAULT_TIER1));
    }

    #[test]
    fn zero_and_negative_spans_are_not_positive() {
        for text in ["0", "0s", "0h0m", "-1h", "-0"] {
            assert_eq!(
                HistoryWindow::parse(text),
                Err(WindowError::NotPositive),
                "{text}"
            );
        }
    }

    #[test]
    fn everything_else_is_a_syntax_error() {
        for text in [
            "",
            "h",
            "24",
            "1w",
            "24 h",
            "1.h.",
            "abc",
            "1y",
            ".",
            "-",
            "1hh",
            "1H",
            "9999999999999999999h",
            "106752d",
        ] {
            assert_eq!(
                HistoryWindow::parse(text),
                Err(WindowError::Syntax),
                "{text}"
            );
        }
        // Go's largest duration, about 292 years, still parses.
        assert!(HistoryWindow::parse("2562047h").is_ok());
    }

    proptest! {
        #[test]
        fn any_text_is_a_window_or_an_error_never_a_panic(s in "\\PC{0,16}") {
            let _ = HistoryWindow::parse(&s);
        }

        #[test]
        fn printed_windows_parse_back_to_themselves(n in 1i64..i64::MAX) {
            let window = HistoryWindow(n);
            prop_assert_eq!(HistoryWindow::parse(&window.to_string()), Ok(window));
        }
    }
}
