//! The execution plan and the verdict on a finished step.
//!
//! [`build`] decides, for each enabled script, the exact program, argument
//! list, environment, folder and time limit; the host only maps the
//! [`Program`] to a binary and starts it. [`judge`] turns how a step ended
//! into completed / failed / stopped with a reason an operator can read.

use crate::config::{self, quoted};
use crate::duration;
use crate::types::{
    CatalogueEntry, Config, ErrorCode, ExitStatus, FieldError, Outcome, Plan, PlanContext, Program,
    ScriptKind, Step, StopCause, Verdict,
};

/// Environment every step gets: k6 must not phone home (the fixtures were
/// all taken with it; without it k6 contacts Grafana at the end of a test).
/// Set for legacy wrappers too, as the k6 they start inherits it.
const STEP_ENV: (&str, &str) = ("K6_NO_USAGE_REPORT", "true");
/// Trend statistics k6 writes to the summary export; p(99) is not in k6's
/// default set, and the results page shows it.
const TREND_STATS: &str = "avg,min,med,max,p(90),p(95),p(99)";
/// The only address k6's REST API may listen on.
const API_HOST: &str = "127.0.0.1";
/// Field of `enabledScripts` in error reports.
const ENABLED_SCRIPTS: &str = "enabledScripts";

/// One step per enabled script (see `plan.build`).
///
/// API ports: `context.api-ports` holds one port per enabled script, in
/// order (as the WIT says), and step `i` takes port `i`. A legacy wrapper's
/// port is left unused rather than handed to the next k6 step, so a step's
/// port does not depend on which other scripts are enabled.
///
/// # Errors
///
/// `nothing-enabled` if no script is enabled; `unknown-script` for each
/// script missing from `catalogue`; `inconsistent` if `context` has fewer
/// ports than enabled scripts or a port 0 (both the host's mistake), or if
/// `cfg` breaks a rule between its own fields (no users, no test time, a
/// ramp-up as long as the test, a limit below the test), which a config
/// from `config.validate` never does.
pub fn build(
    cfg: &Config,
    catalogue: &[CatalogueEntry],
    context: &PlanContext,
) -> Result<Plan, Vec<FieldError>> {
    let mut errors = config_errors(cfg);
    if cfg.enabled_scripts.is_empty() {
        errors.push(FieldError {
            field: ENABLED_SCRIPTS.to_owned(),
            code: ErrorCode::NothingEnabled,
            message: format!(
                "nothing to run: {ENABLED_SCRIPTS} is empty; enable at least one script"
            ),
        });
    }
    let entries: Vec<Option<&CatalogueEntry>> = cfg
        .enabled_scripts
        .iter()
        .map(|name| catalogue.iter().find(|entry| entry.name == *name))
        .collect();
    for (index, (name, entry)) in cfg.enabled_scripts.iter().zip(&entries).enumerate() {
        if entry.is_none() {
            errors.push(FieldError {
                field: format!("{ENABLED_SCRIPTS}[{index}]"),
                code: ErrorCode::UnknownScript,
                message: format!(
                    "{ENABLED_SCRIPTS}[{index}] {} is not in the catalogue of allowlisted scripts",
                    quoted(name)
                ),
            });
        }
    }
    errors.extend(port_errors(cfg.enabled_scripts.len(), &context.api_ports));
    if !errors.is_empty() {
        return Err(errors);
    }

    let steps: Vec<Step> = entries
        .into_iter()
        .flatten()
        .zip(&context.api_ports)
        .zip(0u32..)
        .map(|((entry, port), index)| step(cfg, entry, index, *port, &context.run_dir))
        .collect();
    let count = u64::try_from(steps.len()).unwrap_or(u64::MAX);
    let expected_seconds = count
        .saturating_mul(u64::from(cfg.test_duration_seconds))
        .saturating_add(
            count
                .saturating_sub(1)
                .saturating_mul(u64::from(cfg.interval_seconds)),
        );
    Ok(Plan {
        config: cfg.clone(),
        steps,
        interval_seconds: cfg.interval_seconds,
        expected_seconds,
    })
}

/// The rules between a config's own fields that the arguments depend on
/// (the stage arithmetic needs a ramp-up shorter than the test). A config
/// from `config.validate` passes them all; this guards against a host that
/// builds one by hand.
fn config_errors(cfg: &Config) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if cfg.global_user_count == 0 {
        errors.push(FieldError {
            field: "globalUserCount".to_owned(),
            code: ErrorCode::OutOfRange,
            message: "globalUserCount must be at least 1, got 0".to_owned(),
        });
    }
    if cfg.test_duration_seconds == 0 {
        errors.push(FieldError {
            field: "testDuration".to_owned(),
            code: ErrorCode::OutOfRange,
            message: "testDuration must be at least 1s, got 0s".to_owned(),
        });
    } else {
        let test = cfg.test_duration_seconds;
        errors.extend(config::ramp_up_error(test, cfg.ramp_up_seconds));
        errors.extend(config::max_duration_error(test, cfg.max_duration_seconds));
    }
    errors
}

