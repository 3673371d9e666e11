//! Watching a running step until its process exits, and stopping it the
//! one way k6 survives: ask **once** (k6's REST API, or one SIGINT to the
//! group), wait the grace period, then SIGKILL the group. A second soft
//! request is never sent: k6 traps signals only while the test runs, so one
//! that lands during its end-of-test processing kills it without a summary.
//!
//! The decisions are a small state machine ([`StopMachine`]) with no I/O,
//! driven by [`watch_process`], which does the waiting. Its tests run small
//! real processes on a paused clock, so every stop path is checked in
//! milliseconds.

use std::process::ExitStatus;
use std::time::Duration;

use tokio::process::Child;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::contract::StopCause;

/// Where a step is in being stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Nobody asked it to stop; the time limit is `deadline`.
    Running,
    /// Asked to stop once, for `cause`; its group is killed at `kill_at`.
    StopRequested {
        /// Why.
        cause: StopCause,
        /// When the grace period ends.
        kill_at: Instant,
    },
    /// Its group was killed, after being asked to stop for `cause`.
    Killed {
        /// Why it was asked to stop.
        cause: StopCause,
    },
}

/// What the watcher must do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// Ask the step to stop, once.
    AskToStop(StopCause),
    /// SIGKILL its process group.
    Kill,
}

/// The stop decisions of one step.
#[derive(Debug, Clone)]
pub(crate) struct StopMachine {
    stage: Stage,
    deadline: Instant,
    grace: Duration,
}

impl StopMachine {
    /// A running step whose time limit ends at `deadline`, killed `grace`
    /// after a stop request.
    pub(crate) fn new(deadline: Instant, grace: Duration) -> Self {
        Self {
            stage: Stage::Running,
            deadline,
            grace,
        }
    }

    /// The current stage.
    pub(crate) fn stage(&self) -> Stage {
        self.stage
    }

    /// Why the step was asked to stop (`none` if it was not).
    pub(crate) fn cause(&self) -> StopCause {
        match self.stage {
            Stage::Running => StopCause::None,
            Stage::StopRequested { cause, .. } | Stage::Killed { cause } => cause,
        }
    }

    /// When something happens next by itself: the time limit, then the end
    /// of the grace period; nothing once the group is killed.
    pub(crate) fn wake_at(&self) -> Option<Instant> {
        match self.stage {
            Stage::Running => Some(self.deadline),
            Stage::StopRequested { kill_at, .. } => Some(kill_at),
            Stage::Killed { .. } => None,
        }
    }

    /// Someone asked to stop (operator, shutdown): the first request is
    /// passed on, any later one changes nothing.
    pub(crate) fn on_request(&mut self, cause: StopCause, now: Instant) -> Option<Action> {
        match self.stage {
            Stage::Running => {
                self.stage = Stage::StopRequested {
                    cause,
                    kill_at: now + self.grace,
                };
                Some(Action::AskToStop(cause))
            }
            Stage::StopRequested { .. } | Stage::Killed { .. } => None,
        }
    }

    /// The clock reached [`Self::wake_at`] (or later).
    pub(crate) fn on_wake(&mut self, now: Instant) -> Option<Action> {
        match self.stage {
            Stage::Running if now >= self.deadline => self.on_request(StopCause::TimeLimit, now),
            Stage::StopRequested { cause, kill_at } if now >= kill_at => {
                self.stage = Stage::Killed { cause };
                Some(Action::Kill)
            }
            _ => None,
        }
    }
}

/// How the watcher acts on a step's process.
pub(crate) trait Stopper {
    /// Asks the step to stop, once (REST API or one signal).
    async fn ask_to_stop(&self, cause: StopCause);
    /// Kills its whole process group.
    fn kill(&self);
}

