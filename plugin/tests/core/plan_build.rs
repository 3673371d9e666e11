//! The execution plan and the verdicts, from the host's side: the exact
//! argv and environment of each step, how ports are taken, what a broken
//! context or config gives, and how every way a step can end is judged.

use crate::support::plain_all;
use k6_core::config::default_policy;
use k6_core::plan::{build, judge};
use k6_core::scripts::catalogue;
use k6_core::types::{
    ArchiveSnapshot, CatalogueEntry, Config, DirectorySnapshot, ErrorCode, ExitStatus, FieldError,
    LoadMode, Outcome, PlanContext, PlanTarget, Program, ScriptFile, ScriptKind, Snapshot, Step,
    StepSettings, StopCause, Verdict,
};

fn scripts() -> Vec<CatalogueEntry> {
    let files = [
        ("smoke.js", "/srv/k6/scripts/smoke.js", "/srv/k6/scripts"),
        (
            "dash/load.js",
            "/srv/k6/scripts/dash/load.js",
            "/srv/k6/scripts",
        ),
        (
            "legacy/overall-1.sh",
            "/srv/k6/legacy-scripts/legacy/overall-1.sh",
            "/srv/k6/legacy-scripts",
        ),
    ]
    .map(|(name, path, root)| ScriptFile {
        name: name.to_owned(),
        path: path.to_owned(),
        root: root.to_owned(),
        inspection: None,
    });
    catalogue(files.to_vec(), &default_policy())
}

fn config(enabled: &[&str]) -> Config {
    Config {
        global_user_count: 10,
        test_duration_seconds: 5_400,
        ramp_up_seconds: 30,
        max_duration_seconds: 6_000,
        enabled_scripts: plain_all(enabled),
        interval_seconds: 10,
        regression_budgets: None,
    }
}

fn context(ports: &[u16]) -> PlanContext {
    PlanContext {
        run_dir: "/data/runs/r1".to_owned(),
        api_ports: ports.to_vec(),
        target: PlanTarget::Runner,
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// A k6 script with a ramp-up runs `k6 run --vus 0 --stage <ramp>,<rest>`
/// on its archive, in its own folder of the run, with its API on 127.0.0.1
/// and its summary exported into that folder.
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
                "summary.json",
                "--summary-trend-stats",
                "avg,min,med,max,p(90),p(95),p(99)",
                "--vus",
                "0",
                "--stage",
                "30s:10,5370s:10",
                "/data/runs/r1/01-dash_load.js/script.tar",
            ]),
            env: vec![("K6_NO_USAGE_REPORT".into(), "true".into())],
            working_dir: "/data/runs/r1/01-dash_load.js".into(),
            step_dir: "/data/runs/r1/01-dash_load.js".into(),
            time_limit_seconds: 6_000,
            api_port: Some(41001),
            summary_export_path: Some("/data/runs/r1/01-dash_load.js/summary.json".into()),
            snapshot: Some(Snapshot::K6Archive(ArchiveSnapshot {
                source: "/srv/k6/scripts/dash/load.js".into(),
                archive: "/data/runs/r1/01-dash_load.js/script.tar".into(),
                args: strings(&[
                    "archive",
                    "-O",
                    "/data/runs/r1/01-dash_load.js/script.tar",
                    "/srv/k6/scripts/dash/load.js",
                ]),
            })),
            settings: StepSettings {
                load: LoadMode::Global,
                users: Some(10),
                test_duration_seconds: Some(5_400),
                ramp_up_seconds: Some(30),
                iterations: None,
                max_duration_seconds: 6_000,
                env: Vec::new(),
            },
            expected_seconds: 5_400,
            notes: Vec::new(),
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
            "/data/runs/r1/01-smoke.js/script.tar"
        ])
    );
    assert!(
        !args.iter().any(|a| a == "--stage"),
        "--stage with --duration is exit 104"
    );
}

