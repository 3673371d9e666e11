//! The execution plan and the verdicts, from the host's side: the exact
//! argv and environment of each step, how ports are taken, what a broken
//! context or config gives, and how every way a step can end is judged.

use k6_core::config::default_policy;
use k6_core::plan::{build, judge};
use k6_core::scripts::catalogue;
use k6_core::types::{
    CatalogueEntry, Config, ErrorCode, ExitStatus, FieldError, Outcome, PlanContext, Program,
    ScriptFile, ScriptKind, Step, StopCause, Verdict,
};

fn scripts() -> Vec<CatalogueEntry> {
    let files = [
        ("smoke.js", "/srv/k6/scripts/smoke.js"),
        ("dash/load.js", "/srv/k6/scripts/dash/load.js"),
        ("legacy/overall-1.sh", "/srv/k6/legacy-scripts/overall-1.sh"),
    ]
    .map(|(name, path)| ScriptFile {
        name: name.to_owned(),
        path: path.to_owned(),
    });
    catalogue(files.to_vec(), &default_policy())
}

fn config(enabled: &[&str]) -> Config {
    Config {
        global_user_count: 10,
        test_duration_seconds: 5_400,
        ramp_up_seconds: 30,
        max_duration_seconds: 6_000,
        enabled_scripts: enabled.iter().map(|s| (*s).to_owned()).collect(),
        interval_seconds: 10,
    }
}

