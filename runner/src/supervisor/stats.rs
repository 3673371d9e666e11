//! CPU and memory of a step's process, sampled from /proc.

use std::time::Instant;

/// Samples one process; CPU is the share of one core used since the
/// previous sample.
pub struct ProcessSampler {
    pid: i32,
    previous: Option<(Instant, u64)>,
}

/// One sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProcessSample {
    /// Percent of one core since the previous sample (None on the first).
    pub cpu_percent: Option<f64>,
    /// Resident set size, bytes.
    pub rss_bytes: u64,
}

impl ProcessSampler {
    /// A sampler of `pid`.
    pub fn new(pid: u32) -> Self {
        Self {
            pid: i32::try_from(pid).unwrap_or(i32::MAX),
            previous: None,
        }
    }

    /// Reads the process's CPU time and RSS; `None` once it is gone.
    pub fn sample(&mut self) -> Option<ProcessSample> {
        let stat = procfs::process::Process::new(self.pid).ok()?.stat().ok()?;
        let now = Instant::now();
        let ticks = stat.utime + stat.stime;
        let cpu_percent = self.previous.map(|(at, before)| {
            let seconds = now.duration_since(at).as_secs_f64();
            let used = ticks.saturating_sub(before) as f64 / procfs::ticks_per_second() as f64;
            if seconds > 0.0 {
                used / seconds * 100.0
            } else {
                0.0
            }
        });
        self.previous = Some((now, ticks));
        Some(ProcessSample {
            cpu_percent,
            rss_bytes: stat.rss * procfs::page_size(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_this_process() {
        let mut sampler = ProcessSampler::new(std::process::id());
        let first = sampler.sample().unwrap();
        assert!(first.rss_bytes > 0);
        assert_eq!(first.cpu_percent, None);
        assert!(sampler.sample().unwrap().cpu_percent.is_some());
    }
}
