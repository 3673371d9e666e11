//! The end-of-test summary k6 prints on stdout, and the numbers read from it.
//!
//! k6 1.x prints sections (the default `compact` and `--summary-mode=full`):
//!
//! ```text
//!   █ THRESHOLDS
//!
//!     http_req_duration
//!     ✓ 'p(95)<500' p(95)=2.89ms
//!
//!   █ TOTAL RESULTS
//!
//!     http_reqs...............: 98     19.548983/s
//!
//!   █ GROUP: fast page          (full mode: the same metrics, per group)
//! ```
//!
//! `--summary-mode=legacy` prints the pre-1.0 layout: one indented list of
//! `name....: value` lines, a metric with thresholds marked `✓`/`✗` in front
//! (without the expressions), groups as `█ name` with their checks.
//!
//! Only `TOTAL RESULTS` (or the whole legacy list) feeds the numbers: group
//! and scenario sections repeat metric names with partial values. Every
//! metric line there, custom metrics included, is kept as a metric.

use super::metrics::{self, MAX_METRICS};
use super::search::Needle;
use super::{MAX_NAME_BYTES, MAX_THRESHOLDS, units};
use crate::types::{Checks, Latency, Metric, RunSummary, SummarySource, ThresholdResult};

/// Which layout the summary being read has.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
enum Layout {
    /// k6 1.x sections (`█ THRESHOLDS`, `█ TOTAL RESULTS`, `█ GROUP: …`).
    #[default]
    Sections,
    /// `--summary-mode=legacy`.
    Legacy,
}

/// The section of a sectioned summary the reader is in.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
enum Section {
    /// `█ THRESHOLDS`: metric lines, each followed by its `✓`/`✗` lines.
    Thresholds,
    /// `█ TOTAL RESULTS`.
    #[default]
    Totals,
    /// `█ GROUP: …`, `█ SCENARIO: …` and sections this reader does not know.
    Other,
}

/// The numbers of one text summary, filled in as its lines arrive.
#[derive(Debug, Default)]
pub(crate) struct TextSummary {
    /// A summary has started; only then is there something to report.
    seen: bool,
    layout: Layout,
    section: Section,
    /// The metric the threshold lines below belong to.
    threshold_metric: Option<String>,
    /// The last metric printed without tags: a sub-metric line (`{name:slow}`
    /// under `http_req_duration`) names only its tags, and belongs to it.
    parent_metric: Option<String>,
    requests: Option<u64>,
    request_rate: Option<f64>,
    latency: Option<Latency>,
    failed_request_rate: Option<f64>,
    checks_passed: Option<u64>,
    checks_failed: Option<u64>,
    checks_total: Option<u64>,
    iterations: Option<u64>,
    max_vus: Option<u32>,
    data_received_bytes: Option<u64>,
    data_sent_bytes: Option<u64>,
    thresholds: Vec<ThresholdResult>,
    metrics: Vec<Metric>,
}

impl TextSummary {
    /// Whether `line` can open a summary. `after_blank` says the previous
    /// stdout line was empty: a legacy summary has no header, so its first
    /// line (a metric, check or group line) only counts after a blank line,
    /// never in the middle of the banner or the options header.
    pub(crate) fn opens(line: &str, after_blank: bool) -> bool {
        if !line.starts_with(' ') {
            return false;
        }
        let trimmed = line.trim();
        trimmed.starts_with("█ ")
            || (after_blank
                && (metric_line(trimmed).is_some()
                    || trimmed.starts_with("✓ ")
                    || trimmed.starts_with("✗ ")))
    }

    /// Starts a new summary with its first line; whatever an earlier summary
    /// said is forgotten.
    pub(crate) fn begin(&mut self, line: &str) {
        let header = line.trim().strip_prefix("█ ").map(str::trim);
        let layout = match header {
            Some("THRESHOLDS" | "TOTAL RESULTS") => Layout::Sections,
            _ => Layout::Legacy,
        };
        *self = Self {
            seen: true,
            layout,
            ..Self::default()
        };
        self.read(line);
    }

