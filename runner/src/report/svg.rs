//! Inline SVG line charts: one or two series over seconds, with the axis
//! extremes written out.

use std::fmt::Write;

use super::{escape, number};

/// Chart size in SVG units.
const WIDTH: f64 = 640.0;
/// Chart height.
const HEIGHT: f64 = 160.0;
/// Room for the labels.
const MARGIN: f64 = 36.0;
/// Most points drawn per line: longer series are thinned evenly (a 6-hour
/// step has 21,600 readings, more than any chart has pixels).
const MAX_POINTS: usize = 1_200;

/// One line: its label, colour and `(seconds, value)` points.
pub(super) struct Line<'a> {
    /// Shown in the legend.
    pub label: &'a str,
    /// A CSS colour.
    pub colour: &'static str,
    /// The points, in time order.
    pub points: Vec<(f64, f64)>,
}

/// An SVG chart of `lines` titled `title`; empty when no line has points.
pub(super) fn chart(title: &str, lines: &[Line<'_>]) -> String {
    let all = || lines.iter().flat_map(|l| l.points.iter());
    if all().next().is_none() {
        return String::new();
    }
    let x_max = all().map(|p| p.0).fold(0.0_f64, f64::max).max(1.0);
    let y_max = all()
        .map(|p| p.1)
        .fold(0.0_f64, f64::max)
        .max(f64::MIN_POSITIVE);
    let (plot_w, plot_h) = (WIDTH - 2.0 * MARGIN, HEIGHT - 2.0 * MARGIN);
    let mut svg = format!(
        "<figure><figcaption>{}</figcaption><svg viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" \
         xmlns=\"http://www.w3.org/2000/svg\"><rect x=\"{MARGIN}\" y=\"{MARGIN}\" width=\"{plot_w}\" \
         height=\"{plot_h}\" class=\"plot\"/>",
        escape(title)
    );
    for line in lines {
        let step = line.points.len().div_ceil(MAX_POINTS).max(1);
        let coordinates: Vec<String> = line
            .points
            .iter()
            .step_by(step)
            .map(|(x, y)| {
                format!(
                    "{:.1},{:.1}",
                    MARGIN + x / x_max * plot_w,
                    MARGIN + plot_h - y / y_max * plot_h
                )
            })
            .collect();
        let _ = write!(
            svg,
            "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\" points=\"{}\"><title>{}</title></polyline>",
            line.colour,
            coordinates.join(" "),
            escape(line.label)
        );
    }
    let _ = write!(
        svg,
        "<text x=\"2\" y=\"{MARGIN}\">{}</text><text x=\"2\" y=\"{}\">0</text>\
         <text x=\"{}\" y=\"{}\" text-anchor=\"end\">{} s</text>",
        number(Some(y_max)),
        MARGIN + plot_h,
        WIDTH - MARGIN,
        HEIGHT - 8.0,
        number(Some(x_max))
    );
    svg.push_str("</svg><p class=\"legend\">");
    for line in lines {
        let _ = write!(
            svg,
            "<span style=\"color:{}\">&#9644; {}</span> ",
            line.colour,
            escape(line.label)
        );
    }
    svg.push_str("</p></figure>");
    svg
}
