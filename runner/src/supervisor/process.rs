//! Starting a step's process in its own process group with a cleaned
//! environment, signalling the group, and finding processes a dead runner
//! left behind.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::process::{Child, Command};

/// Variables passed from the runner's own environment to every step; all
/// others are dropped (the operator may add names with `--pass-env`).
pub const INHERITED_ENV: &[&str] = &["HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "USER", "LOGNAME"];

/// Directories appended to `PATH` after the k6 binary's own, so legacy
/// wrappers find k6 and the usual tools and nothing else.
pub const SYSTEM_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// Name of the variable that marks every process of a run (value: the
/// data directory's `run_marker`, `<run id>@<instance>`), so that a
/// restarted runner can find what a crashed one left behind, and a step's
/// end can find what escaped its process group.
pub const RUN_MARKER_ENV: &str = "K6_RUNNER_RUN";

/// Everything needed to start one step's process.
#[derive(Debug, Clone)]
pub struct SpawnSpec {
    /// The program (k6 or bash), already resolved.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// The complete environment (nothing else is inherited).
    pub env: Vec<(String, String)>,
    /// Working directory.
    pub cwd: PathBuf,
}

/// Builds a step's environment: the inherited allowlist, `PATH`, the
/// operator's extra names, the core's per-step variables and the run marker.
pub fn step_env(
    k6_dir: Option<&Path>,
    pass_env: &[String],
    step_env: &[(String, String)],
    run_marker: &str,
) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = INHERITED_ENV
        .iter()
        .copied()
        .map(str::to_owned)
        .chain(pass_env.iter().cloned())
        .filter_map(|name| std::env::var(&name).ok().map(|value| (name, value)))
        .collect();
    let path = match k6_dir {
        Some(dir) => format!("{}:{SYSTEM_PATH}", dir.display()),
        None => SYSTEM_PATH.to_owned(),
    };
    env.push(("PATH".into(), path));
    env.extend(step_env.iter().cloned());
    env.push((RUN_MARKER_ENV.into(), run_marker.to_owned()));
    env
}

