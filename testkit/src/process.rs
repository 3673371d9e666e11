//! Child processes a test or a benchmark starts: each leads a process
//! group of its own, its stdout is read on a thread (so it never blocks on
//! a full pipe), and it is stopped and reaped when dropped, also when the
//! test fails half-way, so nothing it started is left behind.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;

/// How often the waits below look at the child again.
const POLL: Duration = Duration::from_millis(10);

/// What went wrong with a child process.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// It could not be started.
    #[error("starting {name}")]
    Spawn {
        /// The name the caller gave it.
        name: String,
        /// Why `spawn` failed.
        #[source]
        source: std::io::Error,
    },
    /// Its stdout never printed the line waited for.
    #[error("{name} printed no line containing {marker:?} within {limit:?} (exit: {exit:?})")]
    NoLine {
        /// The name the caller gave it.
        name: String,
        /// The text the line had to contain.
        marker: String,
        /// How long it was given.
        limit: Duration,
        /// Its exit status if it had exited by then.
        exit: Option<ExitStatus>,
    },
    /// Its stdout was not piped, so no line can be waited for.
    #[error("{name}'s stdout is not piped")]
    NoStdout {
        /// The name the caller gave it.
        name: String,
    },
}

/// A child process leading its own process group.
///
/// Dropping it SIGKILLs the group and reaps the child, or first asks it to
/// stop (see [`Self::stop_on_drop`]), unless it has been reaped already
/// (its pid may belong to another process by then).
pub struct ProcessGroup {
    child: Child,
    name: String,
    /// Stdout lines with the time each was read, if stdout is piped.
    lines: Option<mpsc::Receiver<(Instant, String)>>,
    /// Set once the child has been waited for.
    exit: Option<ExitStatus>,
    /// How long a drop waits after SIGTERM before it kills the group.
    drop_grace: Option<Duration>,
}

impl ProcessGroup {
    /// Starts `command` as the leader of a new process group, stdin from
    /// `/dev/null`. The caller chooses stdout and stderr; a piped stdout
    /// is read line by line from now on (see [`Self::wait_for_line`]).
    pub fn spawn(name: &str, command: &mut Command) -> Result<Self, ProcessError> {
        Self::spawn_with_stdin(name, command, Stdio::null())
    }

