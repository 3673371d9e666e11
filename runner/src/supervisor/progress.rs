//! Where a run is in time: step n of m, elapsed, and the expected time left.

use std::time::Instant;

use crate::model::Progress;

/// The clock of one suite run.
#[derive(Debug, Clone)]
pub struct RunClock {
    started: Instant,
    steps: u32,
    test_seconds: f64,
    interval_seconds: f64,
    expected_seconds: u64,
}

impl RunClock {
    /// Starts the clock of a run of `steps` scripts.
    pub fn start(
        steps: u32,
        test_seconds: u32,
        interval_seconds: u32,
        expected_seconds: u64,
    ) -> Self {
        Self {
            started: Instant::now(),
            steps,
            test_seconds: f64::from(test_seconds),
            interval_seconds: f64::from(interval_seconds),
            expected_seconds,
        }
    }

    /// Progress while step `step` (from 1) has run `step_elapsed` seconds,
    /// or while waiting after it (`waiting`).
    pub fn progress(&self, step: u32, step_elapsed: f64, waiting: bool) -> Progress {
        let elapsed = self.started.elapsed().as_secs_f64();
        let later_steps = f64::from(self.steps.saturating_sub(step));
        let left_in_step = if waiting {
            0.0
        } else {
            (self.test_seconds - step_elapsed).max(0.0)
        };
        let left_waiting = if waiting {
            (self.interval_seconds - step_elapsed).max(0.0)
        } else if later_steps > 0.0 {
            self.interval_seconds
        } else {
            0.0
        };
        let eta = left_in_step
            + left_waiting
            + later_steps * self.test_seconds
            + (later_steps - 1.0).max(0.0) * self.interval_seconds;
        let percent = if elapsed + eta > 0.0 {
            (elapsed / (elapsed + eta) * 100.0).min(100.0)
        } else {
            0.0
        };
        Progress {
            step,
            steps: self.steps,
            elapsed_seconds: round_tenths(elapsed),
            step_elapsed_seconds: round_tenths(step_elapsed),
            expected_seconds: self.expected_seconds,
            eta_seconds: round_tenths(eta),
            percent: round_tenths(percent),
            phase: if waiting { "waiting" } else { "running" }.to_owned(),
        }
    }
}

fn round_tenths(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eta_counts_the_rest_of_the_step_later_steps_and_intervals() {
        let clock = RunClock::start(3, 60, 10, 200);
        let p = clock.progress(1, 20.0, false);
        // 40 s left in step 1, then 10 + 60 + 10 + 60.
        assert_eq!(p.eta_seconds, 180.0);
        assert_eq!((p.step, p.steps, p.phase.as_str()), (1, 3, "running"));
        let waiting = clock.progress(2, 4.0, true);
        // 6 s of interval left, then step 3.
        assert_eq!(waiting.eta_seconds, 66.0);
        assert_eq!(clock.progress(3, 70.0, false).eta_seconds, 0.0);
    }
}
