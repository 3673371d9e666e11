//! Every metric of an end-of-test summary, built-in and custom, read from
//! either of its forms: the JSON documents (`--summary-export`,
//! `handleSummary()` data) and the text summary's `name....: value` lines.
//!
//! The type comes from the document when it says (`"type": "trend"` in
//! handleSummary data) and otherwise from the values' shape, which k6 fixes
//! per type: a counter has `count` and `rate` (`180 58.7/s`), a gauge
//! `value`, `min`, `max` (`14 min=10 max=24`), a rate `passes` and `fails`
//! (`73.33% 44 out of 60`), a trend `avg`, `med` and percentiles. A rate's
//! share is always called `rate` (the summary export calls it `value`).
//! Times are in milliseconds and data in bytes.

use serde_json::{Map, Value};

use super::json_doc::number;
use super::{MAX_NAME_BYTES, units};
use crate::types::{Metric, MetricKind, ValueKind};

/// Most metrics kept from one summary; the cap bounds memory whatever a
/// document holds.
pub(crate) const MAX_METRICS: usize = 1_000;
/// Most statistics kept per metric.
const MAX_VALUES: usize = 32;

/// k6's built-in metrics that hold times (their sub-metrics too).
const TIME_METRICS: [&str; 9] = [
    "http_req_duration",
    "http_req_blocked",
    "http_req_connecting",
    "http_req_tls_handshaking",
    "http_req_sending",
    "http_req_waiting",
    "http_req_receiving",
    "iteration_duration",
    "group_duration",
];
/// k6's built-in metrics that hold bytes.
const DATA_METRICS: [&str; 2] = ["data_received", "data_sent"];
/// k6's built-in metrics that hold plain numbers.
const PLAIN_METRICS: [&str; 7] = [
    "http_reqs",
    "http_req_failed",
    "iterations",
    "dropped_iterations",
    "checks",
    "vus",
    "vus_max",
];

/// A metric of a JSON summary document: `metric` is its object, whose
/// statistics sit in `values` (handleSummary data) or on it (export).
pub(crate) fn from_document(name: &str, metric: &Map<String, Value>) -> Option<Metric> {
    let values = metric
        .get("values")
        .and_then(Value::as_object)
        .unwrap_or(metric);
    let kind = match metric.get("type").and_then(Value::as_str) {
        Some("counter") => MetricKind::Counter,
        Some("gauge") => MetricKind::Gauge,
        Some("rate") => MetricKind::Rate,
        Some("trend") => MetricKind::Trend,
        _ => kind_of_keys(values)?,
    };
    let contains = match metric.get("contains").and_then(Value::as_str) {
        Some("time") => Some(ValueKind::Time),
        Some("data") => Some(ValueKind::Data),
        Some("default") => Some(ValueKind::Plain),
        _ => builtin_contains(name),
    };
    let mut stats: Vec<(String, f64)> = values
        .iter()
        .filter(|(key, _)| key.as_str() != "thresholds")
        .filter_map(|(key, value)| {
            let key = match (kind, key.as_str()) {
                // The export's name for a rate's share.
                (MetricKind::Rate, "value") => "rate",
                (_, key) => key,
            };
            Some((key.to_owned(), number(Some(value))?))
        })
        .collect();
    if stats.is_empty() {
        return None;
    }
    in_k6_order(&mut stats);
    Some(Metric {
        name: units::capped(name, MAX_NAME_BYTES),
        kind,
        contains,
        values: stats,
    })
}

/// The type a document's statistics show.
fn kind_of_keys(values: &Map<String, Value>) -> Option<MetricKind> {
    let has = |key: &str| values.contains_key(key);
    if has("count") {
        Some(MetricKind::Counter)
    } else if has("passes") || has("fails") {
        Some(MetricKind::Rate)
    } else if has("avg") || has("med") || values.keys().any(|k| k.starts_with("p(")) {
        Some(MetricKind::Trend)
    } else if has("value") {
        Some(MetricKind::Gauge)
    } else {
        None
    }
}

/// What a built-in metric holds; `None` for one this reader does not know
/// (a custom trend may hold times or plain numbers, and the export does not
/// say which).
fn builtin_contains(name: &str) -> Option<ValueKind> {
    let base = name.split('{').next().unwrap_or(name);
    if TIME_METRICS.contains(&base) {
        Some(ValueKind::Time)
    } else if DATA_METRICS.contains(&base) {
        Some(ValueKind::Data)
    } else if PLAIN_METRICS.contains(&base) {
        Some(ValueKind::Plain)
    } else {
        None
    }
}