fn context(ports: &[u16]) -> PlanContext {
    PlanContext {
        run_dir: "/data/runs/r1".to_owned(),
        api_ports: ports.to_vec(),
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// A k6 script with a ramp-up runs `k6 run --vus 0 --stage <ramp>,<rest>`
/// with its API on 127.0.0.1 and its summary exported into the run folder.
#[test]
fn k6_step_with_ramp_up() {
    let plan = build(&config(&["dash/load.js"]), &scripts(), &context(&[41001])).unwrap();
    assert_eq!(
        plan.steps,
        vec![Step {
            index: 0,
            script: "dash/load.js".into(),
            kind: ScriptKind::K6Script,
            program: Program::K6,
            args: strings(&[
                "run",
                "--no-usage-report",
                "--no-color",
                "--address",
                "127.0.0.1:41001",
                "--summary-export",
                "/data/runs/r1/01-dash_load.js.summary.json",
                "--summary-trend-stats",
                "avg,min,med,max,p(90),p(95),p(99)",
                "--vus",
                "0",
                "--stage",
                "30s:10,5370s:10",
                "/srv/k6/scripts/dash/load.js",
            ]),
            env: vec![("K6_NO_USAGE_REPORT".into(), "true".into())],
            working_dir: "/srv/k6/scripts/dash".into(),
            time_limit_seconds: 6_000,
            api_port: Some(41001),
            summary_export_path: Some("/data/runs/r1/01-dash_load.js.summary.json".into()),
        }]
    );
    assert_eq!(plan.interval_seconds, 10);
    assert_eq!(plan.expected_seconds, 5_400);
    assert_eq!(plan.config, config(&["dash/load.js"]));
}

/// Without ramp-up all users start at once: `--vus <users> --duration`.
#[test]
fn k6_step_without_ramp_up() {
    let cfg = Config {
        ramp_up_seconds: 0,
        ..config(&["smoke.js"])
    };
    let plan = build(&cfg, &scripts(), &context(&[41001])).unwrap();
    let args = &plan.steps[0].args;
    assert_eq!(
        args[9..],
        strings(&[
            "--vus",
            "10",
            "--duration",
            "5400s",
            "/srv/k6/scripts/smoke.js"
        ])
    );
    assert!(
        !args.iter().any(|a| a == "--stage"),
        "--stage with --duration is exit 104"
    );
}

/// A legacy wrapper keeps the original positional contract and gets
/// neither a port nor a summary export.
#[test]
fn legacy_wrapper_step() {
    let plan = build(
        &config(&["legacy/overall-1.sh"]),
        &scripts(),
        &context(&[41001]),
    )
    .unwrap();
    let step = &plan.steps[0];
    assert_eq!(step.program, Program::Bash);
    assert_eq!(step.kind, ScriptKind::LegacyWrapper);
    assert_eq!(
        step.args,
        strings(&[
            "/srv/k6/legacy-scripts/overall-1.sh",
            "1h30m",
            "10",
            "30",
            "6000"
        ])
    );
    assert_eq!(step.env, vec![("K6_NO_USAGE_REPORT".into(), "true".into())]);
    assert_eq!(step.working_dir, "/srv/k6/legacy-scripts");
    assert_eq!(step.time_limit_seconds, 6_000);
    assert_eq!(step.api_port, None);
    assert_eq!(step.summary_export_path, None);
}

/// Steps follow `enabledScripts` order; step i takes port i, so a legacy
/// wrapper's port is left unused and the k6 step after it keeps its own.
#[test]
fn steps_in_order_with_one_port_per_script() {
    let plan = build(
        &config(&["legacy/overall-1.sh", "smoke.js", "dash/load.js"]),
        &scripts(),
        &context(&[41001, 41002, 41003, 41004]),
    )
    .unwrap();
    let summary: Vec<(u32, &str, Option<u16>, Option<&str>)> = plan
        .steps
        .iter()
        .map(|s| {
            (
                s.index,
                s.script.as_str(),
                s.api_port,
                s.summary_export_path.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (0, "legacy/overall-1.sh", None, None),
            (
                1,
                "smoke.js",
                Some(41002),
                Some("/data/runs/r1/02-smoke.js.summary.json")
            ),
            (
                2,
                "dash/load.js",
                Some(41003),
                Some("/data/runs/r1/03-dash_load.js.summary.json")
            ),
        ]
    );
    assert_eq!(plan.steps[1].args[4], "127.0.0.1:41002");
    // Three tests of 90 minutes and two pauses of 10 s.
    assert_eq!(plan.expected_seconds, 3 * 5_400 + 2 * 10);
}

/// A run folder given with a trailing slash does not double it.
#[test]
fn run_dir_with_trailing_slash() {
    let ctx = PlanContext {
        run_dir: "/data/runs/r1/".into(),
        api_ports: vec![41001],
    };
    let plan = build(&config(&["smoke.js"]), &scripts(), &ctx).unwrap();
    assert_eq!(
        plan.steps[0].summary_export_path.as_deref(),
        Some("/data/runs/r1/01-smoke.js.summary.json")
    );
}

#[test]
fn nothing_enabled_is_refused() {
    assert_eq!(
        build(&config(&[]), &scripts(), &context(&[])),
        Err(vec![FieldError {
            field: "enabledScripts".into(),
            code: ErrorCode::NothingEnabled,
            message: "nothing to run: enabledScripts is empty; enable at least one script".into(),
        }])
    );
}

/// A script that left the catalogue since the config was saved is refused
/// by position.
#[test]
fn unknown_scripts_are_refused() {
    let errors = build(
        &config(&["smoke.js", "gone.js", "x\ny.js"]),
        &scripts(),
        &context(&[1, 2, 3]),
    )
    .unwrap_err();
    assert_eq!(
        errors,
        vec![
            FieldError {
                field: "enabledScripts[1]".into(),
                code: ErrorCode::UnknownScript,
                message:
                    "enabledScripts[1] \"gone.js\" is not in the catalogue of allowlisted scripts"
                        .into(),
            },
            FieldError {
                field: "enabledScripts[2]".into(),
                code: ErrorCode::UnknownScript,
                message:
                    "enabledScripts[2] \"x\\ny.js\" is not in the catalogue of allowlisted scripts"
                        .into(),
            },
        ]
    );
}

/// Too few ports, or port 0, is the host's bug: refused, never a panic.
#[test]
fn missing_or_zero_ports_are_refused() {
    let errors = build(
        &config(&["smoke.js", "dash/load.js"]),
        &scripts(),
        &context(&[41001]),
    )
    .unwrap_err();
    assert_eq!(
        errors,
        vec![FieldError {
            field: String::new(),
            code: ErrorCode::Inconsistent,
            message: "the host supplied 1 API port for 2 enabled scripts; it must supply one free \
                      127.0.0.1 port per script (a bug in the host, not in the config)"
                .into(),
        }]
    );
    let zero = build(&config(&["smoke.js"]), &scripts(), &context(&[0])).unwrap_err();
    assert_eq!(zero[0].field, "enabledScripts[0]");
    assert_eq!(zero[0].code, ErrorCode::Inconsistent);
}

/// A config built by hand that breaks the rules between fields is refused
/// instead of producing a broken `--stage` or wrapping arithmetic.
#[test]
fn hand_made_inconsistent_config_is_refused() {
    let cfg = Config {
        global_user_count: 0,
        test_duration_seconds: 10,
        ramp_up_seconds: u32::MAX,
        max_duration_seconds: 5,
        ..config(&["smoke.js"])
    };
    let codes: Vec<(String, ErrorCode)> = build(&cfg, &scripts(), &context(&[41001]))
        .unwrap_err()
        .into_iter()
        .map(|e| (e.field, e.code))
        .collect();
    assert_eq!(
        codes,
        vec![
            ("globalUserCount".into(), ErrorCode::OutOfRange),
            ("rampUpDuration".into(), ErrorCode::Inconsistent),
            ("maxDuration".into(), ErrorCode::Inconsistent),
        ]
    );
    let no_time = Config {
        test_duration_seconds: 0,
        ..config(&["smoke.js"])
    };
    assert_eq!(
        build(&no_time, &scripts(), &context(&[41001])).unwrap_err()[0].field,
        "testDuration"
    );
}

/// The largest plan the types allow adds up without overflow.
#[test]
fn expected_seconds_do_not_overflow() {
    let cfg = Config {
        test_duration_seconds: u32::MAX,
        ramp_up_seconds: 0,
        max_duration_seconds: u32::MAX,
        interval_seconds: u32::MAX,
        ..config(&["smoke.js", "dash/load.js"])
    };
    let plan = build(&cfg, &scripts(), &context(&[1, 2])).unwrap();
    assert_eq!(plan.expected_seconds, 3 * u64::from(u32::MAX));
}

fn code(code: i32) -> ExitStatus {
    ExitStatus {
        code: Some(code),
        signal: None,
    }
}

fn signal(signal: i32) -> ExitStatus {
    ExitStatus {
        code: None,
        signal: Some(signal),
    }
}

fn verdict(exit: ExitStatus, cause: StopCause) -> (Outcome, String) {
    let Verdict { outcome, reason } = judge(exit, cause);
    (outcome, reason)
}

/// Steps that ended by themselves: k6's exit codes and signals.
#[test]
fn judges_steps_nobody_stopped() {
    use Outcome::*;
    let cases = [
        (code(0), Completed, "completed (exit 0)"),
        (code(99), Failed, "thresholds crossed (exit 99)"),
        (code(97), Failed, "the k6 Cloud test run failed (exit 97)"),
        (
            code(98),
            Failed,
            "k6 could not get the Cloud test's progress (exit 98)",
        ),
        (
            code(100),
            Failed,
            "setup() ran past setupTimeout (exit 100)",
        ),
        (
            code(101),
            Failed,
            "teardown() ran past teardownTimeout (exit 101)",
        ),
        (code(102), Failed, "k6 timed out (exit 102)"),
        (
            code(103),
            Stopped,
            "stopped through k6's REST API by someone other than this runner (exit 103)",
        ),
        (
            code(104),
            Failed,
            "k6 refused its options as an invalid config (exit 104)",
        ),
        (
            code(105),
            Stopped,
            "interrupted by a signal this runner did not send (exit 105)",
        ),
        (
            code(106),
            Failed,
            "k6's REST API address was already in use (exit 106)",
        ),
        (
            code(107),
            Failed,
            "the script threw an exception (or has a syntax error) (exit 107)",
        ),
        (
            code(108),
            Failed,
            "the script aborted the test (test.abort()) (exit 108)",
        ),
        (code(109), Failed, "k6 crashed (Go panic) (exit 109)"),
        (
            code(110),
            Failed,
            "the script marked the test as failed (exec.test.fail()) (exit 110)",
        ),
        (
            code(255),
            Failed,
            "k6 could not start: a bad flag, a missing script or no exported function (exit 255)",
        ),
        (
            code(126),
            Failed,
            "the script could not be executed (permission denied?) (exit 126)",
        ),
        (code(127), Failed, "a command was not found (exit 127)"),
        (
            code(130),
            Failed,
            "a process it ran was killed by SIGINT (exit 130)",
        ),
        (
            code(137),
            Failed,
            "a process it ran was killed by SIGKILL (exit 137)",
        ),
        (
            code(190),
            Failed,
            "a process it ran was killed by signal 62 (exit 190)",
        ),
        (code(1), Failed, "failed (exit 1)"),
        (code(-1), Failed, "failed (exit -1)"),
        (signal(9), Failed, "killed by SIGKILL (signal 9)"),
        (signal(2), Failed, "killed by SIGINT (signal 2)"),
        (signal(13), Failed, "killed by SIGPIPE (signal 13)"),
        (signal(1), Failed, "killed by SIGHUP (signal 1)"),
        (signal(64), Failed, "killed by signal 64"),
        (
            ExitStatus {
                code: None,
                signal: None,
            },
            Failed,
            "ended with neither an exit code nor a signal",
        ),
        (
            ExitStatus {
                code: Some(0),
                signal: Some(9),
            },
            Completed,
            "completed (exit 0)",
        ),
    ];
    for (exit, outcome, reason) in cases {
        assert_eq!(
            verdict(exit, StopCause::None),
            (outcome, reason.to_owned()),
            "{exit:?}"
        );
    }
}

/// After an operator or shutdown stop the step is stopped, whatever k6
/// said, unless it finished anyway; after the time limit it failed.
#[test]
fn judges_steps_the_host_stopped() {
    use Outcome::*;
    let cases = [
        (
            code(105),
            StopCause::Operator,
            Stopped,
            "stopped by an operator (exit 105: interrupted by a signal)",
        ),
        (
            code(103),
            StopCause::Operator,
            Stopped,
            "stopped by an operator (exit 103: stopped through k6's REST API)",
        ),
        (
            code(99),
            StopCause::Operator,
            Stopped,
            "stopped by an operator (exit 99: thresholds crossed)",
        ),
        (
            signal(9),
            StopCause::Operator,
            Stopped,
            "stopped by an operator (killed by SIGKILL)",
        ),
        (
            signal(2),
            StopCause::Shutdown,
            Stopped,
            "stopped because the runner shut down (killed by SIGINT)",
        ),
        (
            code(105),
            StopCause::Shutdown,
            Stopped,
            "stopped because the runner shut down (exit 105: interrupted by a signal)",
        ),
        (
            code(0),
            StopCause::Operator,
            Completed,
            "completed (exit 0) before the stop took effect",
        ),
        (
            code(0),
            StopCause::Shutdown,
            Completed,
            "completed (exit 0) before the stop took effect",
        ),
        (
            code(105),
            StopCause::TimeLimit,
            Failed,
            "ran past its maxDuration limit and was stopped (exit 105: interrupted by a signal)",
        ),
        (
            signal(9),
            StopCause::TimeLimit,
            Failed,
            "ran past its maxDuration limit and was stopped (killed by SIGKILL)",
        ),
        (
            code(0),
            StopCause::TimeLimit,
            Failed,
            "ran past its maxDuration limit and was stopped (exit 0: completed)",
        ),
        (
            code(42),
            StopCause::TimeLimit,
            Failed,
            "ran past its maxDuration limit and was stopped (exit 42)",
        ),
        (
            signal(77),
            StopCause::Operator,
            Stopped,
            "stopped by an operator (killed by signal 77)",
        ),
    ];
    for (exit, cause, outcome, reason) in cases {
        assert_eq!(
            verdict(exit, cause),
            (outcome, reason.to_owned()),
            "{exit:?} {cause:?}"
        );
    }
}