    /// Reads one line of the summary (blank lines included).
    pub(crate) fn read(&mut self, line: &str) {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            return;
        }
        if let Some(header) = trimmed.strip_prefix("█ ") {
            self.enter(header.trim());
            return;
        }
        match (self.layout, self.section) {
            (Layout::Sections, Section::Thresholds) => self.read_threshold_line(trimmed),
            (Layout::Sections, Section::Totals) => {
                if let Some((_, name, value)) = metric_line(trimmed) {
                    let metric = self.qualified(name);
                    self.keep_metric(&metric, value);
                    self.read_metric(name, value);
                }
            }
            (Layout::Legacy, _) => {
                if let Some((mark, name, value)) = metric_line(trimmed) {
                    let metric = self.qualified(name);
                    if let Some(passed) = mark {
                        // The legacy layout marks the metric, not each
                        // expression, so the expression stays empty.
                        push_threshold(&mut self.thresholds, &metric, "", passed);
                    }
                    self.keep_metric(&metric, value);
                    self.read_metric(name, value);
                }
            }
            (Layout::Sections, Section::Other) => {}
        }
    }

    /// Switches section on a `█` header. Legacy group headers (`█ name`)
    /// hold only checks, so the legacy layout stays one list.
    fn enter(&mut self, header: &str) {
        if self.layout == Layout::Legacy {
            return;
        }
        self.threshold_metric = None;
        self.parent_metric = None;
        self.section = match header {
            "THRESHOLDS" => Section::Thresholds,
            "TOTAL RESULTS" => Section::Totals,
            _ => Section::Other,
        };
    }

    /// A line of `█ THRESHOLDS`: a metric (`checks{check:status is 200}`) or
    /// one of its results (`✗ 'rate>0.9' rate=50.00%`).
    fn read_threshold_line(&mut self, trimmed: &str) {
        let (passed, rest) = match mark(trimmed) {
            Some(marked) => marked,
            None => {
                self.threshold_metric = Some(self.qualified(trimmed));
                return;
            }
        };
        let Some(quoted) = rest.strip_prefix('\'') else {
            return;
        };
        // The observed value after the expression has no quote, so the last
        // quote closes the expression even if it holds quotes itself.
        let Some(close) = quoted.rfind('\'') else {
            return;
        };
        let expression = quoted.get(..close).unwrap_or_default();
        if let Some(metric) = &self.threshold_metric {
            push_threshold(&mut self.thresholds, metric, expression, passed);
        }
    }

    /// The full name of a metric as its summary line prints it: a plain name
    /// becomes the parent of the sub-metric lines after it, and a sub-metric
    /// (`{name:slow}`, legacy `{ name:slow }`) gets its parent's name in
    /// front, as in the summary export (`http_req_duration{name:slow}`).
    fn qualified(&mut self, printed: &str) -> String {
        let printed = units::capped(printed, MAX_NAME_BYTES);
        let Some(tags) = printed
            .strip_prefix('{')
            .and_then(|rest| rest.strip_suffix('}'))
        else {
            self.parent_metric = Some(printed.clone());
            return printed;
        };
        let parent = self.parent_metric.as_deref().unwrap_or_default();
        units::capped(&format!("{parent}{{{}}}", tags.trim()), MAX_NAME_BYTES)
    }

    /// Keeps a metric line as a metric, up to [`MAX_METRICS`].
    fn keep_metric(&mut self, metric: &str, value: &str) {
        if self.metrics.len() < MAX_METRICS
            && let Some(read) = metrics::from_text(metric, value)
        {
            self.metrics.push(read);
        }
    }

    /// Takes the numbers the summary needs from one `name....: value` line.
    fn read_metric(&mut self, name: &str, value: &str) {
        let mut words = value.split_whitespace();
        match name {
            "http_reqs" => {
                self.requests = words.next().and_then(units::count);
                self.request_rate = words.next().and_then(units::per_second);
            }
            "iterations" => self.iterations = words.next().and_then(units::count),
            "http_req_duration" => self.latency = trend(value),
            "http_req_failed" => self.failed_request_rate = rate_line(value).ratio,
            "checks_total" => self.checks_total = words.next().and_then(units::count),
            "checks_succeeded" => self.checks_passed = rate_line(value).hits,
            "checks_failed" => self.checks_failed = rate_line(value).hits,
            // The legacy layout: `checks: 100.00% 200 out of 200` counts the
            // passed checks out of all.
            "checks" => {
                let rate = rate_line(value);
                self.checks_passed = rate.hits;
                self.checks_total = rate.total;
            }
            "vus_max" => {
                // `2      min=2       max=2`: the highest value is `max=`.
                let current = words.next().and_then(units::count);
                let highest = value
                    .split_whitespace()
                    .find_map(|word| word.strip_prefix("max="))
                    .and_then(units::count);
                self.max_vus = highest.or(current).and_then(|vus| u32::try_from(vus).ok());
            }
            "data_received" => self.data_received_bytes = size(&mut words),
            "data_sent" => self.data_sent_bytes = size(&mut words),
            _ => {}
        }
    }

    /// The summary read so far, or `None` if no summary was seen.
    pub(crate) fn summary(&self) -> Option<RunSummary> {
        if !self.seen {
            return None;
        }
        let (passes, fails) = (self.checks_passed, self.checks_failed);
        let total = self.checks_total;
        let passes = passes.or_else(|| total?.checked_sub(fails?));
        let fails = fails.or_else(|| total?.checked_sub(passes?));
        let checks = match (passes, fails) {
            (Some(passes), Some(fails)) => Some(Checks { passes, fails }),
            _ => None,
        };
        let mut metrics = self.metrics.clone();
        metrics.sort_by(|a, b| a.name.cmp(&b.name));
        Some(RunSummary {
            source: SummarySource::TextSummary,
            requests: self.requests,
            request_rate: self.request_rate,
            latency: self.latency,
            failed_request_rate: self.failed_request_rate,
            checks,
            iterations: self.iterations,
            max_vus: self.max_vus,
            data_received_bytes: self.data_received_bytes,
            data_sent_bytes: self.data_sent_bytes,
            thresholds: self.thresholds.clone(),
            metrics,
        })
    }
}