/// Starts the process as the leader of a new process group, stdin from
/// /dev/null, stdout and stderr piped.
pub fn spawn(spec: &SpawnSpec) -> std::io::Result<Child> {
    let mut command = Command::new(&spec.program);
    command
        .args(&spec.args)
        .env_clear()
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .current_dir(&spec.cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    die_with_parent(&mut command);
    command.spawn()
}

/// Asks the kernel to SIGKILL the child if the runner dies (even by
/// SIGKILL), so a crashed runner leaves no direct child behind. The signal
/// follows the thread that forked: spawns happen on tokio worker threads,
/// which live as long as the runtime. Grandchildren (k6 under a legacy
/// wrapper) are found at the next start through [`RUN_MARKER_ENV`].
#[allow(unsafe_code)]
fn die_with_parent(command: &mut Command) {
    // SAFETY: the closure runs between fork and exec and only makes the
    // prctl(2) system call, which is async-signal-safe; it touches no
    // memory shared with the parent.
    unsafe {
        command.pre_exec(|| {
            nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(std::io::Error::from)
        });
    }
}

/// Sends `signal` to the whole process group led by `pid`. A group that is
/// already gone is not an error (returns `false`).
pub fn signal_group(pid: u32, signal: Signal) -> std::io::Result<bool> {
    let Ok(raw) = i32::try_from(pid) else {
        return Ok(false);
    };
    match killpg(Pid::from_raw(raw), signal) {
        Ok(()) => Ok(true),
        Err(nix::errno::Errno::ESRCH) => Ok(false),
        Err(errno) => Err(std::io::Error::from(errno)),
    }
}

/// Every live process whose [`RUN_MARKER_ENV`] value `wanted` accepts
/// (only this user's processes can be read).
pub fn marked_processes(wanted: impl Fn(&OsStr) -> bool) -> Vec<i32> {
    let name = OsString::from(RUN_MARKER_ENV);
    let Ok(processes) = procfs::process::all_processes() else {
        return Vec::new();
    };
    processes
        .filter_map(Result::ok)
        .filter(|process| {
            process
                .environ()
                .ok()
                .and_then(|env| env.get(&name).map(|value| wanted(value)))
                .unwrap_or(false)
        })
        .map(|process| process.pid)
        .collect()
}

/// Kills (SIGKILL) every process carrying exactly `run_marker`: what a
/// runner that died during that run left behind. Returns the pids killed.
pub fn kill_marked_processes(run_marker: &str) -> Vec<i32> {
    kill_all(marked_processes(|value| value == run_marker))
}

/// Kills (SIGKILL) the processes carrying `run_marker` outside the process
/// group led by `group`: those that left a step's group (`setsid`, a
/// daemonising script), which no signal to the group reaches. Returns the
/// pids killed.
pub fn kill_escaped_processes(run_marker: &str, group: u32) -> Vec<i32> {
    // A daemon may fork between a scan and the kill: scan again until a
    // pass finds nothing (a few passes at most).
    let mut killed = Vec::new();
    for _ in 0..5 {
        let outside: Vec<i32> = marked_processes(|value| value == run_marker)
            .into_iter()
            .filter(|&pid| {
                procfs::process::Process::new(pid)
                    .and_then(|process| process.stat())
                    .is_ok_and(|stat| u32::try_from(stat.pgrp).ok() != Some(group))
            })
            .collect();
        if outside.is_empty() {
            break;
        }
        killed.extend(kill_all(outside));
    }
    killed
}

/// SIGKILLs `pids` and waits (at most a second) until they are gone, so
/// that "killed" means no longer running when the caller goes on.
fn kill_all(pids: Vec<i32>) -> Vec<i32> {
    let killed: Vec<i32> = pids
        .into_iter()
        .filter(|&pid| nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL).is_ok())
        .collect();
    let running = |pid: i32| {
        procfs::process::Process::new(pid)
            .and_then(|process| process.stat())
            .is_ok_and(|stat| stat.state != 'Z')
    };
    for _ in 0..100 {
        if !killed.iter().any(|&pid| running(pid)) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    killed
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The environment holds only the allowlist, PATH, the step's own
    /// variables and the run marker.
    #[test]
    fn step_env_is_an_allowlist() {
        let env = step_env(
            Some(Path::new("/opt/k6")),
            &[],
            &[("K6_NO_USAGE_REPORT".into(), "true".into())],
            "r1",
        );
        let names: Vec<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
        assert!(names.iter().all(|n| INHERITED_ENV.contains(n)
            || ["PATH", "K6_NO_USAGE_REPORT", RUN_MARKER_ENV].contains(n)));
        assert!(env.contains(&("PATH".into(), format!("/opt/k6:{SYSTEM_PATH}"))));
        assert!(env.contains(&(RUN_MARKER_ENV.into(), "r1".into())));
    }

    /// A shell marked with `run_id` that runs `script`.
    fn spawn_marked_shell(run_id: &str, script: &str) -> Child {
        let spec = SpawnSpec {
            program: "/bin/sh".into(),
            args: vec!["-c".into(), script.into()],
            env: step_env(None, &[], &[], run_id),
            cwd: std::env::temp_dir(),
        };
        spawn(&spec).unwrap()
    }

    /// A shell marked with `run_id` that starts a `sleep` and waits for it.
    fn spawn_shell_with_grandchild(run_id: &str) -> Child {
        spawn_marked_shell(run_id, "sleep 30 & wait")
    }

    /// Polls `marked_processes(run_id)` until `done` holds, for at most
    /// five seconds; returns the last answer.
    async fn wait_for_marked(run_id: &str, done: impl Fn(&[i32]) -> bool) -> Vec<i32> {
        let mut found = marked_processes(|value| value == run_id);
        for _ in 0..100 {
            if done(&found) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            found = marked_processes(|value| value == run_id);
        }
        found
    }

    /// A process carrying a run's marker, and the grandchild it started,
    /// are found and killed by it; afterwards none of the run is alive.
    #[tokio::test]
    async fn marker_cleanup_reaches_grandchildren() {
        let run_id = "test-run-marker-1";
        let mut child = spawn_shell_with_grandchild(run_id);
        let shell = i32::try_from(child.id().unwrap()).unwrap();
        let before = wait_for_marked(run_id, |pids| pids.len() >= 2).await;
        assert!(before.contains(&shell), "the shell is marked: {before:?}");
        assert_eq!(before.len(), 2, "sh and its sleep: {before:?}");

        let mut killed = kill_marked_processes(run_id);
        killed.sort_unstable();
        let mut expected = before.clone();
        expected.sort_unstable();
        assert_eq!(killed, expected);
        assert!(!child.wait().await.unwrap().success());
        // The orphaned sleep is reaped by whichever process adopts it, so
        // "gone" means no live process still carries the marker.
        let after = wait_for_marked(run_id, <[i32]>::is_empty).await;
        assert!(after.is_empty(), "still alive: {after:?}");
    }

    /// Signalling a group reaches every member, the grandchild included.
    #[tokio::test]
    async fn group_signal_reaches_the_whole_group() {
        let run_id = "test-run-marker-2";
        let mut child = spawn_shell_with_grandchild(run_id);
        let pid = child.id().unwrap();
        wait_for_marked(run_id, |pids| pids.len() >= 2).await;
        assert!(signal_group(pid, Signal::SIGKILL).unwrap());
        assert!(!child.wait().await.unwrap().success());
        let after = wait_for_marked(run_id, <[i32]>::is_empty).await;
        assert!(after.is_empty(), "a group member survived: {after:?}");
    }

    /// A process that left its step's group (`setsid`) is found by its
    /// marker and killed; the group's own members are left to the group
    /// signal.
    #[tokio::test]
    async fn escaped_processes_are_killed_and_group_members_left_alone() {
        let run_id = &format!("test-run-marker-3-{}", std::process::id());
        let mut child = spawn_marked_shell(run_id, "setsid sleep 30 & sleep 30");
        let shell = child.id().unwrap();
        let outside_group = |pids: &[i32]| -> Vec<i32> {
            pids.iter()
                .copied()
                .filter(|&pid| {
                    procfs::process::Process::new(pid)
                        .and_then(|process| process.stat())
                        .is_ok_and(|stat| u32::try_from(stat.pgrp).ok() != Some(shell))
                })
                .collect()
        };
        // sh, the sleep it runs, and the sleep setsid moved out of the group.
        let before = wait_for_marked(run_id, |pids| {
            pids.len() >= 3 && outside_group(pids).len() == 1
        })
        .await;
        let escaped = outside_group(&before);
        assert_eq!(escaped.len(), 1, "one process left the group: {before:?}");

        assert_eq!(kill_escaped_processes(run_id, shell), escaped);
        let left = wait_for_marked(run_id, |pids| pids.len() <= 2).await;
        assert_eq!(
            left.len(),
            2,
            "the group's members are left alone: {left:?}"
        );
        assert!(signal_group(shell, Signal::SIGKILL).unwrap());
        assert!(!child.wait().await.unwrap().success());
        let after = wait_for_marked(run_id, <[i32]>::is_empty).await;
        assert!(after.is_empty(), "still alive: {after:?}");
    }
}
