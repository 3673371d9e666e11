//! Shareable reports of stored runs: a self-contained HTML page of one
//! run or of a comparison (inline CSS and SVG charts, no script, nothing
//! fetched, so it opens offline and can be attached to a ticket), and a
//! JUnit XML file of a run's thresholds and checks for CI.
//!
//! Every text that comes from a run (script names, metric names, reasons)
//! is escaped; none can become markup.
//!
//! - `html`: the pages.
//! - `junit`: the XML.
//! - `svg`: the line charts.

mod html;
mod junit;
mod svg;

pub use html::{comparison_page, run_page};
pub use junit::junit_xml;

/// `text` with `& < > " '` escaped, for HTML and XML alike.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // XML 1.0 has no way to write most control characters.
            c if c.is_control() && !matches!(c, '\n' | '\t') => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// A number for a table cell: `-` when absent, at most 3 decimals.
fn number(value: Option<f64>) -> String {
    match value {
        None => "-".to_owned(),
        Some(v) if v.fract() == 0.0 && v.abs() < 1e15 => format!("{v:.0}"),
        Some(v) => format!("{v:.3}"),
    }
}

#[cfg(test)]
mod tests;