/// The host must supply a usable port for every enabled script.
fn port_errors(scripts: usize, ports: &[u16]) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if ports.len() < scripts {
        errors.push(FieldError {
            field: String::new(),
            code: ErrorCode::Inconsistent,
            message: format!(
                "the host supplied {} for {scripts} enabled scripts; it must supply one free \
                 127.0.0.1 port per script (a bug in the host, not in the config)",
                match ports.len() {
                    1 => "1 API port".to_owned(),
                    n => format!("{n} API ports"),
                }
            ),
        });
    }
    for (index, _) in ports
        .iter()
        .take(scripts)
        .enumerate()
        .filter(|(_, p)| **p == 0)
    {
        errors.push(FieldError {
            field: format!("{ENABLED_SCRIPTS}[{index}]"),
            code: ErrorCode::Inconsistent,
            message: format!(
                "the host supplied port 0 for {ENABLED_SCRIPTS}[{index}]; k6 would listen on a \
                 random port nobody could reach (a bug in the host, not in the config)"
            ),
        });
    }
    errors
}

/// The step for one catalogue entry.
fn step(cfg: &Config, entry: &CatalogueEntry, index: u32, port: u16, run_dir: &str) -> Step {
    let env = vec![(STEP_ENV.0.to_owned(), STEP_ENV.1.to_owned())];
    let working_dir = match entry.path.rsplit_once('/') {
        Some(("", _)) => "/".to_owned(),
        Some((dir, _)) => dir.to_owned(),
        None => ".".to_owned(),
    };
    let (program, args, api_port, summary_export_path) = match entry.kind {
        ScriptKind::K6Script => {
            let export = summary_export_path(run_dir, index, &entry.name);
            let args = k6_args(cfg, &entry.path, port, &export);
            (Program::K6, args, Some(port), Some(export))
        }
        ScriptKind::LegacyWrapper => {
            // The positional contract of the original k6_all.sh.
            let args = vec![
                entry.path.clone(),
                duration::format(cfg.test_duration_seconds),
                cfg.global_user_count.to_string(),
                cfg.ramp_up_seconds.to_string(),
                cfg.max_duration_seconds.to_string(),
            ];
            (Program::Bash, args, None, None)
        }
    };
    Step {
        index,
        script: entry.name.clone(),
        kind: entry.kind,
        program,
        args,
        env,
        working_dir,
        time_limit_seconds: cfg.max_duration_seconds,
        api_port,
        summary_export_path,
    }
}

/// `<run-dir>/<NN>-<name with / as _>.summary.json`; the step number keeps
/// `a/b.js` and `a_b.js` apart.
fn summary_export_path(run_dir: &str, index: u32, name: &str) -> String {
    let dir = run_dir.strip_suffix('/').unwrap_or(run_dir);
    let number = u64::from(index) + 1;
    format!("{dir}/{number:02}-{}.summary.json", name.replace('/', "_"))
}

/// `k6 run` arguments, checked against k6 1.1.0: `--stage` (singular) with
/// `--vus 0` ramps from zero; `--stage` together with `--duration` is
/// refused (exit 104), so exactly one of the two is given.
fn k6_args(cfg: &Config, path: &str, port: u16, export: &str) -> Vec<String> {
    let users = cfg.global_user_count;
    let test = cfg.test_duration_seconds;
    let ramp_up = cfg.ramp_up_seconds;
    let mut args: Vec<String> = [
        "run",
        "--no-usage-report",
        "--no-color",
        "--address",
        &format!("{API_HOST}:{port}"),
        "--summary-export",
        export,
        "--summary-trend-stats",
        TREND_STATS,
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    if ramp_up > 0 {
        // `build` refused a ramp-up as long as the test, so this stays > 0.
        let hold = test.saturating_sub(ramp_up);
        args.extend([
            "--vus".to_owned(),
            "0".to_owned(),
            "--stage".to_owned(),
            format!("{ramp_up}s:{users},{hold}s:{users}"),
        ]);
    } else {
        args.extend([
            "--vus".to_owned(),
            users.to_string(),
            "--duration".to_owned(),
            format!("{test}s"),
        ]);
    }
    args.push(path.to_owned());
    args
}

/// The verdict on a finished step (see `plan.judge`).
///
/// The stop cause comes first: after an operator or shutdown stop the step
/// is stopped whatever k6 said (unless it exited 0, having finished
/// anyway); after a time-limit stop it failed. Without a stop, exit 0 is
/// completed, 103 and 105 mean someone else stopped it, and every other
/// code or signal failed, with k6's meaning of it. Reasons read
/// `thresholds crossed (exit 99)`, `killed by SIGKILL (signal 9)`,
/// `stopped by an operator (exit 105: interrupted by a signal)`.
pub fn judge(exit: ExitStatus, cause: StopCause) -> Verdict {
    let (outcome, reason) = match cause {
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
