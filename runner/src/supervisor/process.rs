//! Starting a step's process in its own process group with a cleaned
//! environment, signalling the group, and finding processes a dead runner
//! left behind.

use std::ffi::OsString;
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

/// Name of the variable that marks every process of a run with the run's
/// id, so that a restarted runner can find what a crashed one left behind.
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
    run_id: &str,
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
    env.push((RUN_MARKER_ENV.into(), run_id.to_owned()));
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

/// Every live process that carries `run_id` in its [`RUN_MARKER_ENV`]
/// (only this user's processes can be read).
pub fn marked_processes(run_id: &str) -> Vec<i32> {
    let wanted: OsString = run_id.into();
    let marker = OsString::from(RUN_MARKER_ENV);
    let Ok(processes) = procfs::process::all_processes() else {
        return Vec::new();
    };
    processes
        .filter_map(Result::ok)
        .filter(|process| {
            process
                .environ()
                .ok()
                .and_then(|env| env.get(&marker).cloned())
                .as_ref()
                == Some(&wanted)
        })
        .map(|process| process.pid)
        .collect()
}

/// Kills (SIGKILL) every process of run `run_id`: what a runner that died
/// during that run left behind. Returns the pids killed.
pub fn kill_marked_processes(run_id: &str) -> Vec<i32> {
    marked_processes(run_id)
        .into_iter()
        .filter(|&pid| nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL).is_ok())
        .collect()
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

    /// A shell marked with `run_id` that starts a `sleep` and waits for it.
    fn spawn_shell_with_grandchild(run_id: &str) -> Child {
        let spec = SpawnSpec {
            program: "/bin/sh".into(),
            args: vec!["-c".into(), "sleep 30 & wait".into()],
            env: step_env(None, &[], &[], run_id),
            cwd: std::env::temp_dir(),
        };
        spawn(&spec).unwrap()
    }

    /// Polls `marked_processes(run_id)` until `done` holds, for at most
    /// five seconds; returns the last answer.
    async fn wait_for_marked(run_id: &str, done: impl Fn(&[i32]) -> bool) -> Vec<i32> {
        let mut found = marked_processes(run_id);
        for _ in 0..100 {
            if done(&found) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            found = marked_processes(run_id);
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
}