/// A legacy wrapper keeps the original positional contract and gets
/// neither a port nor a summary export; it runs from a copy of its script
/// directory inside its step folder, in the copy of its own folder.
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
            "/data/runs/r1/01-legacy_overall-1.sh/scripts/legacy/overall-1.sh",
            "1h30m",
            "10",
            "30",
            "6000"
        ])
    );
    assert_eq!(step.env, vec![("K6_NO_USAGE_REPORT".into(), "true".into())]);
    assert_eq!(
        step.working_dir,
        "/data/runs/r1/01-legacy_overall-1.sh/scripts/legacy"
    );
    assert_eq!(
        step.snapshot,
        Some(Snapshot::DirectoryCopy(DirectorySnapshot {
            source_dir: "/srv/k6/legacy-scripts".into(),
            target_dir: "/data/runs/r1/01-legacy_overall-1.sh/scripts".into(),
        }))
    );
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
                Some("/data/runs/r1/02-smoke.js/summary.json")
            ),
            (
                2,
                "dash/load.js",
                Some(41003),
                Some("/data/runs/r1/03-dash_load.js/summary.json")
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
        target: PlanTarget::Runner,
    };
    let plan = build(&config(&["smoke.js"]), &scripts(), &ctx).unwrap();
    assert_eq!(
        plan.steps[0].summary_export_path.as_deref(),
        Some("/data/runs/r1/01-smoke.js/summary.json")
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
    let Verdict { outcome, reason } = judge(exit, cause, ScriptKind::K6Script);
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

/// A legacy wrapper stopped on purpose is stopped whatever it exits with:
/// a wrapper that runs `k6 run` without `exec` and then `echo`s exits 0
/// after its k6 was stopped. Without a stop its exit status decides.
#[test]
fn a_stopped_wrapper_is_stopped_whatever_it_exits_with() {
    for cause in [StopCause::Operator, StopCause::Shutdown] {
        for exit in [code(0), code(1), code(105), signal(9)] {
            let verdict = judge(exit, cause, ScriptKind::LegacyWrapper);
            assert_eq!(verdict.outcome, Outcome::Stopped, "{exit:?} {cause:?}");
            assert!(verdict.reason.starts_with("stopped "), "{}", verdict.reason);
        }
    }
    assert_eq!(
        judge(code(0), StopCause::None, ScriptKind::LegacyWrapper).outcome,
        Outcome::Completed
    );
    assert_eq!(
        judge(code(0), StopCause::TimeLimit, ScriptKind::LegacyWrapper).outcome,
        Outcome::Failed
    );
}

fn entry_json(cfg_entries: &str) -> Config {
    let json = format!(
        r#"{{"globalUserCount": 10, "testDuration": "1m", "rampUpDuration": 10,
            "maxDuration": 120, "enabledScripts": {cfg_entries}, "intervalBetweenTests": 10}}"#
    );
    k6_core::config::validate(&json, &default_policy(), &scripts())
        .unwrap_or_else(|errors| panic!("{json}: {errors:?}"))
}

fn ports(n: u16) -> PlanContext {
    context(&(41001..41001 + n).collect::<Vec<_>>())
}

/// The same script four times at 5, 10, 25 and 50 users (the brief's
/// example suite): one step each, each with its own folder, port and users.
#[test]
fn the_same_script_at_four_user_counts() {
    let cfg = entry_json(
        r#"[{"script": "smoke.js", "users": 5}, {"script": "smoke.js", "users": 10},
            {"script": "smoke.js", "users": 25}, {"script": "smoke.js", "users": 50}]"#,
    );
    let plan = build(&cfg, &scripts(), &ports(4)).unwrap();
    let got: Vec<(String, Option<u32>, String)> = plan
        .steps
        .iter()
        .map(|step| {
            let stage =
                step.args[step.args.iter().position(|a| a == "--stage").unwrap() + 1].clone();
            (step.step_dir.clone(), step.settings.users, stage)
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "/data/runs/r1/01-smoke.js".into(),
                Some(5),
                "10s:5,50s:5".into()
            ),
            (
                "/data/runs/r1/02-smoke.js".into(),
                Some(10),
                "10s:10,50s:10".into()
            ),
            (
                "/data/runs/r1/03-smoke.js".into(),
                Some(25),
                "10s:25,50s:25".into()
            ),
            (
                "/data/runs/r1/04-smoke.js".into(),
                Some(50),
                "10s:50,50s:50".into()
            ),
        ]
    );
    assert_eq!(plan.expected_seconds, 4 * 60 + 3 * 10);
}

