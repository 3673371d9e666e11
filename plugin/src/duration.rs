//! The `1h30m` duration syntax of `testDuration`.
//!
//! A duration is one to three components, hours then minutes then seconds,
//! each written as ASCII digits followed by its unit: `6h`, `15m`, `45s`,
//! `1h30m`, `2h5s`, `1h30m15s`. Each component is optional but at least one
//! is required, and none may repeat or come out of order.
//!
//! The syntax is deliberately a strict subset of Go's `time.ParseDuration`
//! (which k6 uses for `--duration` and `--stage`), so every text [`parse`]
//! accepts and every text [`format`] writes means the same thing to k6. Go's
//! extras are refused on purpose: fractions (`1.5h`), signs, `ms`/`us`/`ns`,
//! and plain numbers, whose unit an operator would otherwise have to guess.

use thiserror::Error;

/// Why a duration text was refused. Each message completes a sentence that
/// starts with the value (`"90" is a plain number; …`).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DurationError {
    /// Nothing was written.
    #[error("is empty; write a duration such as 30s, 15m, 6h or 1h30m")]
    Empty,
    /// Only digits: the unit is missing.
    #[error("is a plain number; add a unit: 30s, 15m, 6h or 1h30m")]
    PlainNumber,
    /// The last component has digits but no unit (`1h30`).
    #[error("ends with the number {0} without a unit; add a unit: 30s, 15m, 6h or 1h30m")]
    TrailingNumber(String),
    /// A unit or other letters where a number must come (`h`, `PT1H`).
    #[error("has '{0}' where a number should be; write a number before each unit, as in 1h30m")]
    NumberExpected(String),
    /// A `+` or `-`.
    #[error("has a sign ('{0}'); a duration is never negative, write it as 30s, 15m or 1h30m")]
    Sign(char),
    /// A decimal point or comma (`1.5h`).
    #[error("has a fraction ('{0}'); use whole units, as in 1h30m instead of 1.5h")]
    Fraction(char),
    /// Whitespace anywhere (`1h 30m`, ` 5m`).
    #[error("contains whitespace; write the parts together, as in 1h30m")]
    Whitespace,
    /// Letters that are not `h`, `m` or `s` (`ms`, `d`, `H`, `min`).
    #[error("uses the unit '{0}'; the units are h (hours), m (minutes) and s (seconds)")]
    UnknownUnit(String),
    /// A unit after a smaller one (`30m1h`).
    #[error(
        "has '{unit}' after '{after}'; write hours, then minutes, then seconds, as in 1h30m15s"
    )]
    OutOfOrder {
        /// The unit that came too late.
        unit: char,
        /// The smaller unit before it.
        after: char,
    },
    /// The same unit twice (`1h2h`).
    #[error("repeats the unit '{0}'; write each of h, m and s at most once, as in 1h30m")]
    Repeated(char),
    /// Any other character (punctuation, non-ASCII digits, control characters).
    #[error("contains {}, which has no place in a duration; write it as 30s, 15m, 6h or 1h30m", describe(*.0))]
    UnexpectedChar(char),
    /// More than `u32::MAX` seconds, the most a duration can hold.
    #[error(
        "is longer than {} ({} s), the longest duration there can be",
        format(u32::MAX),
        u32::MAX
    )]
    TooLong,
}

/// Shows a character so that an invisible or control character cannot hide
/// in a message: printable ASCII as itself, anything else by code point.
fn describe(c: char) -> String {
    if c.is_ascii_graphic() {
        format!("'{c}'")
    } else {
        format!("U+{:04X}", u32::from(c))
    }
}

/// Characters of a run of letters or digits quoted in a message; a longer
/// run is cut, so a hostile value cannot make the message long.
const MAX_QUOTED_CHARS: usize = 10;

/// The first [`MAX_QUOTED_CHARS`] characters of a run, with `…` if cut.
/// Runs hold ASCII letters or digits only, so the cut falls on a character
/// boundary.
fn shortened(run: &str) -> String {
    match run.get(..MAX_QUOTED_CHARS) {
        Some(head) if head.len() < run.len() => format!("{head}…"),
        _ => run.to_owned(),
    }
}

