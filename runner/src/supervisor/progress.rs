//! Where a run is in time: step n of m, elapsed, and the expected time left.

use std::time::Instant;

use crate::model::{Progress, ProgressPhase};

/// The clock of one suite run.
#[derive(Debug, Clone)]
pub struct RunClock {
    started: Instant,
    /// Expected seconds of each step, in order.
    step_seconds: Vec<f64>,
    interval_seconds: f64,
    expected_seconds: u64,
}

impl RunClock {
    /// Starts the clock of a run whose steps are expected to take
    /// `step_seconds` each, with `interval_seconds` between two of them.
    pub fn start(step_seconds: &[u32], interval_seconds: u32, expected_seconds: u64) -> Self {
        Self {
            started: Instant::now(),
            step_seconds: step_seconds.iter().map(|s| f64::from(*s)).collect(),
            interval_seconds: f64::from(interval_seconds),
            expected_seconds,
        }
    }

    /// Progress while step `step` (from 1) has run `step_elapsed` seconds,
    /// or while waiting after it (`waiting`).
    pub fn progress(&self, step: u32, step_elapsed: f64, waiting: bool) -> Progress {
        let elapsed = self.started.elapsed().as_secs_f64();
        let steps = u32::try_from(self.step_seconds.len()).unwrap_or(u32::MAX);
        let index = usize::try_from(step.saturating_sub(1)).unwrap_or(usize::MAX);
        let this_step = self.step_seconds.get(index).copied().unwrap_or(0.0);
        let later: &[f64] = self.step_seconds.get(index + 1..).unwrap_or(&[]);
        let left_in_step = if waiting {
            0.0
        } else {
            (this_step - step_elapsed).max(0.0)
        };
        let left_waiting = if waiting {
            (self.interval_seconds - step_elapsed).max(0.0)
        } else if later.is_empty() {
            0.0
        } else {
            self.interval_seconds
        };
        let later_intervals = later.len().saturating_sub(1) as f64;
        let eta = left_in_step
            + left_waiting
            + later.iter().sum::<f64>()
            + later_intervals * self.interval_seconds;
        let percent = if elapsed + eta > 0.0 {
            (elapsed / (elapsed + eta) * 100.0).min(100.0)
        } else {
            0.0
        };
        Progress {
            step,
            steps,
            elapsed_seconds: round_tenths(elapsed),
            step_elapsed_seconds: round_tenths(step_elapsed),
            expected_seconds: self.expected_seconds,
            eta_seconds: round_tenths(eta),
            percent: round_tenths(percent),
            phase: if waiting {
                ProgressPhase::Waiting
            } else {
                ProgressPhase::Running
            },
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
        let clock = RunClock::start(&[60, 60, 60], 10, 200);
        let p = clock.progress(1, 20.0, false);
        // 40 s left in step 1, then 10 + 60 + 10 + 60.
        assert_eq!(p.eta_seconds, 180.0);
        assert_eq!((p.step, p.steps, p.phase), (1, 3, ProgressPhase::Running));
        let waiting = clock.progress(2, 4.0, true);
        // 6 s of interval left, then step 3.
        assert_eq!(waiting.eta_seconds, 66.0);
        assert_eq!(clock.progress(3, 70.0, false).eta_seconds, 0.0);
    }

    /// Steps of their own lengths count with their own lengths.
    #[test]
    fn steps_of_different_lengths_add_up() {
        let clock = RunClock::start(&[10, 300, 20], 5, 340);
        assert_eq!(
            clock.progress(1, 0.0, false).eta_seconds,
            10.0 + 5.0 + 300.0 + 5.0 + 20.0
        );
        assert_eq!(
            clock.progress(2, 100.0, false).eta_seconds,
            200.0 + 5.0 + 20.0
        );
    }
}
