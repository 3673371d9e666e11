//! The progress block k6 prints on stdout once a second when stdout is not a
//! terminal:
//!
//! ```text
//! running (01.0s), 2/2 VUs, 18 complete and 0 interrupted iterations
//! default   [  20% ] 2 VUs  1.0s/5s
//! ```
//!
//! Both shapes are matched in full, field by field, so a line a script prints
//! cannot pass for them by accident.

use super::units;
use crate::types::{Progress, ScenarioProgress, ScenarioState};

/// Reads a `running (…)` or `paused (…)` line.
pub(crate) fn parse_progress(line: &str) -> Option<Progress> {
    let line = line.trim_end();
    let (running, rest) = if let Some(rest) = line.strip_prefix("running (") {
        (true, rest)
    } else {
        (false, line.strip_prefix("paused (")?)
    };
    let (elapsed, rest) = rest.split_once("), ")?;
    let (vus, rest) = rest.split_once(" VUs, ")?;
    let (active, max) = vus.split_once('/')?;
    let (complete, rest) = rest.split_once(" complete and ")?;
    let interrupted = rest.strip_suffix(" interrupted iterations")?;
    Some(Progress {
        running,
        elapsed_seconds: units::clock_seconds(elapsed)?,
        // VU counts are zero-padded to the width of the maximum (`02/10`).
        active_vus: u32::try_from(units::count(active)?).ok()?,
        max_vus: u32::try_from(units::count(max)?).ok()?,
        complete_iterations: units::count(complete)?,
        interrupted_iterations: units::count(interrupted)?,
    })
}