    fn spawn_with_stdin(
        name: &str,
        command: &mut Command,
        stdin: Stdio,
    ) -> Result<Self, ProcessError> {
        let mut child = command
            .stdin(stdin)
            .process_group(0)
            .spawn()
            .map_err(|source| ProcessError::Spawn {
                name: name.to_owned(),
                source,
            })?;
        let lines = child.stdout.take().map(|stdout| {
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || {
                // Keeps reading after the receiver is gone: the child must
                // never block on a full pipe.
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    let _ = tx.send((Instant::now(), line));
                }
            });
            rx
        });
        Ok(Self {
            child,
            name: name.to_owned(),
            lines,
            exit: None,
            drop_grace: None,
        })
    }

    /// Makes a drop [`terminate`](Self::terminate) it with `grace` instead
    /// of killing its group at once: for a child that stops processes of
    /// its own on SIGTERM, in groups of their own that a kill of its group
    /// would not reach (a runner stopping its k6, a host its runner).
    pub fn stop_on_drop(mut self, grace: Duration) -> Self {
        self.drop_grace = Some(grace);
        self
    }

    /// The process id (also the group's id).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The child itself, to take its stderr pipe.
    pub fn child_mut(&mut self) -> &mut Child {
        &mut self.child
    }

    /// Waits at most `limit` for a stdout line containing `marker`; returns
    /// when it was read and the text after the marker. Earlier lines are
    /// skipped; later ones stay available to the next wait.
    pub fn wait_for_line(
        &mut self,
        marker: &str,
        limit: Duration,
    ) -> Result<(Instant, String), ProcessError> {
        let lines = self.lines.as_ref().ok_or_else(|| ProcessError::NoStdout {
            name: self.name.clone(),
        })?;
        let deadline = Instant::now() + limit;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            let Ok((at, line)) = lines.recv_timeout(left) else {
                break;
            };
            if let Some((_, rest)) = line.split_once(marker) {
                return Ok((at, rest.to_owned()));
            }
        }
        Err(ProcessError::NoLine {
            name: self.name.clone(),
            marker: marker.to_owned(),
            limit,
            exit: self.try_wait(),
        })
    }

    /// Every stdout line not yet waited for, up to the end of stdout
    /// (waiting at most `limit` for it: a child that has exited closes its
    /// end, unless a process it left behind holds it open).
    pub fn remaining_lines(&mut self, limit: Duration) -> Vec<String> {
        let mut rest = Vec::new();
        let Some(lines) = self.lines.as_ref() else {
            return rest;
        };
        let deadline = Instant::now() + limit;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match lines.recv_timeout(left) {
                Ok((_, line)) => rest.push(line),
                Err(_) => break,
            }
        }
        rest
    }

    /// Sends `signal` to the leader only (a runner or host shuts down on
    /// SIGTERM and stops its own children first).
    pub fn signal(&self, signal: Signal) {
        if self.exit.is_none()
            && let Ok(pid) = i32::try_from(self.child.id())
        {
            let _ = kill(Pid::from_raw(pid), signal);
        }
    }

    /// Its exit status if it has exited (reaping it).
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none() {
            self.exit = self.child.try_wait().ok().flatten();
        }
        self.exit
    }

    /// Waits at most `limit` for it to exit; `None` if it still runs then.
    pub fn wait_for(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(POLL);
        }
    }

    /// [`Self::wait_for`] for async callers: waits without blocking the
    /// runtime's thread (a test's in-process target may run on it).
    pub async fn wait_async(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Asks the leader to stop with SIGTERM and waits up to `grace`; its
    /// exit status if it stopped by itself. Otherwise the whole group is
    /// killed and reaped, and the answer is `None`.
    pub fn terminate(&mut self, grace: Duration) -> Option<ExitStatus> {
        self.signal(Signal::SIGTERM);
        if let Some(status) = self.wait_for(grace) {
            return Some(status);
        }
        eprintln!(
            "testkit: {} still ran {grace:?} after SIGTERM; killing its group",
            self.name
        );
        self.kill();
        None
    }

    /// The group's live processes (zombies excluded), the leader too while
    /// it runs: what is left behind if the leader has gone.
    pub fn members(&self) -> Vec<u32> {
        let Ok(group) = i32::try_from(self.child.id()) else {
            return Vec::new();
        };
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        entries
            .filter_map(Result::ok)
            .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
            .filter(|&pid| {
                stat_of(pid).is_some_and(|stat| stat.group == group && stat.state != 'Z')
            })
            .collect()
    }

    /// SIGKILLs the whole group (no chance to clean up) and reaps the
    /// leader.
    pub fn kill(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none() {
            if let Ok(pid) = i32::try_from(self.child.id()) {
                let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
            }
            self.exit = self.child.wait().ok();
        }
        self.exit
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        match self.drop_grace {
            Some(grace) if self.exit.is_none() => {
                self.terminate(grace);
            }
            _ => {
                self.kill();
            }
        }
    }
}

/// What `/proc/<pid>/stat` says of a process that this module uses.
struct Stat {
    /// `R`, `S`, `Z`, …
    state: char,
    /// The process group's id.
    group: i32,
}

fn stat_of(pid: u32) -> Option<Stat> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields follow the command name, which is in parentheses and may
    // hold anything, spaces and parentheses included.
    let (_, rest) = stat.rsplit_once(')')?;
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let _parent = fields.next()?;
    let group = fields.next()?.parse().ok()?;
    Some(Stat { state, group })
}