/// Keeps a threshold unless `MAX_THRESHOLDS` are kept already.
fn push_threshold(
    thresholds: &mut Vec<ThresholdResult>,
    metric: &str,
    expression: &str,
    passed: bool,
) {
    if thresholds.len() < MAX_THRESHOLDS {
        thresholds.push(ThresholdResult {
            metric: units::capped(metric, MAX_NAME_BYTES),
            expression: units::capped(expression, MAX_NAME_BYTES),
            passed,
        });
    }
}

/// Splits a summary line (trimmed) into its threshold mark, metric name and
/// value: `✓ checks.........: 100.00% 200 out of 200`. The name ends where
/// the dot padding before the colon starts.
fn metric_line(trimmed: &str) -> Option<(Option<bool>, &str, &str)> {
    let (passed, body) = match mark(trimmed) {
        Some((passed, body)) => (Some(passed), body),
        None => (None, trimmed),
    };
    static PADDING: Needle = Needle::new("..:");
    let padding = PADDING.find(body)?;
    let name = body.get(..padding)?.trim_end_matches('.');
    let value = body.get(padding + "..:".len()..)?.trim();
    // Metric names have no spaces; only a sub-metric's tags (`{ name:slow }`)
    // do. A check line whose name holds `..:` is not a metric.
    let is_name = !name.is_empty()
        && (!name.contains(char::is_whitespace) || (name.starts_with('{') && name.ends_with('}')));
    is_name.then_some((passed, name, value))
}

/// Splits a leading `✓ ` (true) or `✗ ` (false) off a trimmed line.
fn mark(trimmed: &str) -> Option<(bool, &str)> {
    if let Some(rest) = trimmed.strip_prefix("✓ ") {
        Some((true, rest))
    } else {
        trimmed.strip_prefix("✗ ").map(|rest| (false, rest))
    }
}

/// `avg=1.11ms min=378.73µs med=785.73µs max=6.31ms p(90)=1.37ms p(95)=2.89ms`
/// in milliseconds; `None` if no statistic could be read.
fn trend(value: &str) -> Option<Latency> {
    let mut latency = Latency {
        avg: None,
        min: None,
        med: None,
        max: None,
        p90: None,
        p95: None,
        p99: None,
    };
    let mut any = false;
    for word in value.split_whitespace() {
        let Some((stat, text)) = word.split_once('=') else {
            continue;
        };
        let slot = match stat {
            "avg" => &mut latency.avg,
            "min" => &mut latency.min,
            "med" => &mut latency.med,
            "max" => &mut latency.max,
            "p(90)" => &mut latency.p90,
            "p(95)" => &mut latency.p95,
            "p(99)" => &mut latency.p99,
            _ => continue,
        };
        *slot = units::duration_ms(text);
        any |= slot.is_some();
    }
    any.then_some(latency)
}

/// A rate line: `50.00% 28 out of 56`.
struct RateLine {
    /// The share, from `hits / total` (exact) or else the printed percentage.
    ratio: Option<f64>,
    /// The samples that were true (passed checks, failed requests).
    hits: Option<u64>,
    /// All samples.
    total: Option<u64>,
}