/// Reads a scenario line: `<name><padding> <mark> [ <pct>% ] <detail>`,
/// where the mark is a space (running), `✓`, `✗`, `↓` or `•`, and the
/// detail may be empty (`default   [   0% ]`). Also matches the `Init` and
/// `Run` lines k6 prints in place of scenarios before VUs run.
pub(crate) fn parse_scenario(line: &str) -> Option<ScenarioProgress> {
    let line = line.trim_end();
    // k6 allows only these characters in scenario names.
    let name_len = line
        .bytes()
        .take_while(|byte| byte.is_ascii_alphanumeric() || *byte == b'_' || *byte == b'-')
        .count();
    if name_len == 0 {
        return None;
    }
    // `name_len` counts ASCII bytes only, so it is a char boundary.
    let (name, rest) = line.split_at(name_len);
    let after_padding = rest.trim_start_matches(' ');
    if after_padding.len() == rest.len() {
        return None;
    }
    let mut chars = after_padding.chars();
    let (state, bracketed) = match chars.next()? {
        '[' => (ScenarioState::Running, after_padding),
        mark => {
            let state = match mark {
                '✓' => ScenarioState::Finished,
                '✗' => ScenarioState::Interrupted,
                '↓' => ScenarioState::Stopping,
                '•' => ScenarioState::Waiting,
                _ => return None,
            };
            (state, chars.as_str().strip_prefix(' ')?)
        }
    };
    let inside = bracketed.strip_prefix("[ ")?;
    let (percent, detail) = inside.split_once("% ]")?;
    let percent = units::decimal(percent.trim_start_matches(' '))?;
    if !(detail.is_empty() || detail.starts_with(' ')) {
        return None;
    }
    Some(ScenarioProgress {
        name: name.to_owned(),
        state,
        // The value is at most 100 when k6 prints it; the cast is exact for
        // every percentage it can print.
        percent: percent.min(100.0) as f32,
        detail: detail.trim().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_running_line() {
        assert_eq!(
            parse_progress("running (01.0s), 2/2 VUs, 18 complete and 0 interrupted iterations"),
            Some(Progress {
                running: true,
                elapsed_seconds: 1.0,
                active_vus: 2,
                max_vus: 2,
                complete_iterations: 18,
                interrupted_iterations: 0,
            })
        );
    }

    #[test]
    fn reads_paused_lines_padded_vus_and_long_clocks() {
        let paused =
            parse_progress("paused (06.4s), 00/15 VUs, 165 complete and 0 interrupted iterations")
                .expect("a paused line");
        assert!(!paused.running);
        assert_eq!((paused.active_vus, paused.max_vus), (0, 15));
        let minutes =
            parse_progress("running (00m00.5s), 2/2 VUs, 0 complete and 0 interrupted iterations")
                .expect("a minutes clock");
        assert_eq!(minutes.elapsed_seconds, 0.5);
        let hours = parse_progress(
            "running (0h00m02.5s), 0/1 VUs, 4 complete and 1 interrupted iterations",
        )
        .expect("an hours clock");
        assert_eq!(hours.elapsed_seconds, 2.5);
        assert_eq!(hours.interrupted_iterations, 1);
        let many = parse_progress(
            "running (33.0s), 000/600 VUs, 640 complete and 263 interrupted iterations",
        )
        .expect("600 VUs");
        assert_eq!((many.active_vus, many.max_vus), (0, 600));
    }

    #[test]
    fn near_misses_are_not_progress() {
        for line in [
            "running (01.0s), 2/2 VUs, 18 complete and 0 interrupted iterations, really",
            "running (soon), 2/2 VUs, 18 complete and 0 interrupted iterations",
            "running (01.0s), 2 VUs, 18 complete and 0 interrupted iterations",
            "running (01.0s), -1/2 VUs, 18 complete and 0 interrupted iterations",
            "running (01.0s), 2/2 VUs, many complete and 0 interrupted iterations",
            "Running (01.0s), 2/2 VUs, 18 complete and 0 interrupted iterations",
            " running (01.0s), 2/2 VUs, 18 complete and 0 interrupted iterations",
            "running (01.0s), 9999999999/2 VUs, 1 complete and 0 interrupted iterations",
            "running",
        ] {
            assert_eq!(parse_progress(line), None, "{line:?}");
        }
    }

    fn scenario(line: &str) -> (String, ScenarioState, f32, String) {
        let parsed = parse_scenario(line).unwrap_or_else(|| panic!("not a scenario: {line:?}"));
        (parsed.name, parsed.state, parsed.percent, parsed.detail)
    }

    #[test]
    fn reads_every_executor_variant() {
        use ScenarioState::*;
        let cases = [
            (
                "default   [  20% ] 2 VUs  1.0s/5s",
                "default",
                Running,
                20.0,
                "2 VUs  1.0s/5s",
            ),
            (
                "carr      [  25% ] 2/3 VUs  1.0s/4s  10.00 iters/s",
                "carr",
                Running,
                25.0,
                "2/3 VUs  1.0s/4s  10.00 iters/s",
            ),
            (
                "cvus      [  25% ] 2 VUs    1.0s/4s ",
                "cvus",
                Running,
                25.0,
                "2 VUs    1.0s/4s",
            ),
            (
                "pervu   ✓ [ 100% ] 2 VUs    2.0s/5s  20/20 iters, 10 per VU",
                "pervu",
                Finished,
                100.0,
                "2 VUs    2.0s/5s  20/20 iters, 10 per VU",
            ),
            (
                "rvus      [  25% ] 1/3 VUs  1.0s/4.0s",
                "rvus",
                Running,
                25.0,
                "1/3 VUs  1.0s/4.0s",
            ),
            (
                "shared  ✓ [ 100% ] 2 VUs    2.0s/5s  20/20 shared iters",
                "shared",
                Finished,
                100.0,
                "2 VUs    2.0s/5s  20/20 shared iters",
            ),
            (
                "delayed • [   0% ] waiting  1.0s    ",
                "delayed",
                Waiting,
                0.0,
                "waiting  1.0s",
            ),
            (
                "ext    [   3% ] 02/10 VUs  01.0s/30s   ",
                "ext",
                Running,
                3.0,
                "02/10 VUs  01.0s/30s",
            ),
            (
                "ext  ✗ [  13% ] 02/20 VUs  04.0s/30s   ",
                "ext",
                Interrupted,
                13.0,
                "02/20 VUs  04.0s/30s",
            ),
            (
                "default ↓ [ 100% ] 600 VUs  3s",
                "default",
                Stopping,
                100.0,
                "600 VUs  3s",
            ),
            ("default   [   0% ]", "default", Running, 0.0, ""),
            (
                "Run       [ 100% ] setup()",
                "Run",
                Running,
                100.0,
                "setup()",
            ),
            ("Run       [ 100% ] paused", "Run", Running, 100.0, "paused"),
            ("Init      [   0% ]", "Init", Running, 0.0, ""),
        ];
        for (line, name, state, percent, detail) in cases {
            assert_eq!(
                scenario(line),
                (name.to_owned(), state, percent, detail.to_owned()),
                "{line:?}"
            );
        }
    }

    #[test]
    fn near_misses_are_not_scenarios() {
        for line in [
            "",
            "default",
            "default[  20% ] 2 VUs",
            "  default   [  20% ] 2 VUs",
            "default   [ 20 ] 2 VUs",
            "default ? [  20% ] 2 VUs",
            "default ✓[ 100% ] 2 VUs",
            "default   [  20% ]x",
            "default   [ abc% ] 2 VUs",
            "my scenario [  20% ] 2 VUs",
            "custom summary: iterations=20",
            "default   [======>-----] 2/2 VUs  1.0s/5s",
        ] {
            assert_eq!(parse_scenario(line), None, "{line:?}");
        }
    }
}