/// How the watched process ended.
#[derive(Debug)]
pub(crate) struct Watched {
    /// Its exit status (an error if it could not be waited for).
    pub(crate) exit: std::io::Result<ExitStatus>,
    /// Why the runner asked it to stop, if it did.
    pub(crate) cause: StopCause,
    /// Whether its group had to be killed.
    pub(crate) killed: bool,
}

/// Waits until `child` exits, stopping it on a request from `stop`, at
/// the machine's time limit, and killing it after the grace period.
pub(crate) async fn watch_process(
    child: &mut Child,
    mut machine: StopMachine,
    stop: &mut watch::Receiver<Option<StopCause>>,
    stopper: &impl Stopper,
) -> Watched {
    // A stop asked for before the process existed counts at once.
    let already = *stop.borrow_and_update();
    if let Some(cause) = already {
        act(machine.on_request(cause, Instant::now()), stopper).await;
    }
    let mut stop_open = true;
    let exit = loop {
        let wake_at = machine.wake_at();
        tokio::select! {
            status = child.wait() => break status,
            changed = stop.changed(), if stop_open => match changed {
                Ok(()) => {
                    let requested = *stop.borrow_and_update();
                    if let Some(cause) = requested {
                        act(machine.on_request(cause, Instant::now()), stopper).await;
                    }
                }
                // The run is gone: nobody can ask any more; limits still hold.
                Err(_) => stop_open = false,
            },
            () = sleep_until(wake_at), if wake_at.is_some() => {
                act(machine.on_wake(Instant::now()), stopper).await;
            }
        }
    };
    Watched {
        exit,
        cause: machine.cause(),
        killed: matches!(machine.stage(), Stage::Killed { .. }),
    }
}

