//! The one owner of "a run is active": at most one suite run per runner.
//! A start claims the slot (409 while it is taken); the claim holds the
//! run's stop sender and, once launched, its task, and the slot frees
//! itself when that task ends however it ends. The status's `isRunning`
//! and `state` are set here and nowhere else.

use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::contract::StopCause;
use crate::hub::Hub;
use crate::model::{RunState, Status};

/// The run slot; cheap to clone (shared).
#[derive(Clone)]
pub(crate) struct RunSlot {
    inner: Arc<Inner>,
}

struct Inner {
    active: Mutex<Option<Active>>,
    freed: Notify,
    hub: Arc<Hub>,
}

struct Active {
    id: String,
    stop: watch::Sender<Option<StopCause>>,
    task: Option<JoinHandle<()>>,
}

/// The slot, held by a start that is being prepared. Dropped without
/// [`Claim::launch`] (a refused start), it frees the slot.
pub(crate) struct Claim {
    slot: RunSlot,
    id: String,
    stop: Option<watch::Receiver<Option<StopCause>>>,
}

impl RunSlot {
    /// A free slot whose changes show in `hub`'s status.
    pub(crate) fn new(hub: Arc<Hub>) -> Self {
        Self {
            inner: Arc::new(Inner {
                active: Mutex::new(None),
                freed: Notify::new(),
                hub,
            }),
        }
    }

    /// Takes the slot for run `id`, or names the run that holds it.
    pub(crate) fn claim(&self, id: &str) -> Result<Claim, String> {
        let mut active = self.lock();
        if let Some(run) = active.as_ref() {
            return Err(run.id.clone());
        }
        let (stop, receiver) = watch::channel(None);
        *active = Some(Active {
            id: id.to_owned(),
            stop,
            task: None,
        });
        Ok(Claim {
            slot: self.clone(),
            id: id.to_owned(),
            stop: Some(receiver),
        })
    }

    /// Asks the active run to stop (once; later calls only return its id).
    pub(crate) fn stop(&self, cause: StopCause) -> Option<String> {
        let active = self.lock();
        let run = active.as_ref()?;
        if run.stop.borrow().is_none() {
            let _ = run.stop.send(Some(cause));
            self.inner.hub.update_status(|s| {
                if s.is_running {
                    s.state = RunState::Stopping;
                }
            });
            tracing::info!(run = %run.id, ?cause, "stop requested");
        }
        Some(run.id.clone())
    }

    /// The id of the run holding the slot, if any.
    pub(crate) fn active_id(&self) -> Option<String> {
        self.lock().as_ref().map(|run| run.id.clone())
    }

