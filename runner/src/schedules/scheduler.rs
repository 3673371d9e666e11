//! The scheduler: one task that owns the timing. It finds the next fire
//! across the enabled schedules, sleeps until then (tokio time, woken
//! early by any schedule change), and fires every schedule due at that
//! instant, in id order.
//!
//! The rules:
//! - a fire while a run is in progress is skipped, and recorded with the
//!   reason; it is never queued;
//! - fires are counted from when the scheduler started: those missed
//!   while the runner was down are not replayed, and fires missed while a
//!   start took long are not caught up either (no burst);
//! - a disabled schedule never fires;
//! - the wall clock is read at least every [`MAX_SLEEP`], so a clock set
//!   meanwhile moves a fire by at most that.
//!
//! The runner side (the schedules, starting a run, recording a fire) is
//! behind [`Port`], and "now" behind [`Clock`], so that all of this is
//! tested on a paused tokio clock.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Notify;

use super::model::{FireOutcome, NewFire, Schedule};
use super::timing::utc_text;
use crate::history::HistoryError;

/// How long the scheduler waits before reading the schedules again after
/// the database failed to give them (or until a change wakes it).
pub const RETRY_AFTER: Duration = Duration::from_secs(30);

/// Longest sleep between two looks at the wall clock: the sleep runs on
/// the monotonic clock, so a wall clock that is set meanwhile (NTP, a
/// suspended machine) moves a fire by at most this much.
pub const MAX_SLEEP: Duration = Duration::from_secs(60);

/// Where the scheduler reads the wall-clock time the patterns are matched
/// against.
pub trait Clock: Send + Sync + 'static {
    /// Now.
    fn now(&self) -> DateTime<Utc>;
}

/// The system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// What one start attempt did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// A run was started.
    Started {
        /// Its id.
        run_id: String,
    },
    /// A run was already in progress.
    Busy {
        /// Its id.
        run_id: String,
    },
    /// The start failed.
    Failed {
        /// Why, in words.
        reason: String,
    },
}

/// What the scheduler needs from the runner. Each call answers `None`
/// once the runner is gone (or shutting down), which ends the scheduler.
pub trait Port: Send + Sync + 'static {
    /// Every stored schedule.
    fn schedules(&self)
    -> impl Future<Output = Option<Result<Vec<Schedule>, HistoryError>>> + Send;
    /// Starts the saved config's run on behalf of schedule `schedule`.
    fn start(&self, schedule: u64) -> impl Future<Output = Option<Attempt>> + Send;
    /// Records a fire (and audits and counts it).
    fn record(&self, fire: NewFire) -> impl Future<Output = ()> + Send;
}

/// How the API reaches the scheduler: a change to wake it, or the end.
#[derive(Debug, Default)]
pub struct Signals {
    wake: Notify,
    stopped: AtomicBool,
}

impl Signals {
    /// The schedules changed: compute the next fire again. A change made
    /// while the scheduler is busy is kept until it waits again.
    pub fn changed(&self) {
        self.wake.notify_one();
    }

    /// The runner is shutting down: fire nothing more.
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        self.wake.notify_one();
    }

    /// Whether [`Self::stop`] was called.
    pub fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }
}

/// The next instant any enabled schedule fires strictly after `after`,
/// and the schedules due then, by id.
pub fn next_due(schedules: &[Schedule], after: DateTime<Utc>) -> Option<(DateTime<Utc>, Vec<u64>)> {
    let mut due: Option<(DateTime<Utc>, Vec<u64>)> = None;
    for schedule in schedules.iter().filter(|s| s.enabled) {
        let Some(timing) = schedule.timing() else {
            tracing::warn!(schedule = schedule.id, cron = %schedule.cron, timezone = %schedule.timezone, "a stored schedule this runner cannot read never fires");
            continue;
        };
        let Some(at) = timing.next_after(after) else {
            continue;
        };
        match &mut due {
            Some((first, ids)) if *first == at => ids.push(schedule.id),
            Some((first, _)) if *first < at => {}
            _ => due = Some((at, vec![schedule.id])),
        }
    }
    due.map(|(at, mut ids)| {
        ids.sort_unstable();
        (at, ids)
    })
}

/// Runs the scheduler until the runner is gone or [`Signals::stop`].
pub async fn run(port: impl Port, clock: impl Clock, signals: Arc<Signals>) {
    // Nothing at or before this instant fires. It starts at "now", so the
    // fires missed while the runner was down are not replayed.
    let mut after = clock.now();
    loop {
        if signals.is_stopped() {
            return;
        }
        let schedules = match port.schedules().await {
            None => return,
            Some(Ok(schedules)) => schedules,
            Some(Err(error)) => {
                tracing::error!(%error, "cannot read the schedules; trying again");
                tokio::select! {
                    () = tokio::time::sleep(RETRY_AFTER) => {}
                    () = signals.wake.notified() => {}
                }
                continue;
            }
        };
        let now = clock.now();
        // A fire that took long (or a sleep that overslept) moves "now"
        // past fires that were due meanwhile: they are dropped, not burst.
        after = after.max(now);
        let Some((due, ids)) = next_due(&schedules, after) else {
            signals.wake.notified().await;
            continue;
        };
        let wait = (due - now).to_std().unwrap_or_default().min(MAX_SLEEP);
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = signals.wake.notified() => continue,
        }
        if signals.is_stopped() {
            return;
        }
        // Not yet due: the sleep was capped at `MAX_SLEEP`, or the wall
        // clock lags the monotonic one the sleep used. Sleep the rest.
        if clock.now() < due {
            continue;
        }
        for id in ids {
            if fire(&port, &clock, id, due).await.is_none() {
                return;
            }
        }
        after = due;
    }
}

/// Fires schedule `id`, due at `due`: a start attempt, recorded.
async fn fire(port: &impl Port, clock: &impl Clock, id: u64, due: DateTime<Utc>) -> Option<()> {
    let (outcome, run_id, reason) = match port.start(id).await? {
        Attempt::Started { run_id } => (FireOutcome::Started, Some(run_id), None),
        Attempt::Busy { run_id } => (
            FireOutcome::Skipped,
            None,
            Some(format!("a run is in progress (run {run_id})")),
        ),
        Attempt::Failed { reason } => (FireOutcome::Failed, None, Some(reason)),
    };
    tracing::info!(schedule = id, outcome = outcome.as_str(), run = ?run_id, reason = ?reason, "schedule fired");
    port.record(NewFire {
        schedule: id,
        due_at: utc_text(due),
        fired_at: utc_text(clock.now()),
        outcome,
        run_id,
        reason,
    })
    .await;
    Some(())
}

#[cfg(test)]
mod tests;
