//! The HTML reports: one page, its CSS inline, its charts inline SVG.

use std::fmt::Write;

use super::svg::{Line, chart};
use super::{escape, number};
use crate::history::compare::{Comparison, Delta, Verdict};
use crate::model::{MetricsPoint, RunRecord, StepRecord};

/// The page's style: plain, printable, readable without the runner.
const STYLE: &str = "body{font:14px system-ui,sans-serif;margin:2em;color:#222}\
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px;\
text-align:right}td:first-child,th:first-child{text-align:left}th{background:#f3f3f3}\
.regressed{background:#fdd}.ok{background:#dfd}.incomparable{background:#eee}\
.plot{fill:#fafafa;stroke:#ccc}svg{max-width:100%;font-size:10px}figure{margin:0 0 1em}\
.legend span{margin-right:1em}h2{margin-top:2em}";

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\"><title>{}</title>\
         <style>{STYLE}</style></head><body>{body}</body></html>",
        escape(title)
    )
}

/// The `(seconds, value)` points of one step's series.
fn points(
    series: &[MetricsPoint],
    step: u32,
    value: impl Fn(&MetricsPoint) -> Option<f64>,
) -> Vec<(f64, f64)> {
    series
        .iter()
        .filter(|p| p.step == step)
        .filter_map(|p| value(p).map(|v| (p.at_ms as f64 / 1000.0, v)))
        .collect()
}

/// The live figures charted per step: name and reading.
type Figure = (&'static str, fn(&MetricsPoint) -> Option<f64>);
const FIGURES: [Figure; 3] = [
    ("requests/s", |p| Some(p.request_rate)),
    ("p95 latency, ms", |p| p.latency_p95_ms),
    ("virtual users", |p| Some(f64::from(p.vus))),
];

/// The report of one run: its facts, each step's results, thresholds and
/// metrics, and charts of its per-second series.
pub fn run_page(record: &RunRecord, series: &[MetricsPoint]) -> String {
    let mut body = format!("<h1>k6 run {}</h1><table>", escape(&record.id));
    let facts = [
        ("state", format!("{:?}", record.state)),
        (
            "outcome",
            record.outcome.map_or("-".to_owned(), |o| format!("{o:?}")),
        ),
        (
            "regressed",
            record
                .regression
                .as_ref()
                .map_or("no baseline".to_owned(), |r| r.regressed.to_string()),
        ),
        ("started", record.started_at.clone()),
        ("ended", record.ended_at.clone().unwrap_or_default()),
        ("reason", record.reason.clone().unwrap_or_default()),
        ("k6", record.k6_version.clone().unwrap_or_default()),
        ("runner", record.runner_version.clone().unwrap_or_default()),
    ];
    for (name, value) in facts {
        let _ = write!(body, "<tr><th>{name}</th><td>{}</td></tr>", escape(&value));
    }
    body.push_str("</table>");
    for step in &record.steps {
        step_section(&mut body, step, series);
    }
    page(&format!("k6 run {}", record.id), &body)
}

fn step_section(body: &mut String, step: &StepRecord, series: &[MetricsPoint]) {
    let _ = write!(
        body,
        "<h2>{}. {} ({:?})</h2><p>{}</p>",
        step.step,
        escape(&step.script),
        step.state,
        escape(step.reason.as_deref().unwrap_or(""))
    );
    if let Some(snapshot) = &step.snapshot {
        let _ = write!(
            body,
            "<p>ran <code>{}</code>, sha256 <code>{}</code></p>",
            escape(&snapshot.path),
            escape(&snapshot.sha256)
        );
    }
    for (name, value) in FIGURES {
        body.push_str(&chart(
            name,
            &[Line {
                label: &step.script,
                colour: "#1f6fb4",
                points: points(series, step.step, value),
            }],
        ));
    }
    let Some(summary) = &step.summary else {
        return;
    };
    body.push_str("<table><tr><th>threshold</th><th>expression</th><th>held</th></tr>");
    for t in &summary.thresholds {
        let _ = write!(
            body,
            "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td></tr>",
            if t.passed { "ok" } else { "regressed" },
            escape(&t.metric),
            escape(&t.expression),
            t.passed
        );
    }
    body.push_str("</table><table><tr><th>metric</th><th>statistic</th><th>value</th></tr>");
    for metric in &summary.metrics {
        for (stat, value) in &metric.values {
            let _ = write!(
                body,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&metric.name),
                escape(stat),
                number(Some(*value))
            );
        }
    }
    body.push_str("</table>");
}

fn verdict_class(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Ok => "ok",
        Verdict::Incomparable => "incomparable",
        Verdict::Regressed => "regressed",
    }
}

fn delta_rows(body: &mut String, deltas: &[Delta]) {
    body.push_str(
        "<table><tr><th>figure</th><th>base</th><th>run</th><th>change</th><th>change %</th>\
         <th>budget</th><th>verdict</th></tr>",
    );
    for d in deltas {
        let _ = write!(
            body,
            "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td></tr>",
            if d.budget.is_some() {
                verdict_class(d.verdict)
            } else {
                ""
            },
            escape(&d.name),
            number(d.base),
            number(d.run),
            number(d.absolute),
            number(d.relative_percent),
            number(d.budget),
            if d.budget.is_some() {
                verdict_class(d.verdict)
            } else {
                ""
            },
        );
    }
    body.push_str("</table>");
}

/// The report of a comparison: the verdict, then per entry its headline
/// figures against the budgets, overlaid series charts, thresholds and
/// every metric.
pub fn comparison_page(
    comparison: &Comparison,
    base_series: &[MetricsPoint],
    run_series: &[MetricsPoint],
) -> String {
    let mut body = format!(
        "<h1>k6 run {} compared with {}</h1><p class=\"{}\">verdict: {}</p><p>budgets: p95 \
         +{} %, error rate +{} points, requests/s &minus;{} %</p>",
        escape(&comparison.run),
        escape(&comparison.base),
        verdict_class(comparison.verdict),
        verdict_class(comparison.verdict),
        comparison.budgets.latency_p95_percent,
        comparison.budgets.error_rate_points,
        comparison.budgets.request_rate_percent,
    );
    for entry in &comparison.entries {
        let _ = write!(
            body,
            "<h2 class=\"{}\">{} ({})</h2>",
            verdict_class(entry.verdict),
            escape(&entry.entry),
            verdict_class(entry.verdict)
        );
        delta_rows(&mut body, &entry.headline);
        for (name, value) in FIGURES {
            let mut lines = Vec::new();
            if let Some(step) = entry.base_step {
                lines.push(Line {
                    label: &comparison.base,
                    colour: "#888",
                    points: points(base_series, step, value),
                });
            }
            if let Some(step) = entry.run_step {
                lines.push(Line {
                    label: &comparison.run,
                    colour: "#c0392b",
                    points: points(run_series, step, value),
                });
            }
            body.push_str(&chart(name, &lines));
        }
        body.push_str("<table><tr><th>threshold</th><th>expression</th><th>change</th></tr>");
        for t in &entry.thresholds {
            let _ = write!(
                body,
                "<tr><td>{}</td><td>{}</td><td>{:?}</td></tr>",
                escape(&t.metric),
                escape(&t.expression),
                t.change
            );
        }
        body.push_str("</table>");
        delta_rows(&mut body, &entry.metrics);
    }
    page(
        &format!("k6 run {} vs {}", comparison.run, comparison.base),
        &body,
    )
}
