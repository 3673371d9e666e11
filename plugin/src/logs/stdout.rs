//! k6's stdout: banner and options header, progress blocks, the end-of-test
//! summary, and (with `--log-output=stdout`) log lines.
//!
//! A progress block is a blank line, a `running (…)` line and one line per
//! scenario; before VUs run the `running` line is missing and the block
//! starts with `Init [ 0% ]` or `Run [ 100% ] setup()`. The summary is a run
//! of indented lines and blank lines; the progress block k6 prints after it
//! (never indented) ends it. A wrapper that runs k6 several times prints
//! several summaries; each one is kept, in order.

use super::progress::{parse_progress, parse_scenario};
use super::stderr::log_event;
use super::text_summary::TextSummary;
use crate::types::{LineEvent, RunSummary};

/// Most text summaries kept from one stream; a wrapper that runs k6 more
/// often keeps the first ones (the cap bounds memory).
pub(crate) const MAX_SUMMARIES: usize = 100;

/// What the previous stdout line was, as far as the next one cares.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
enum Previous {
    /// Nothing yet, or an empty line: a progress block or summary may start.
    #[default]
    Blank,
    /// A progress or scenario line: scenario lines may follow.
    Block,
    /// Anything else.
    Other,
}

/// The reader of one process's stdout; keeps its state across batches.
#[derive(Debug, Default)]
pub(crate) struct StdoutReader {
    previous: Previous,
    in_summary: bool,
    /// The summary being read is kept (false past [`MAX_SUMMARIES`]).
    keeping: bool,
    summaries: Vec<TextSummary>,
}

impl StdoutReader {
    /// Reads one line (without its line ending).
    pub(crate) fn read(&mut self, raw: &str) -> LineEvent {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if let Some(progress) = parse_progress(line) {
            self.in_summary = false;
            self.previous = Previous::Block;
            return LineEvent::Progress(progress);
        }
        if line.trim().is_empty() {
            self.previous = Previous::Blank;
            if self.in_summary {
                return LineEvent::SummaryLine;
            }
            return LineEvent::Text;
        }
        let previous = std::mem::replace(&mut self.previous, Previous::Other);
        if line.starts_with(' ') {
            if self.in_summary {
                if self.keeping
                    && let Some(summary) = self.summaries.last_mut()
                {
                    summary.read(line);
                }
                return LineEvent::SummaryLine;
            }
            if TextSummary::opens(line, previous == Previous::Blank) {
                self.in_summary = true;
                self.keeping = self.summaries.len() < MAX_SUMMARIES;
                if self.keeping {
                    let mut summary = TextSummary::default();
                    summary.begin(line);
                    self.summaries.push(summary);
                }
                return LineEvent::SummaryLine;
            }
            return LineEvent::Text;
        }
        // The summary is indented throughout; an unindented line ends it.
        self.in_summary = false;
        if previous != Previous::Other
            && let Some(scenario) = parse_scenario(line)
        {
            self.previous = Previous::Block;
            return LineEvent::Scenario(scenario);
        }
        log_event(line).unwrap_or(LineEvent::Text)
    }

    /// Every text summary read so far, in order.
    pub(crate) fn summaries(&self) -> Vec<RunSummary> {
        self.summaries
            .iter()
            .filter_map(TextSummary::summary)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::ScenarioState;

    fn kinds(reader: &mut StdoutReader, lines: &[&str]) -> Vec<&'static str> {
        lines
            .iter()
            .map(|line| match reader.read(line) {
                LineEvent::Log(_) => "log",
                LineEvent::Notice(_) => "notice",
                LineEvent::Progress(_) => "progress",
                LineEvent::Scenario(_) => "scenario",
                LineEvent::SummaryLine => "summary",
                LineEvent::Text => "text",
            })
            .collect()
    }

    #[test]
    fn a_progress_block_is_progress_then_scenarios() {
        let mut reader = StdoutReader::default();
        assert_eq!(
            kinds(
                &mut reader,
                &[
                    "",
                    "running (01.0s), 10/15 VUs, 34 complete and 0 interrupted iterations",
                    "carr      [  25% ] 2/3 VUs  1.0s/4s  10.00 iters/s",
                    "delayed • [   0% ] waiting  1.0s    ",
                    "",
                ]
            ),
            ["text", "progress", "scenario", "scenario", "text"]
        );
    }

    #[test]
    fn init_and_run_lines_start_a_block_after_a_blank_line() {
        let mut reader = StdoutReader::default();
        assert_eq!(
            kinds(
                &mut reader,
                &["", "Run       [ 100% ] setup()", "default   [   0% ]", ""]
            ),
            ["text", "scenario", "scenario", "text"]
        );
    }

    #[test]
    fn scenario_shaped_text_after_other_text_stays_text() {
        let mut reader = StdoutReader::default();
        assert_eq!(
            kinds(
                &mut reader,
                &[
                    "custom summary: iterations=20",
                    "default   [  20% ] 2 VUs  1.0s/5s"
                ]
            ),
            ["text", "text"]
        );
    }

    #[test]
    fn a_running_line_right_after_text_is_still_progress() {
        let mut reader = StdoutReader::default();
        assert_eq!(
            kinds(
                &mut reader,
                &[
                    "The test is done, but --linger was enabled, so k6 is waiting for Ctrl+C to continue...",
                    "running (07.0s), 0/2 VUs, 30 complete and 0 interrupted iterations",
                    "default ✓ [ 100% ] 2 VUs  3s",
                ]
            ),
            ["text", "progress", "scenario"]
        );
    }

    #[test]
    fn the_summary_runs_until_the_final_progress_block() {
        let mut reader = StdoutReader::default();
        assert_eq!(
            kinds(
                &mut reader,
                &[
                    "     execution: local",
                    "",
                    "",
                    "  █ TOTAL RESULTS ",
                    "",
                    "    http_reqs..........: 98     19.548983/s",
                    "",
                    "",
                    "running (05.0s), 0/2 VUs, 98 complete and 0 interrupted iterations",
                    "default ✓ [ 100% ] 2 VUs  5s",
                    "",
                    "    indented text after the summary",
                ]
            ),
            [
                "text", "text", "text", "summary", "summary", "summary", "summary", "summary",
                "progress", "scenario", "text", "text"
            ]
        );
        assert_eq!(
            reader.summaries().first().and_then(|s| s.requests),
            Some(98)
        );
    }

    #[test]
    fn log_lines_on_stdout_are_logs() {
        let mut reader = StdoutReader::default();
        assert_eq!(
            kinds(
                &mut reader,
                &[
                    r#"time="2026-11-23T23:30:17Z" level=info msg="console.info message" source=console"#,
                    r#"time="2026-11-23T23:30:17Z" level=warning msg="Request Failed" error="x""#,
                ]
            ),
            ["log", "notice"]
        );
    }

    #[test]
    fn carriage_returns_are_ignored_for_recognition() {
        let mut reader = StdoutReader::default();
        match reader.read("running (01.0s), 2/2 VUs, 18 complete and 0 interrupted iterations\r") {
            LineEvent::Progress(progress) => assert_eq!(progress.complete_iterations, 18),
            other => panic!("expected progress, got {other:?}"),
        }
        match reader.read("default ✗ [  43% ] 10/10 VUs  06.5s/15s\r") {
            LineEvent::Scenario(scenario) => {
                assert_eq!(scenario.state, ScenarioState::Interrupted)
            }
            other => panic!("expected a scenario, got {other:?}"),
        }
    }
}