/// A metric of the text summary: `name` as qualified by the reader
/// (`my_trend_time{tag:a}`), `value` what follows the dots and colon.
pub(crate) fn from_text(name: &str, value: &str) -> Option<Metric> {
    let words: Vec<&str> = value.split_whitespace().collect();
    let first = *words.first()?;
    let is_trend = words
        .iter()
        .any(|w| w.starts_with("avg=") || w.starts_with("med=") || w.starts_with("p("));
    let (kind, contains, mut stats) = if is_trend {
        trend(&words)?
    } else if words
        .iter()
        .any(|w| w.starts_with("min=") || w.starts_with("max="))
    {
        gauge(&words)?
    } else if first.ends_with('%') {
        rate(&words)?
    } else {
        counter(&words, builtin_contains(name))?
    };
    in_k6_order(&mut stats);
    Some(Metric {
        name: units::capped(name, MAX_NAME_BYTES),
        kind,
        contains: contains.or_else(|| builtin_contains(name)),
        values: stats,
    })
}

type Read = (MetricKind, Option<ValueKind>, Vec<(String, f64)>);

/// `avg=2.41ms min=1.84ms …` (times) or `avg=132.625 min=100 …` (plain).
fn trend(words: &[&str]) -> Option<Read> {
    let mut timed = false;
    let stats: Vec<(String, f64)> = words
        .iter()
        .filter_map(|word| {
            let (stat, text) = word.split_once('=')?;
            let value = match units::decimal(text) {
                Some(plain) => plain,
                None => {
                    timed = true;
                    units::duration_ms(text)?
                }
            };
            Some((stat.to_owned(), value))
        })
        .take(MAX_VALUES)
        .collect();
    let contains = if timed {
        ValueKind::Time
    } else {
        ValueKind::Plain
    };
    (!stats.is_empty()).then_some((MetricKind::Trend, Some(contains), stats))
}

/// `14 min=10 max=24`.
fn gauge(words: &[&str]) -> Option<Read> {
    let mut stats = Vec::new();
    if let Some(value) = words.first().and_then(|w| units::decimal(w)) {
        stats.push(("value".to_owned(), value));
    }
    for word in &words[1..] {
        if let Some((stat, text)) = word.split_once('=')
            && let Some(value) = units::decimal(text)
        {
            stats.push((stat.to_owned(), value));
        }
    }
    (!stats.is_empty()).then_some((MetricKind::Gauge, None, stats))
}

/// `73.33% 44 out of 60`: passes are the true samples.
fn rate(words: &[&str]) -> Option<Read> {
    let percent = units::percent_ratio(words.first()?);
    let passes = words.get(1).and_then(|w| units::count(w));
    let total = match (words.get(2), words.get(3), words.get(4)) {
        (Some(&"out"), Some(&"of"), Some(total)) => units::count(total),
        _ => None,
    };
    let mut stats = Vec::new();
    let exact = match (passes, total) {
        (Some(passes), Some(total)) if total > 0 => Some(passes as f64 / total as f64),
        _ => None,
    };
    if let Some(share) = exact.or(percent) {
        stats.push(("rate".to_owned(), share));
    }
    if let (Some(passes), Some(total)) = (passes, total) {
        stats.push(("passes".to_owned(), passes as f64));
        stats.push(("fails".to_owned(), total.saturating_sub(passes) as f64));
    }
    (!stats.is_empty()).then_some((MetricKind::Rate, None, stats))
}

/// `180 58.712202/s`, or with sizes `8.8 kB 2.1 kB/s`.
fn counter(words: &[&str], builtin: Option<ValueKind>) -> Option<Read> {
    let mut stats = Vec::new();
    let sized = words
        .get(1)
        .is_some_and(|unit| units::bytes("0", unit).is_some());
    if sized {
        let count = units::bytes(words[0], words[1])?;
        stats.push(("count".to_owned(), count as f64));
        if let (Some(value), Some(unit)) = (words.get(2), words.get(3))
            && let Some(per_second) = unit
                .strip_suffix("/s")
                .and_then(|unit| units::bytes(value, unit))
        {
            stats.push(("rate".to_owned(), per_second as f64));
        }
        return Some((MetricKind::Counter, Some(ValueKind::Data), stats));
    }
    stats.push(("count".to_owned(), units::decimal(words[0])?));
    if let Some(per_second) = words.get(1).and_then(|w| units::per_second(w)) {
        stats.push(("rate".to_owned(), per_second));
    }
    Some((MetricKind::Counter, builtin, stats))
}