/// Runs `command` to its end in a process group of its own with `input`
/// on its stdin, its output in files (no pipe can fill up while it runs);
/// kills the group and fails after `limit`.
pub fn run_bounded(name: &str, command: &mut Command, input: &[u8], limit: Duration) -> Output {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let stdout_path = dir.path().join("stdout");
    let stderr_path = dir.path().join("stderr");
    command
        .stdout(std::fs::File::create(&stdout_path).expect("creating the stdout file"))
        .stderr(std::fs::File::create(&stderr_path).expect("creating the stderr file"));
    let mut group = ProcessGroup::spawn_with_stdin(name, command, Stdio::piped())
        .unwrap_or_else(|error| panic!("{error}"));
    let mut stdin = group.child.stdin.take().expect("stdin is piped");
    let input = input.to_vec();
    // On a thread: a child that reads nothing must not block the wait.
    let writer = std::thread::spawn(move || {
        // A child that exits without reading all of it is its own affair.
        let _ = std::io::Write::write_all(&mut stdin, &input);
    });
    let Some(status) = group.wait_for(limit) else {
        panic!("{name} took longer than {limit:?}");
    };
    let _ = writer.join();
    Output {
        status,
        stdout: std::fs::read(&stdout_path).expect("reading stdout"),
        stderr: std::fs::read(&stderr_path).expect("reading stderr"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Command {
        let mut command = Command::new("sh");
        command.args(["-c", script]).stdout(Stdio::piped());
        command
    }

    /// Whether `pid` runs: a zombie waiting for its reaper (init, which
    /// in a container may never come) counts as gone.
    fn alive(pid: u32) -> bool {
        stat_of(pid).is_some_and(|stat| stat.state != 'Z')
    }

    #[test]
    fn a_line_is_found_after_the_ones_before_it() {
        let mut group =
            ProcessGroup::spawn("sh", &mut sh("echo one; echo 'ready at 42'; sleep 60")).unwrap();
        let (_, rest) = group
            .wait_for_line("ready at ", Duration::from_secs(10))
            .unwrap();
        assert_eq!(rest, "42");
        assert!(group.try_wait().is_none(), "still running");
    }

    #[test]
    fn a_line_never_printed_is_an_error_naming_the_marker() {
        let mut group = ProcessGroup::spawn("sh", &mut sh("echo other")).unwrap();
        let error = group
            .wait_for_line("listening", Duration::from_millis(500))
            .unwrap_err();
        assert!(matches!(error, ProcessError::NoLine { .. }), "{error}");
        assert!(error.to_string().contains("\"listening\""), "{error}");
    }

    #[test]
    fn terminate_kills_the_group_of_a_leader_that_ignores_sigterm() {
        // The leader ignores SIGTERM and has a child of its own.
        let mut group = ProcessGroup::spawn(
            "sh",
            &mut sh("trap '' TERM; sleep 60 & echo child $!; wait"),
        )
        .unwrap();
        let (_, child) = group
            .wait_for_line("child ", Duration::from_secs(10))
            .unwrap();
        let child: u32 = child.trim().parse().unwrap();
        assert_eq!(group.members().len(), 2, "the leader and its child");
        assert_eq!(group.terminate(Duration::from_millis(200)), None);
        let deadline = Instant::now() + Duration::from_secs(10);
        while alive(child) {
            assert!(Instant::now() < deadline, "the group's child outlived it");
            std::thread::sleep(POLL);
        }
    }

    #[test]
    fn terminate_returns_the_status_of_a_leader_that_stops() {
        let mut group = ProcessGroup::spawn("sleep", Command::new("sleep").arg("60")).unwrap();
        let status = group.terminate(Duration::from_secs(10)).unwrap();
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(15)
        );
    }

    #[test]
    fn a_dropped_group_is_killed_and_reaped() {
        let group = ProcessGroup::spawn("sleep", Command::new("sleep").arg("60")).unwrap();
        let pid = group.pid();
        assert!(alive(pid));
        drop(group);
        // Reaped, not a zombie: no /proc entry at all.
        assert!(stat_of(pid).is_none());
    }

    #[test]
    fn a_bounded_run_reads_its_input_and_keeps_both_outputs() {
        let output = run_bounded(
            "sh",
            Command::new("sh").args(["-c", "cat; echo err >&2; exit 3"]),
            b"in\n",
            Duration::from_secs(10),
        );
        assert_eq!(output.status.code(), Some(3));
        assert_eq!(output.stdout, b"in\n");
        assert_eq!(output.stderr, b"err\n");
    }
}