/// The seconds in one hour, minute and second, with the unit letter; the
/// index in this table is the order the units must come in.
const UNITS: [(char, u64); 3] = [('h', 3600), ('m', 60), ('s', 1)];

/// Reads a duration such as `1h30m` and returns its length in seconds.
///
/// # Errors
///
/// [`DurationError`] says what is wrong: no unit, an unknown unit, units out
/// of order or repeated, a sign, a fraction, whitespace, a stray character,
/// or more seconds than a `u32` holds.
pub fn parse(text: &str) -> Result<u32, DurationError> {
    if text.is_empty() {
        return Err(DurationError::Empty);
    }
    // Whole-text checks first, so that `1h 30m` or `-5m` get the message
    // about what is really wrong rather than one about a strange unit.
    if text.chars().any(char::is_whitespace) {
        return Err(DurationError::Whitespace);
    }
    if let Some(sign) = text.chars().find(|c| matches!(c, '+' | '-')) {
        return Err(DurationError::Sign(sign));
    }
    if let Some(point) = text.chars().find(|c| matches!(c, '.' | ',')) {
        return Err(DurationError::Fraction(point));
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DurationError::PlainNumber);
    }

    let mut total: u64 = 0;
    // Index in `UNITS` of the previous component's unit.
    let mut previous: Option<usize> = None;
    let mut rest = text;
    while !rest.is_empty() {
        let digits_end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let (digits, after_digits) = rest.split_at(digits_end);
        // Units are ASCII letters; a non-ASCII letter (a full-width `ｈ`)
        // is reported by code point as an unexpected character.
        let unit_end = after_digits
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(after_digits.len());
        let (unit, after_unit) = after_digits.split_at(unit_end);

        if digits.is_empty() {
            if unit.is_empty() {
                // Neither a digit nor a letter: a stray character.
                return Err(match after_unit.chars().next() {
                    Some(c) => DurationError::UnexpectedChar(c),
                    None => DurationError::Empty,
                });
            }
            return Err(DurationError::NumberExpected(shortened(unit)));
        }
        if unit.is_empty() {
            return Err(match after_unit.chars().next() {
                Some(c) => DurationError::UnexpectedChar(c),
                None => DurationError::TrailingNumber(shortened(digits)),
            });
        }

        let index = UNITS
            .iter()
            .position(|(letter, _)| unit.len() == 1 && unit.starts_with(*letter))
            .ok_or_else(|| DurationError::UnknownUnit(shortened(unit)))?;
        if let Some(prev) = previous {
            let letter = UNITS[index].0;
            if index == prev {
                return Err(DurationError::Repeated(letter));
            }
            if index < prev {
                return Err(DurationError::OutOfOrder {
                    unit: letter,
                    after: UNITS[prev].0,
                });
            }
        }
        previous = Some(index);

        // Any digit string longer than u64 can hold is far past u32 seconds.
        let value: u64 = digits.parse().map_err(|_| DurationError::TooLong)?;
        total = value
            .checked_mul(UNITS[index].1)
            .and_then(|seconds| total.checked_add(seconds))
            .ok_or(DurationError::TooLong)?;
        rest = after_unit;
    }
    u32::try_from(total).map_err(|_| DurationError::TooLong)
}