/// k6's order: `count rate`, `value min max`, `rate passes fails`, `avg min
/// med max` and then the percentiles from low to high, then anything else
/// by name.
fn in_k6_order(stats: &mut [(String, f64)]) {
    const FIXED: [&str; 8] = [
        "count", "value", "rate", "passes", "fails", "avg", "min", "med",
    ];
    let rank = |key: &str| -> (usize, u64, String) {
        if let Some(position) = FIXED.iter().position(|k| *k == key) {
            return (position, 0, String::new());
        }
        if key == "max" {
            return (FIXED.len(), 0, String::new());
        }
        let percentile = key
            .strip_prefix("p(")
            .and_then(|rest| rest.strip_suffix(')'))
            .and_then(units::decimal);
        match percentile {
            // Thousandths keep p(99.9) after p(99) in an integer key.
            Some(p) => (FIXED.len() + 1, (p * 1_000.0) as u64, String::new()),
            None => (FIXED.len() + 2, 0, key.to_owned()),
        }
    };
    stats.sort_by_cached_key(|(key, _)| rank(key));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(metric: &Metric) -> Vec<(&str, f64)> {
        metric
            .values
            .iter()
            .map(|(k, v)| (k.as_str(), *v))
            .collect()
    }

    #[test]
    fn text_lines_of_each_type_read() {
        let counter = from_text("my_counter", "180    58.712202/s").unwrap();
        assert_eq!(counter.kind, MetricKind::Counter);
        assert_eq!(values(&counter), [("count", 180.0), ("rate", 58.712202)]);
        let gauge = from_text("my_gauge", "14     min=10       max=24").unwrap();
        assert_eq!(gauge.kind, MetricKind::Gauge);
        assert_eq!(
            values(&gauge),
            [("value", 14.0), ("min", 10.0), ("max", 24.0)]
        );
        let rate = from_text("my_rate", "73.33% 44 out of 60").unwrap();
        assert_eq!(rate.kind, MetricKind::Rate);
        assert_eq!(
            values(&rate),
            [("rate", 44.0 / 60.0), ("passes", 44.0), ("fails", 16.0)]
        );
        let plain = from_text(
            "my_trend",
            "avg=132.625  min=100 med=132.625 max=165.25 p(90)=158.725 p(95)=165.25",
        )
        .unwrap();
        assert_eq!(
            (plain.kind, plain.contains),
            (MetricKind::Trend, Some(ValueKind::Plain))
        );
        let timed = from_text(
            "my_trend_time{tag:a}",
            "avg=2.45ms min=1.84ms med=2.37ms max=5.94ms p(90)=2.59ms p(95)=2.82ms",
        )
        .unwrap();
        assert_eq!(timed.contains, Some(ValueKind::Time));
        assert_eq!(timed.values[0], ("avg".to_owned(), 2.45));
        assert_eq!(timed.values.last().unwrap().0, "p(95)");
        let data = from_text("data_received", "8.8 kB 2.1 kB/s").unwrap();
        assert_eq!(
            (data.kind, data.contains),
            (MetricKind::Counter, Some(ValueKind::Data))
        );
        assert_eq!(values(&data), [("count", 8_800.0), ("rate", 2_100.0)]);
    }

    #[test]
    fn documents_give_types_from_their_shape_or_their_type_field() {
        let export = serde_json::json!({"passes": 44, "fails": 16, "value": 0.7333, "thresholds": {"rate>0.5": false}});
        let rate = from_document("my_rate", export.as_object().unwrap()).unwrap();
        assert_eq!(rate.kind, MetricKind::Rate);
        assert_eq!(
            values(&rate),
            [("rate", 0.7333), ("passes", 44.0), ("fails", 16.0)]
        );
        let data = serde_json::json!({"type": "trend", "contains": "time", "values": {"p(99)": 3.0, "avg": 1.0, "p(90)": 2.0, "max": 4.0}});
        let trend = from_document("my_trend_time", data.as_object().unwrap()).unwrap();
        assert_eq!(trend.contains, Some(ValueKind::Time));
        assert_eq!(
            values(&trend),
            [("avg", 1.0), ("max", 4.0), ("p(90)", 2.0), ("p(99)", 3.0)]
        );
        let custom = serde_json::json!({"avg": 1.0});
        assert_eq!(
            from_document("my_trend", custom.as_object().unwrap())
                .unwrap()
                .contains,
            None
        );
        let builtin = from_document(
            "http_req_duration{expected_response:true}",
            custom.as_object().unwrap(),
        )
        .unwrap();
        assert_eq!(builtin.contains, Some(ValueKind::Time));
    }
}
