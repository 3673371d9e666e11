//! The verdict on a finished step: how its process ended and why the host
//! stopped it, in words an operator can read.

use crate::types::{ExitStatus, Outcome, ScriptKind, StopCause, Verdict};

/// The verdict on a finished step (see `plan.judge`).
///
/// The stop cause comes first: after an operator or shutdown stop the step
/// is stopped whatever k6 said (unless k6 itself exited 0, having finished
/// anyway; a legacy wrapper's exit status after a stop says nothing about
/// its test, so a stopped wrapper is stopped whatever it exits with);
/// after a time-limit stop it failed. Without a stop, exit 0 is
/// completed, 103 and 105 mean someone else stopped it, and every other
/// code or signal failed, with k6's meaning of it. Reasons read
/// `thresholds crossed (exit 99)`, `killed by SIGKILL (signal 9)`,
/// `stopped by an operator (exit 105: interrupted by a signal)`.
pub fn judge(exit: ExitStatus, cause: StopCause, kind: ScriptKind) -> Verdict {
    let stopped_on_purpose = matches!(cause, StopCause::Operator | StopCause::Shutdown);
    let (outcome, reason) = match cause {
        _ if stopped_on_purpose && kind == ScriptKind::LegacyWrapper => (
            Outcome::Stopped,
            format!(
                "{} ({}; a wrapper's exit status after a stop does not tell how its test ended)",
                if cause == StopCause::Operator {
                    "stopped by an operator"
                } else {
                    "stopped because the runner shut down"
                },
                evidence(&exit)
            ),
        ),
        StopCause::Operator | StopCause::Shutdown if exit.code == Some(0) => (
            Outcome::Completed,
            "completed (exit 0) before the stop took effect".to_owned(),
        ),
        StopCause::Operator => (
            Outcome::Stopped,
            format!("stopped by an operator ({})", evidence(&exit)),
        ),
        StopCause::Shutdown => (
            Outcome::Stopped,
            format!("stopped because the runner shut down ({})", evidence(&exit)),
        ),
        // The limit itself is in the config, not here; the host can add it.
        StopCause::TimeLimit => (
            Outcome::Failed,
            format!(
                "ran past its maxDuration limit and was stopped ({})",
                evidence(&exit)
            ),
        ),
        StopCause::None => match exit.code {
            Some(0) => (Outcome::Completed, "completed (exit 0)".to_owned()),
            Some(103) => (
                Outcome::Stopped,
                "stopped through k6's REST API by someone other than this runner (exit 103)"
                    .to_owned(),
            ),
            Some(105) => (
                Outcome::Stopped,
                "interrupted by a signal this runner did not send (exit 105)".to_owned(),
            ),
            Some(code) => (
                Outcome::Failed,
                match exit_meaning(code) {
                    Some(meaning) => format!("{meaning} (exit {code})"),
                    None => format!("failed (exit {code})"),
                },
            ),
            None => (Outcome::Failed, signal_death(exit.signal)),
        },
    };
    Verdict { outcome, reason }
}

/// What the process's end showed, for after a stop: `exit 105: interrupted
/// by a signal`, `exit 3`, `killed by SIGKILL`. An exit code wins over a
/// signal if a host reports both.
fn evidence(exit: &ExitStatus) -> String {
    match exit.code {
        Some(code) => match exit_meaning(code) {
            Some(meaning) => format!("exit {code}: {meaning}"),
            None => format!("exit {code}"),
        },
        None => match exit.signal.and_then(signal_name) {
            Some(name) => format!("killed by {name}"),
            None => signal_death(exit.signal),
        },
    }
}

/// `killed by SIGKILL (signal 9)`, for a process without an exit code.
fn signal_death(signal: Option<i32>) -> String {
    match signal {
        Some(signal) => match signal_name(signal) {
            Some(name) => format!("killed by {name} (signal {signal})"),
            None => format!("killed by signal {signal}"),
        },
        None => "ended with neither an exit code nor a signal".to_owned(),
    }
}

/// k6's meaning of an exit code (k6 `errext/exitcodes`, and the fixtures'
/// table), plus what bash reports for a legacy wrapper.
fn exit_meaning(code: i32) -> Option<String> {
    let meaning = match code {
        0 => "completed",
        97 => "the k6 Cloud test run failed",
        98 => "k6 could not get the Cloud test's progress",
        99 => "thresholds crossed",
        100 => "setup() ran past setupTimeout",
        101 => "teardown() ran past teardownTimeout",
        102 => "k6 timed out",
        103 => "stopped through k6's REST API",
        104 => "k6 refused its options as an invalid config",
        105 => "interrupted by a signal",
        106 => "k6's REST API address was already in use",
        107 => "the script threw an exception (or has a syntax error)",
        108 => "the script aborted the test (test.abort())",
        109 => "k6 crashed (Go panic)",
        110 => "the script marked the test as failed (exec.test.fail())",
        // k6 exits 255 when it cannot start at all; bash scripts use it too.
        255 => "k6 could not start: a bad flag, a missing script or no exported function",
        126 => "the script could not be executed (permission denied?)",
        127 => "a command was not found",
        // Legacy wrappers run through bash, which reports a child killed by
        // signal N as 128 + N.
        129..=192 => {
            let signal = code - 128;
            return Some(match signal_name(signal) {
                Some(name) => format!("a process it ran was killed by {name}"),
                None => format!("a process it ran was killed by signal {signal}"),
            });
        }
        _ => return None,
    };
    Some(meaning.to_owned())
}

/// Linux names of the signals a step may die of.
fn signal_name(signal: i32) -> Option<&'static str> {
    Some(match signal {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        10 => "SIGUSR1",
        11 => "SIGSEGV",
        12 => "SIGUSR2",
        13 => "SIGPIPE",
        14 => "SIGALRM",
        15 => "SIGTERM",
        24 => "SIGXCPU",
        25 => "SIGXFSZ",
        _ => return None,
    })
}
