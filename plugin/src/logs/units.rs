//! Numbers as k6 prints them: durations (`378.73µs`, `1.11ms`, `1m2.5s`),
//! elapsed clocks (`01.0s`, `00m00.5s`, `0h00m01.0s`), SI sizes (`14 kB`),
//! percentages (`50.00%`), per-second rates (`19.548983/s`) and counts.
//!
//! Every reader takes only what k6 writes: plain decimal digits with at most
//! one point. That keeps out `inf`, `NaN`, exponents and signs, which
//! `str::parse::<f64>` would accept but k6 never prints.

/// Each duration unit as a fraction of a millisecond, `(unit, numerator,
/// denominator)`: dividing by 1000 rather than multiplying by 0.001 keeps
/// `378.73µs` at `0.37873` instead of `0.37873000000000004`. Longest
/// spelling first so `ms` is not read as minutes followed by seconds. k6
/// writes the micro sign (U+00B5); the Greek mu (U+03BC) and `us` are
/// accepted because Go writes those elsewhere.
const DURATION_UNITS_MS: [(&str, f64, f64); 8] = [
    ("ns", 1.0, 1e6),
    ("µs", 1.0, 1e3),
    ("μs", 1.0, 1e3),
    ("us", 1.0, 1e3),
    ("ms", 1.0, 1.0),
    ("h", 3_600_000.0, 1.0),
    ("m", 60_000.0, 1.0),
    ("s", 1_000.0, 1.0),
];

/// Each unit of the progress line's elapsed clock in seconds, as above.
const CLOCK_UNITS_S: [(&str, f64, f64); 3] =
    [("h", 3_600.0, 1.0), ("m", 60.0, 1.0), ("s", 1.0, 1.0)];

/// Bytes per SI size unit (k6 formats sizes with powers of 1000).
const SIZE_UNITS: [(&str, f64); 7] = [
    ("B", 1.0),
    ("kB", 1e3),
    ("MB", 1e6),
    ("GB", 1e9),
    ("TB", 1e12),
    ("PB", 1e15),
    ("EB", 1e18),
];

/// A plain decimal (`12`, `0.5`, `378.73`), or `None` for anything else.
pub(crate) fn decimal(text: &str) -> Option<f64> {
    let mut digits = 0usize;
    let mut points = 0usize;
    for byte in text.bytes() {
        match byte {
            b'0'..=b'9' => digits += 1,
            b'.' => points += 1,
            _ => return None,
        }
    }
    if digits == 0 || points > 1 {
        return None;
    }
    text.parse::<f64>().ok().filter(|value| value.is_finite())
}