/// Reads the value part of a rate metric's line.
fn rate_line(value: &str) -> RateLine {
    let mut words = value.split_whitespace();
    let percent = words.next().and_then(units::percent_ratio);
    let hits = words.next().and_then(units::count);
    let total = match (words.next(), words.next(), words.next()) {
        (Some("out"), Some("of"), Some(total)) => units::count(total),
        _ => None,
    };
    let exact = match (hits, total) {
        (Some(hits), Some(total)) if total > 0 => Some(hits as f64 / total as f64),
        _ => None,
    };
    RateLine {
        ratio: exact.or(percent),
        hits,
        total,
    }
}

/// `14 kB` (the words after the metric name) in bytes.
fn size<'a>(words: &mut impl Iterator<Item = &'a str>) -> Option<u64> {
    let value = words.next()?;
    let unit = words.next()?;
    units::bytes(value, unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(lines: &[&str]) -> RunSummary {
        let mut summary = TextSummary::default();
        let mut lines = lines.iter();
        let first = lines.next().expect("a first line");
        assert!(TextSummary::opens(first, true), "{first:?} opens");
        summary.begin(first);
        for line in lines {
            summary.read(line);
        }
        summary.summary().expect("a summary")
    }

    #[test]
    fn nothing_seen_is_no_summary() {
        assert_eq!(TextSummary::default().summary(), None);
    }

    #[test]
    fn header_lines_do_not_open_a_summary() {
        for line in [
            "     execution: local",
            "        script: scripts/a_pass.js",
            "     scenarios: (100.00%) 1 scenario, 2 max VUs, 35s max duration (incl. graceful stop):",
            "              * default: 2 looping VUs for 5s (gracefulStop: 30s)",
            "running (01.0s), 2/2 VUs, 18 complete and 0 interrupted iterations",
            "█ THRESHOLDS",
        ] {
            assert!(!TextSummary::opens(line, true), "{line:?}");
        }
        assert!(!TextSummary::opens(
            "     data_sent......: 0 B 0 B/s",
            false
        ));
        assert!(TextSummary::opens("  █ TOTAL RESULTS ", false));
    }

    #[test]
    fn sectioned_summary_reads_totals_and_thresholds() {
        let summary = read_all(&[
            "  █ THRESHOLDS ",
            "",
            "    checks{check:status is 200}",
            "    ✗ 'rate>0.9' rate=50.00%",
            "",
            "    http_req_duration",
            "    ✓ 'p(95)<500' p(95)=2.89ms",
            "    ✗ 'p(99) < 1000' p(99)=1.2s",
            "",
            "  █ TOTAL RESULTS ",
            "",
            "    checks_total.......................: 56     13.202876/s",
            "    checks_succeeded...................: 50.00% 28 out of 56",
            "    checks_failed......................: 50.00% 28 out of 56",
            "    ✗ status is 200",
            "      ↳  50% — ✓ 28 / ✗ 28",
            "    http_req_duration..........: avg=1.11ms   min=378.73µs med=785.73µs max=6.31ms   p(90)=1.37ms   p(95)=2.89ms p(99)=5.5ms",
            "      { expected_response:true }...: avg=9ms min=9ms med=9ms max=9ms p(90)=9ms p(95)=9ms",
            "    http_req_failed.........: 50.00% 28 out of 56",
            "    http_reqs...............: 56     13.202876/s",
            "    iterations..............: 28     6.601438/s",
            "    vus_max.................: 2      min=2        max=3",
            "    data_received...........: 8.8 kB 2.1 kB/s",
            "    data_sent...............: 4.2 kB 984 B/s",
        ]);
        assert_eq!(summary.source, SummarySource::TextSummary);
        assert_eq!(summary.requests, Some(56));
        assert_eq!(summary.request_rate, Some(13.202876));
        assert_eq!(summary.failed_request_rate, Some(0.5));
        assert_eq!(
            summary.checks,
            Some(Checks {
                passes: 28,
                fails: 28
            })
        );
        assert_eq!(summary.iterations, Some(28));
        assert_eq!(summary.max_vus, Some(3));
        assert_eq!(summary.data_received_bytes, Some(8_800));
        assert_eq!(summary.data_sent_bytes, Some(4_200));
        let latency = summary.latency.expect("latency");
        assert_eq!(latency.avg, Some(1.11));
        assert_eq!(latency.med, Some(0.78573));
        assert_eq!(latency.p95, Some(2.89));
        assert_eq!(latency.p99, Some(5.5));
        let thresholds: Vec<_> = summary
            .thresholds
            .iter()
            .map(|t| (t.metric.as_str(), t.expression.as_str(), t.passed))
            .collect();
        assert_eq!(
            thresholds,
            [
                ("checks{check:status is 200}", "rate>0.9", false),
                ("http_req_duration", "p(95)<500", true),
                ("http_req_duration", "p(99) < 1000", false),
            ]
        );
    }

    #[test]
    fn group_sections_do_not_overwrite_totals() {
        let summary = read_all(&[
            "  █ TOTAL RESULTS ",
            "    http_reqs....: 100    19.600673/s",
            "  █ GROUP: fast page ",
            "    http_reqs....: 7   1.5/s",
            "  █ SCENARIO: other ",
            "    http_reqs....: 8   1.5/s",
        ]);
        assert_eq!(summary.requests, Some(100));
        assert_eq!(summary.request_rate, Some(19.600673));
    }

    #[test]
    fn legacy_layout_reads_metrics_and_marked_thresholds() {
        let summary = read_all(&[
            "     █ fast page",
            "       ✓ status is 200",
            "   ✓ checks.........................: 90.00% 180 out of 200",
            "     data_received..................: 14 kB   2.7 kB/s",
            "   ✗ http_req_duration..............: avg=830.09µs min=287.49µs med=780.35µs max=2.88ms   p(90)=1.11ms   p(95)=1.27ms  ",
            "       { expected_response:true }...: avg=1s min=1s med=1s max=1s p(90)=1s p(95)=1s",
            "     http_reqs......................: 100     19.627569/s",
        ]);
        assert_eq!(
            summary.checks,
            Some(Checks {
                passes: 180,
                fails: 20
            })
        );
        assert_eq!(summary.data_received_bytes, Some(14_000));
        assert_eq!(summary.requests, Some(100));
        assert_eq!(summary.latency.and_then(|l| l.avg), Some(0.83009));
        let thresholds: Vec<_> = summary
            .thresholds
            .iter()
            .map(|t| (t.metric.as_str(), t.expression.as_str(), t.passed))
            .collect();
        assert_eq!(
            thresholds,
            [("checks", "", true), ("http_req_duration", "", false)]
        );
    }

    #[test]
    fn zero_requests_and_nan_percentages_read() {
        let summary = read_all(&[
            "  █ TOTAL RESULTS ",
            "    checks_succeeded...................: 0.00% 0 out of 0",
            "    checks_failed......................: NaN%  0 out of 0",
            "    http_req_duration....................: avg=0s min=0s med=0s max=0s p(90)=0s p(95)=0s",
            "    http_req_failed......................: 0.00% 0 out of 0",
        ]);
        assert_eq!(
            summary.checks,
            Some(Checks {
                passes: 0,
                fails: 0
            })
        );
        assert_eq!(summary.failed_request_rate, Some(0.0));
        assert_eq!(summary.latency.and_then(|l| l.max), Some(0.0));
        assert_eq!(summary.requests, None);
    }

    #[test]
    fn a_new_summary_replaces_the_old_one() {
        let mut summary = TextSummary::default();
        summary.begin("  █ TOTAL RESULTS ");
        summary.read("    http_reqs....: 100    19.6/s");
        summary.begin("  █ TOTAL RESULTS ");
        summary.read("    iterations....: 5    1/s");
        let read = summary.summary().expect("a summary");
        assert_eq!(read.requests, None);
        assert_eq!(read.iterations, Some(5));
    }

    #[test]
    fn thresholds_are_capped() {
        let mut summary = TextSummary::default();
        summary.begin("  █ THRESHOLDS ");
        summary.read("    http_req_duration");
        for _ in 0..(MAX_THRESHOLDS + 10) {
            summary.read("    ✓ 'p(95)<500' p(95)=1ms");
        }
        let long = format!("    {}", "µ".repeat(MAX_NAME_BYTES));
        summary.read(&long);
        assert_eq!(
            summary.summary().map(|s| s.thresholds.len()),
            Some(MAX_THRESHOLDS)
        );
        assert!(
            summary
                .threshold_metric
                .as_ref()
                .is_some_and(|m| m.len() <= MAX_NAME_BYTES)
        );
    }
}