/// The cluster manager's three wrapper lines, with their own argument
/// lists and users from the config:
/// `linux-mssql-dashboard/overall-1.sh 6h 5 5 10`, `login/overall.sh 5 5 10`.
#[test]
fn wrappers_get_their_own_positional_arguments() {
    let cfg = entry_json(
        r#"[{"script": "legacy/overall-1.sh", "users": 5, "iterations": 5,
             "args": ["6h", "{users}", "{iterations}", "10"]},
            {"script": "legacy/overall-1.sh", "users": 1, "iterations": 1,
             "args": ["{users}", "{iterations}", "10"], "env": {"TIME_FROM": "now-6h"}}]"#,
    );
    let plan = build(&cfg, &scripts(), &ports(2)).unwrap();
    assert_eq!(plan.steps[0].args[1..], strings(&["6h", "5", "5", "10"]));
    assert_eq!(plan.steps[1].args[1..], strings(&["1", "1", "10"]));
    // A wrapper gets its variables in its environment, after the step's own.
    assert_eq!(
        plan.steps[1].env,
        vec![
            ("K6_NO_USAGE_REPORT".into(), "true".into()),
            ("TIME_FROM".into(), "now-6h".into())
        ]
    );
    // Without {duration}, its expected length is its time limit.
    assert_eq!(plan.steps[0].expected_seconds, 120);
}

/// `iterations` on a k6 script: shared iterations with the test duration as
/// their limit and no ramp-up; `env` as `-e` pairs, given to the archive
/// too; `load: script` runs the script's own options with none of these.
#[test]
fn k6_entries_with_iterations_env_and_their_own_load() {
    let cfg = entry_json(
        r#"[{"script": "smoke.js", "users": 3, "iterations": 10, "testDuration": "30s",
             "maxDuration": 60, "env": {"BASE_URL": "http://127.0.0.1:1"}},
            {"script": "dash/load.js", "load": "script", "maxDuration": 600}]"#,
    );
    let plan = build(&cfg, &scripts(), &ports(2)).unwrap();
    let shared = &plan.steps[0];
    assert_eq!(
        shared.args[9..],
        strings(&[
            "--vus",
            "3",
            "--iterations",
            "10",
            "--duration",
            "30s",
            "-e",
            "BASE_URL=http://127.0.0.1:1",
            "/data/runs/r1/01-smoke.js/script.tar",
        ])
    );
    let Some(Snapshot::K6Archive(archive)) = &shared.snapshot else {
        panic!("an archive snapshot")
    };
    assert_eq!(
        archive.args[1..3],
        strings(&["-e", "BASE_URL=http://127.0.0.1:1"])
    );
    assert_eq!(shared.time_limit_seconds, 60);
    let own = &plan.steps[1];
    assert_eq!(own.settings.load, LoadMode::Script);
    assert!(
        !own.args
            .iter()
            .any(|a| ["--vus", "--duration", "--stage", "--iterations"].contains(&a.as_str())),
        "{:?}",
        own.args
    );
    assert_eq!((own.time_limit_seconds, own.expected_seconds), (600, 600));
}

/// For a `k6_all.sh` run by hand: the scripts where they are, each k6
/// script in its folder below the results folder with its API off, and no
/// snapshot.
#[test]
fn a_shell_script_plan_runs_the_scripts_in_place() {
    let ctx = PlanContext {
        run_dir: "k6-results".into(),
        api_ports: Vec::new(),
        target: PlanTarget::ShellScript,
    };
    let plan = build(
        &config(&["smoke.js", "legacy/overall-1.sh"]),
        &scripts(),
        &ctx,
    )
    .unwrap();
    let k6 = &plan.steps[0];
    assert_eq!(k6.args[3..5], strings(&["--address", ""]));
    assert_eq!(k6.args.last().unwrap(), "/srv/k6/scripts/smoke.js");
    assert_eq!(k6.working_dir, "k6-results/01-smoke.js");
    assert_eq!((k6.api_port, &k6.snapshot), (None, &None));
    let wrapper = &plan.steps[1];
    assert_eq!(
        wrapper.args[0],
        "/srv/k6/legacy-scripts/legacy/overall-1.sh"
    );
    assert_eq!(wrapper.working_dir, "/srv/k6/legacy-scripts/legacy");
    assert_eq!(wrapper.snapshot, None);
}