/// A whole count made of ASCII digits only (`98`, `000`).
pub(crate) fn count(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// A k6 duration in milliseconds: one or more `<decimal><unit>` parts
/// (`1.11ms`, `378.73µs`, `1m2.5s`, `2h0m0s`), or a bare `0`.
pub(crate) fn duration_ms(text: &str) -> Option<f64> {
    if text == "0" {
        return Some(0.0);
    }
    sum_of_parts(text, &DURATION_UNITS_MS)
}

/// The elapsed time of a progress line in seconds: `01.0s`, `00m00.5s`,
/// `0h00m01.0s`. Only hours, minutes and seconds are allowed.
pub(crate) fn clock_seconds(text: &str) -> Option<f64> {
    sum_of_parts(text, &CLOCK_UNITS_S)
}

/// Adds up `<decimal><unit>` parts, each unit scaled by `units`.
fn sum_of_parts(text: &str, units: &[(&str, f64, f64)]) -> Option<f64> {
    if text.is_empty() {
        return None;
    }
    let mut rest = text;
    let mut total = 0.0;
    while !rest.is_empty() {
        let number_len = rest
            .bytes()
            .take_while(|byte| byte.is_ascii_digit() || *byte == b'.')
            .count();
        // The digits and points are ASCII, so `number_len` is a char boundary.
        let (number, after) = rest.split_at(number_len);
        let value = decimal(number)?;
        let (unit, numerator, denominator) =
            units.iter().find(|(unit, _, _)| after.starts_with(unit))?;
        total += value * numerator / denominator;
        rest = after.get(unit.len()..)?;
    }
    Some(total).filter(|total| total.is_finite())
}

/// Bytes in a size printed as a value and an SI unit (`14` `kB`, `0` `B`),
/// rounded to the nearest byte. The summary rounds sizes, so this is only
/// as exact as the printed digits.
pub(crate) fn bytes(value: &str, unit: &str) -> Option<u64> {
    let value = decimal(value)?;
    let (_, scale) = SIZE_UNITS.iter().find(|(name, _)| *name == unit)?;
    whole(value * scale)
}

/// A ratio from 0 to 1 out of a percentage (`50.00%`); `None` for `NaN%`.
pub(crate) fn percent_ratio(text: &str) -> Option<f64> {
    decimal(text.strip_suffix('%')?).map(|percent| percent / 100.0)
}

/// A per-second rate (`19.548983/s`).
pub(crate) fn per_second(text: &str) -> Option<f64> {
    decimal(text.strip_suffix("/s")?)
}

/// A non-negative finite number rounded to a whole `u64`; `None` otherwise.
/// The cast saturates at `u64::MAX`, which a real run never reaches.
pub(crate) fn whole(value: f64) -> Option<u64> {
    (value.is_finite() && value >= 0.0).then(|| value.round() as u64)
}

/// At most `max` bytes of `text`, cut at a char boundary, for the few
/// strings the parser keeps (threshold names and expressions).
pub(crate) fn capped(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end).unwrap_or_default().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_close(actual: Option<f64>, expected: f64) {
        let actual = actual.unwrap_or(f64::NAN);
        assert!(
            (actual - expected).abs() < 1e-9,
            "expected {expected}, got {actual}"
        );
    }

    #[test]
    fn decimal_accepts_only_plain_digits_with_one_point() {
        assert_eq!(decimal("378.73"), Some(378.73));
        assert_eq!(decimal("12"), Some(12.0));
        for bad in ["", ".", "1.2.3", "-1", "+1", "1e3", "inf", "NaN", "1 "] {
            assert_eq!(decimal(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn count_accepts_zero_padded_digits() {
        assert_eq!(count("000"), Some(0));
        assert_eq!(count("98"), Some(98));
        assert_eq!(count("+1"), None);
        assert_eq!(count("99999999999999999999999"), None);
    }

    #[test]
    fn durations_convert_to_milliseconds() {
        assert_close(duration_ms("1.11ms"), 1.11);
        assert_eq!(duration_ms("378.73µs"), Some(0.37873));
        assert_eq!(duration_ms("379.66µs"), Some(0.37966));
        assert_close(duration_ms("378.73μs"), 0.37873);
        assert_close(duration_ms("500ns"), 0.0005);
        assert_close(duration_ms("27.83s"), 27_830.0);
        assert_close(duration_ms("1m2.5s"), 62_500.0);
        assert_close(duration_ms("2h0m0s"), 7_200_000.0);
        assert_close(duration_ms("0s"), 0.0);
        assert_close(duration_ms("0"), 0.0);
    }

    #[test]
    fn durations_without_units_or_with_junk_are_refused() {
        for bad in [
            "", "12", "ms", "1.1.1ms", "1msx", "1 ms", "NaNs", "-1s", "1d",
        ] {
            assert_eq!(duration_ms(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn clocks_of_all_three_progress_formats_convert_to_seconds() {
        assert_close(clock_seconds("01.0s"), 1.0);
        assert_close(clock_seconds("00m00.5s"), 0.5);
        assert_close(clock_seconds("0h00m01.0s"), 1.0);
        assert_close(clock_seconds("1h02m03.5s"), 3_723.5);
        assert_eq!(clock_seconds("1.0ms"), None);
        assert_eq!(clock_seconds(""), None);
    }

    #[test]
    fn sizes_use_si_units() {
        assert_eq!(bytes("14", "kB"), Some(14_000));
        assert_eq!(bytes("7.4", "kB"), Some(7_400));
        assert_eq!(bytes("4.8", "MB"), Some(4_800_000));
        assert_eq!(bytes("984", "B"), Some(984));
        assert_eq!(bytes("1.5", "GB"), Some(1_500_000_000));
        assert_eq!(bytes("1", "KiB"), None);
        assert_eq!(bytes("x", "kB"), None);
    }

    #[test]
    fn percentages_and_rates_read() {
        assert_close(percent_ratio("50.00%"), 0.5);
        assert_close(percent_ratio("100.00%"), 1.0);
        assert_eq!(percent_ratio("NaN%"), None);
        assert_eq!(percent_ratio("50"), None);
        assert_close(per_second("19.548983/s"), 19.548983);
        assert_eq!(per_second("19.5"), None);
    }

    #[test]
    fn whole_rounds_and_refuses_negative_or_non_finite() {
        assert_eq!(whole(2.5), Some(3));
        assert_eq!(whole(-1.0), None);
        assert_eq!(whole(f64::NAN), None);
        assert_eq!(whole(f64::INFINITY), None);
    }

    #[test]
    fn capped_cuts_at_a_char_boundary() {
        assert_eq!(capped("abc", 10), "abc");
        assert_eq!(capped("µµ", 3), "µ");
        assert_eq!(capped("✓✓", 2), "");
    }
}