async fn act(action: Option<Action>, stopper: &impl Stopper) {
    match action {
        Some(Action::AskToStop(cause)) => stopper.ask_to_stop(cause).await,
        Some(Action::Kill) => stopper.kill(),
        None => {}
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::process::ExitStatusExt;
    use std::process::Stdio;
    use std::sync::Mutex;

    use nix::sys::signal::Signal;

    use super::*;
    use crate::supervisor::process;

    const GRACE: Duration = Duration::from_secs(15);
    const LIMIT: Duration = Duration::from_secs(600);

    /// A small real process in its own group, running `script` with `sh`.
    /// `sleep 60` itself, no shell: a shell started a moment ago may catch
    /// an early SIGINT in its start-up handler and then run `sleep` anyway,
    /// which would look like a process that ignores the stop.
    fn sleeper() -> Child {
        tokio::process::Command::new("sleep")
            .arg("60")
            .stdin(Stdio::null())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .expect("sleep starts")
    }

    fn shell(script: &str) -> Child {
        tokio::process::Command::new("/bin/sh")
            .args(["-c", script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .expect("sh starts")
    }

    /// Acts on the real process group, and remembers what it was told.
    /// The paused clock jumps to the next timer whenever the runtime is
    /// idle, so a process that obeys a stop must be seen gone before the
    /// watcher waits again: `obeyed` makes the request wait (in real time)
    /// until the process has exited, as k6 does within about 30 ms.
    struct Recorder {
        pid: u32,
        obeyed: bool,
        actions: Mutex<Vec<(Action, Instant)>>,
    }

    impl Recorder {
        fn new(child: &Child) -> Self {
            Self {
                pid: child.id().unwrap(),
                obeyed: false,
                actions: Mutex::new(Vec::new()),
            }
        }

        fn obeyed(child: &Child) -> Self {
            Self {
                obeyed: true,
                ..Self::new(child)
            }
        }

        fn actions(&self) -> Vec<Action> {
            self.actions
                .lock()
                .unwrap()
                .iter()
                .map(|(a, _)| *a)
                .collect()
        }
    }

    impl Stopper for Recorder {
        async fn ask_to_stop(&self, cause: StopCause) {
            self.actions
                .lock()
                .unwrap()
                .push((Action::AskToStop(cause), Instant::now()));
            let _ = process::signal_group(self.pid, Signal::SIGINT);
            if self.obeyed {
                exited(self.pid);
            }
        }

        fn kill(&self) {
            self.actions
                .lock()
                .unwrap()
                .push((Action::Kill, Instant::now()));
            let _ = process::signal_group(self.pid, Signal::SIGKILL);
        }
    }

    /// Blocks (in real time, at most 5 s) until `pid` has exited, and a
    /// little longer, so that its SIGCHLD has reached the runtime before
    /// the watcher waits (else the paused clock could jump first).
    fn exited(pid: u32) {
        let pid = i32::try_from(pid).unwrap();
        for _ in 0..1_000 {
            let gone = procfs::process::Process::new(pid)
                .and_then(|p| p.stat())
                .map_or(true, |stat| stat.state == 'Z');
            if gone {
                std::thread::sleep(Duration::from_millis(50));
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        panic!("process {pid} did not exit");
    }

    fn machine(limit: Duration) -> StopMachine {
        StopMachine::new(Instant::now() + limit, GRACE)
    }

    /// Waits for the shell to have installed its traps: it starts by
    /// touching `ready`.
    async fn ready(path: &std::path::Path) {
        for _ in 0..500 {
            if path.exists() {
                return;
            }
            tokio::task::yield_now().await;
            std::thread::sleep(Duration::from_millis(5));
        }
        panic!("the shell never got ready");
    }

    /// A process that ends by itself is neither asked nor killed.
    #[tokio::test(start_paused = true)]
    async fn a_step_that_ends_by_itself_is_left_alone() {
        let mut child = shell("exit 3");
        let recorder = Recorder::new(&child);
        exited(recorder.pid);
        let (_tx, mut stop) = watch::channel(None);
        let watched = watch_process(&mut child, machine(LIMIT), &mut stop, &recorder).await;
        assert_eq!(watched.exit.unwrap().code(), Some(3));
        assert_eq!((watched.cause, watched.killed), (StopCause::None, false));
        assert!(recorder.actions().is_empty());
    }

    /// An operator stop is one request; a process that honours it (as k6
    /// does, writing its summary) is not killed.
    #[tokio::test(start_paused = true)]
    async fn an_operator_stop_asks_once_and_a_process_that_obeys_is_not_killed() {
        let mut child = sleeper();
        let recorder = Recorder::obeyed(&child);
        let (tx, mut stop) = watch::channel(None);
        tx.send(Some(StopCause::Operator)).unwrap();
        let watched = watch_process(&mut child, machine(LIMIT), &mut stop, &recorder).await;
        assert_eq!(watched.exit.unwrap().signal(), Some(2));
        assert_eq!(
            (watched.cause, watched.killed),
            (StopCause::Operator, false)
        );
        assert_eq!(recorder.actions(), [Action::AskToStop(StopCause::Operator)]);
    }

    /// A process that ignores the request is killed exactly the grace
    /// period later, and a second request in between sends nothing: one
    /// SIGINT reaches it, not two.
    #[tokio::test(start_paused = true)]
    async fn a_process_that_ignores_the_stop_is_killed_after_the_grace_period() {
        let dir = tempfile::tempdir().unwrap();
        let (ready_file, signals) = (dir.path().join("ready"), dir.path().join("signals"));
        let mut child = shell(&format!(
            "trap 'echo INT >> {}' INT; touch {}; while :; do sleep 1; done",
            signals.display(),
            ready_file.display()
        ));
        ready(&ready_file).await;
        let recorder = Recorder::new(&child);
        let (tx, mut stop) = watch::channel(None);
        let started = Instant::now();
        let sender = tokio::spawn(async move {
            tx.send(Some(StopCause::Operator)).unwrap();
            tokio::time::sleep(Duration::from_secs(5)).await;
            tx.send(Some(StopCause::Shutdown)).unwrap();
            tx
        });
        let watched = watch_process(&mut child, machine(LIMIT), &mut stop, &recorder).await;
        drop(sender.await);
        assert_eq!(watched.exit.unwrap().signal(), Some(9));
        assert_eq!((watched.cause, watched.killed), (StopCause::Operator, true));
        assert_eq!(
            recorder.actions(),
            [Action::AskToStop(StopCause::Operator), Action::Kill]
        );
        let killed_at = recorder.actions.lock().unwrap()[1].1;
        assert_eq!(killed_at - started, GRACE);
        // The shell's trap runs between its one-second sleeps; give it the
        // real time that takes.
        std::thread::sleep(Duration::from_millis(1_200));
        let seen = std::fs::read_to_string(&signals).unwrap_or_default();
        assert!(seen.lines().count() <= 1, "one SIGINT at most: {seen:?}");
    }

    /// Past its time limit a step is asked to stop for that reason, then
    /// killed if it does not.
    #[tokio::test(start_paused = true)]
    async fn the_time_limit_asks_then_kills() {
        let dir = tempfile::tempdir().unwrap();
        let ready_file = dir.path().join("ready");
        let mut child = shell(&format!(
            "trap '' INT; touch {}; while :; do sleep 1; done",
            ready_file.display()
        ));
        ready(&ready_file).await;
        let recorder = Recorder::new(&child);
        let (_tx, mut stop) = watch::channel(None);
        let started = Instant::now();
        let limit = Duration::from_secs(30);
        let watched = watch_process(&mut child, machine(limit), &mut stop, &recorder).await;
        assert_eq!(
            (watched.cause, watched.killed),
            (StopCause::TimeLimit, true)
        );
        let actions = recorder.actions.lock().unwrap().clone();
        assert_eq!(actions[0].0, Action::AskToStop(StopCause::TimeLimit));
        assert_eq!(actions[0].1 - started, limit);
        assert_eq!(actions[1], (Action::Kill, started + limit + GRACE));
    }

    /// A stop asked for before the step's process existed is honoured at
    /// once, and the run going away does not stop the step by itself.
    #[tokio::test(start_paused = true)]
    async fn a_stop_asked_before_the_start_counts_and_a_dropped_sender_does_not() {
        let mut child = sleeper();
        let recorder = Recorder::obeyed(&child);
        let (tx, mut stop) = watch::channel(Some(StopCause::Shutdown));
        drop(tx);
        let watched = watch_process(&mut child, machine(LIMIT), &mut stop, &recorder).await;
        assert_eq!(watched.cause, StopCause::Shutdown);
        assert_eq!(recorder.actions(), [Action::AskToStop(StopCause::Shutdown)]);

        let mut quiet = shell("exit 0");
        let recorder = Recorder::new(&quiet);
        exited(recorder.pid);
        let (tx, mut stop) = watch::channel(None);
        drop(tx);
        let watched = watch_process(&mut quiet, machine(LIMIT), &mut stop, &recorder).await;
        assert_eq!(watched.exit.unwrap().code(), Some(0));
        assert!(recorder.actions().is_empty());
    }

    /// The machine alone: later requests and early wake-ups change nothing.
    #[test]
    fn the_machine_asks_once_and_kills_only_when_the_grace_ends() {
        let now = Instant::now();
        let mut machine = StopMachine::new(now + LIMIT, GRACE);
        assert_eq!(machine.on_wake(now), None, "before the limit");
        assert_eq!(
            machine.on_request(StopCause::Operator, now),
            Some(Action::AskToStop(StopCause::Operator))
        );
        assert_eq!(machine.on_request(StopCause::Shutdown, now), None);
        assert_eq!(machine.on_wake(now + GRACE / 2), None);
        assert_eq!(machine.wake_at(), Some(now + GRACE));
        assert_eq!(machine.on_wake(now + GRACE), Some(Action::Kill));
        assert_eq!(machine.on_wake(now + GRACE * 2), None);
        assert_eq!(machine.wake_at(), None);
        assert_eq!(machine.cause(), StopCause::Operator);
    }
}