/// Writes `seconds` in the canonical form: hours, minutes and seconds with
/// zero components left out (`5400` → `1h30m`, `7205` → `2h5s`, `0` → `0s`).
/// Both [`parse`] and Go's `time.ParseDuration` (k6) read it back.
pub fn format(seconds: u32) -> String {
    if seconds == 0 {
        return "0s".to_owned();
    }
    let (hours, minutes, secs) = (seconds / 3600, seconds % 3600 / 60, seconds % 60);
    let mut text = String::new();
    for (value, unit) in [(hours, 'h'), (minutes, 'm'), (secs, 's')] {
        if value > 0 {
            text.push_str(&value.to_string());
            text.push(unit);
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_every_documented_form() {
        for (text, seconds) in [
            ("6h", 21_600),
            ("15m", 900),
            ("1h30m", 5_400),
            ("45s", 45),
            ("2h5s", 7_205),
            ("1h30m15s", 5_415),
            ("0s", 0),
            ("05m", 300),
            ("90m", 5_400),
            ("1193046h28m15s", u32::MAX),
        ] {
            assert_eq!(parse(text), Ok(seconds), "{text}");
        }
    }

    #[test]
    fn refuses_with_a_reason() {
        use DurationError as E;
        for (text, error) in [
            ("", E::Empty),
            ("90", E::PlainNumber),
            ("1h30", E::TrailingNumber("30".into())),
            ("h", E::NumberExpected("h".into())),
            ("PT1H", E::NumberExpected("PT".into())),
            ("-5m", E::Sign('-')),
            ("+5m", E::Sign('+')),
            ("1.5h", E::Fraction('.')),
            ("1,5h", E::Fraction(',')),
            ("1h 30m", E::Whitespace),
            (" 5m", E::Whitespace),
            ("5m\n", E::Whitespace),
            ("500ms", E::UnknownUnit("ms".into())),
            ("2d", E::UnknownUnit("d".into())),
            ("5H", E::UnknownUnit("H".into())),
            ("5min", E::UnknownUnit("min".into())),
            ("5abcdefghijklm", E::UnknownUnit("abcdefghij…".into())),
            ("5ｈ", E::UnexpectedChar('ｈ')),
            ("1h12345678901234", E::TrailingNumber("1234567890…".into())),
            ("1hm", E::UnknownUnit("hm".into())),
            (
                "30m1h",
                E::OutOfOrder {
                    unit: 'h',
                    after: 'm',
                },
            ),
            (
                "5s3m",
                E::OutOfOrder {
                    unit: 'm',
                    after: 's',
                },
            ),
            ("1h2h", E::Repeated('h')),
            ("5m;rm", E::UnexpectedChar(';')),
            ("５m", E::UnexpectedChar('５')),
            ("5m\u{0}", E::UnexpectedChar('\u{0}')),
            ("1193046h28m16s", E::TooLong),
            ("4294967296s", E::TooLong),
            ("99999999999999999999999999h", E::TooLong),
            ("18446744073709551615h", E::TooLong),
        ] {
            assert_eq!(parse(text), Err(error), "{text:?}");
        }
    }

    #[test]
    fn messages_say_what_to_do() {
        assert_eq!(
            DurationError::PlainNumber.to_string(),
            "is a plain number; add a unit: 30s, 15m, 6h or 1h30m"
        );
        assert_eq!(
            DurationError::UnexpectedChar('\u{7}').to_string(),
            "contains U+0007, which has no place in a duration; write it as 30s, 15m, 6h or 1h30m"
        );
        assert_eq!(
            DurationError::TooLong.to_string(),
            "is longer than 1193046h28m15s (4294967295 s), the longest duration there can be"
        );
    }

    #[test]
    fn formats_canonically() {
        for (seconds, text) in [
            (0, "0s"),
            (30, "30s"),
            (60, "1m"),
            (3_600, "1h"),
            (5_400, "1h30m"),
            (7_205, "2h5s"),
            (5_415, "1h30m15s"),
            (86_400, "24h"),
            (u32::MAX, "1193046h28m15s"),
        ] {
            assert_eq!(format(seconds), text);
        }
    }

    proptest! {
        #[test]
        fn format_then_parse_round_trips(seconds: u32) {
            prop_assert_eq!(parse(&format(seconds)), Ok(seconds));
        }

        #[test]
        fn parse_never_panics(text in "\\PC{0,24}|[0-9hms.+ -]{0,12}") {
            let _ = parse(&text);
        }

        #[test]
        fn accepted_texts_are_components_in_order(h in proptest::option::of(0u32..1000),
                                                  m in proptest::option::of(0u32..1000),
                                                  s in proptest::option::of(0u32..1000)) {
            prop_assume!(h.is_some() || m.is_some() || s.is_some());
            let text = format!(
                "{}{}{}",
                h.map(|v| format!("{v}h")).unwrap_or_default(),
                m.map(|v| format!("{v}m")).unwrap_or_default(),
                s.map(|v| format!("{v}s")).unwrap_or_default(),
            );
            let expected = h.unwrap_or(0) * 3600 + m.unwrap_or(0) * 60 + s.unwrap_or(0);
            prop_assert_eq!(parse(&text), Ok(expected));
        }
    }
}
