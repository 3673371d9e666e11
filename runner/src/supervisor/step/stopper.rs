//! How a step is asked to stop (k6's REST API, or one SIGINT to its
//! group) and killed after the grace period: the actions the stop state
//! machine in `watch` takes.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use nix::sys::signal::Signal;

use super::StepTask;
use super::watch::Stopper;
use crate::contract::StopCause;
use crate::model::LogLevel;
use crate::supervisor::StepRunner;
use crate::supervisor::k6_api::K6Api;
use crate::supervisor::process;

/// Stops a step's process: k6's REST API when it has one, else one SIGINT
/// to its group; SIGKILL of the group after the grace period.
pub(super) struct StepStopper<'a> {
    pub(super) runner: &'a StepRunner,
    pub(super) task: &'a StepTask<'a>,
    pub(super) pid: u32,
    /// Set once a stop was asked for, so the verdict can tell a stopped
    /// step from one that ended by itself.
    pub(super) stop_sent: Arc<AtomicBool>,
}

impl Stopper for StepStopper<'_> {
    async fn ask_to_stop(&self, cause: StopCause) {
        self.stop_sent.store(true, Ordering::Relaxed);
        let why = match cause {
            StopCause::Operator => "operator asked to stop",
            StopCause::Shutdown => "runner shutting down",
            StopCause::TimeLimit => "time limit reached",
            StopCause::None => "stop",
        };
        let (task, grace) = (self.task, self.runner.stop_grace);
        if cause == StopCause::TimeLimit {
            self.runner.note(
                task,
                LogLevel::Warning,
                &format!("ran past maxDuration ({} s)", task.step.time_limit_seconds),
            );
        }
        let rest = match task.step.api_port {
            Some(port) => K6Api::new(port).stop().await.map_err(Some),
            None => Err(None),
        };
        match rest {
            Ok(()) => self.runner.note(
                task,
                LogLevel::Info,
                &format!("{why}: asked k6 to stop through its REST API"),
            ),
            // The request may have reached k6 (it timed out, or the answer
            // was lost): a signal now could land during its end-of-test
            // processing and kill it without a summary, so the request
            // stands and the grace period decides.
            Err(Some(error)) if !error.is_connect() && !error.is_status() => self.runner.note(
                task,
                LogLevel::Warning,
                &format!(
                    "{why}: k6's REST API did not confirm the stop request ({error}); no second \
                     request is sent, the group is killed after {grace:?} if it is still running"
                ),
            ),
            // k6 surely did not take the request: the one signal is the request.
            Err(error) => {
                let reason =
                    error.map_or_else(|| "no REST API for this step".to_owned(), |e| e.to_string());
                let sent = process::signal_group(self.pid, Signal::SIGINT);
                self.runner.note(
                    task,
                    LogLevel::Info,
                    &format!("{why}: sent SIGINT to the process group ({reason}; {sent:?})"),
                );
            }
        }
    }

    fn kill(&self) {
        self.runner.note(
            self.task,
            LogLevel::Warning,
            &format!(
                "still running {:?} after the stop request: killing its process group",
                self.runner.stop_grace
            ),
        );
        let _ = process::signal_group(self.pid, Signal::SIGKILL);
    }
}