    /// Waits until the slot is free (the active run, if any, has ended and
    /// its record is written).
    pub(crate) async fn wait_free(&self) {
        loop {
            let freed = self.inner.freed.notified();
            if self.lock().is_none() {
                return;
            }
            freed.await;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Active>> {
        self.inner
            .active
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn free(&self, id: &str) {
        let mut active = self.lock();
        if active.as_ref().is_some_and(|run| run.id == id) {
            *active = None;
            drop(active);
            self.inner.hub.update_status(|s| {
                s.is_running = false;
                s.state = RunState::Idle;
            });
            self.inner.freed.notify_waiters();
        }
    }
}

impl Claim {
    /// Whether a stop was asked for while the start was being prepared.
    pub(crate) fn stop_requested(&self) -> bool {
        self.stop
            .as_ref()
            .is_some_and(|stop| stop.borrow().is_some())
    }

    /// Shows the run as running (or stopping, if a stop came first), with
    /// `status`'s changes in the same update, and runs `run` with the stop
    /// receiver; the slot frees itself when the task ends, even by a panic.
    pub(crate) fn launch<F, Fut>(mut self, status: impl FnOnce(&mut Status), run: F)
    where
        F: FnOnce(watch::Receiver<Option<StopCause>>) -> Fut,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let stop = self.stop.take().expect("a claim launches once");
        let stopping = stop.borrow().is_some();
        self.slot.inner.hub.update_status(|s| {
            status(s);
            s.is_running = true;
            s.state = if stopping {
                RunState::Stopping
            } else {
                RunState::Running
            };
        });
        let guard = FreeOnDrop {
            slot: self.slot.clone(),
            id: self.id.clone(),
        };
        let future = run(stop);
        let task = tokio::spawn(async move {
            let _guard = guard;
            future.await;
        });
        let mut active = self.slot.lock();
        if let Some(run) = active.as_mut().filter(|run| run.id == self.id) {
            run.task = Some(task);
        }
        // The task owns the slot now; this claim must not free it.
        self.id.clear();
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        if !self.id.is_empty() {
            self.slot.free(&self.id);
        }
    }
}

/// Frees the slot when the run's task ends.
struct FreeOnDrop {
    slot: RunSlot,
    id: String,
}

impl Drop for FreeOnDrop {
    fn drop(&mut self) {
        self.slot.free(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{RunOutcome, RunRecord, RunRecordState};

    /// One run at a time; a refused start names the running one; the
    /// slot frees itself when the run's task ends, and a stop reaches it.
    #[tokio::test]
    async fn one_run_at_a_time_and_the_slot_frees_itself() {
        let hub = Arc::new(Hub::new());
        let slot = RunSlot::new(hub.clone());
        let claim = slot.claim("r1").unwrap();
        assert_eq!(slot.claim("r2").err().as_deref(), Some("r1"));
        let (done_tx, done) = tokio::sync::oneshot::channel();
        claim.launch(
            |_| {},
            |mut stop| async move {
                let _ = stop.changed().await;
                let _ = done_tx.send(*stop.borrow());
            },
        );
        assert!(hub.status().is_running);
        assert_eq!(slot.stop(StopCause::Operator).as_deref(), Some("r1"));
        assert_eq!(hub.status().state, RunState::Stopping);
        assert_eq!(done.await.unwrap(), Some(StopCause::Operator));
        slot.wait_free().await;
        assert!(!hub.status().is_running);
        assert_eq!(slot.stop(StopCause::Operator), None);
        assert!(slot.claim("r3").is_ok());
    }

    /// A start that is refused after claiming frees the slot; a stop sent
    /// while a start is prepared is kept for the run.
    #[tokio::test]
    async fn a_dropped_claim_frees_the_slot_and_an_early_stop_is_kept() {
        let hub = Arc::new(Hub::new());
        let slot = RunSlot::new(hub.clone());
        drop(slot.claim("r1").unwrap());
        let claim = slot.claim("r2").unwrap();
        slot.stop(StopCause::Shutdown);
        assert!(claim.stop_requested());
        let (seen_tx, seen) = tokio::sync::oneshot::channel();
        claim.launch(
            |_| {},
            |stop| async move {
                let _ = seen_tx.send(*stop.borrow());
            },
        );
        assert_eq!(seen.await.unwrap(), Some(StopCause::Shutdown));
        slot.wait_free().await;
    }

    /// A run that has shown its outcome but still has work to do (its
    /// history, retention) is still in progress: the status says idle
    /// only once the slot is free, so a client who sees it idle can start
    /// the next run.
    #[tokio::test]
    async fn the_status_says_idle_only_once_the_slot_is_free() {
        let hub = Arc::new(Hub::new());
        let slot = RunSlot::new(hub.clone());
        let (shown_tx, shown) = tokio::sync::oneshot::channel();
        let (finish_tx, finish) = tokio::sync::oneshot::channel::<()>();
        let run_hub = hub.clone();
        slot.claim("r1").unwrap().launch(
            |_| {},
            |_| async move {
                let mut record = RunRecord::for_test("r1", RunRecordState::Finished, Vec::new());
                record.outcome = Some(RunOutcome::Passed);
                run_hub.update_status(|s| crate::supervisor::show_ended(s, &record));
                let _ = shown_tx.send(());
                let _ = finish.await;
            },
        );
        shown.await.unwrap();
        let status = hub.status();
        assert_eq!(status.outcome, Some(RunOutcome::Passed));
        assert!(status.is_running, "still in progress: {status:?}");
        assert_eq!(status.state, RunState::Running);
        assert_eq!(slot.claim("r2").err().as_deref(), Some("r1"));
        finish_tx.send(()).unwrap();
        slot.wait_free().await;
        assert!(!hub.status().is_running);
        assert_eq!(hub.status().state, RunState::Idle);
        assert!(slot.claim("r2").is_ok());
    }

    /// A panicking run still frees the slot.
    #[tokio::test]
    async fn a_run_that_panics_frees_the_slot() {
        let slot = RunSlot::new(Arc::new(Hub::new()));
        slot.claim("r1")
            .unwrap()
            .launch(|_| {}, |_| async { panic!("the run fails hard") });
        tokio::time::timeout(std::time::Duration::from_secs(5), slot.wait_free())
            .await
            .expect("the slot is freed");
    }
}
