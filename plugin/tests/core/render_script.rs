//! `k6_all.sh` rendering, checked by running the result: the default
//! template against a reviewed golden file and `bash -n`; hostile plans run
//! for real with `K6` and `BASH_CMD` pointing at a stand-in that records
//! exactly how it was called; the stop and time-limit paths; and custom
//! templates under strict mode.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use k6_core::config::{default_policy, validate};
use k6_core::plan::build;
use k6_core::render::{DEFAULT_TEMPLATE, render};
use k6_core::scripts::catalogue;
use k6_core::types::{
    Config, LoadMode, Plan, PlanContext, PlanTarget, Program, RenderError, ScriptFile, ScriptKind,
    Step, StepSettings,
};
use proptest::prelude::*;

const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/k6_all.sh");

/// The stand-in for k6 and bash. Call `n` writes its argv (NUL-separated),
/// physical working directory and environment to `$FAKE_OUT/*-n`, then
/// behaves as word `n` of `$FAKE_MODES` says: `ok` (exit 0), `fail` (exit
/// 3), or `hang` (record each SIGINT, then exit 105 half a second after the
/// first, like k6 does on one signal).
const FAKE: &str = r#"#!/bin/bash
out=$FAKE_OUT
n=$(( $(cat "$out/count" 2>/dev/null || echo 0) + 1 ))
echo "$n" > "$out/count"
# Before the files a test waits for: a SIGINT sent once they are there
# must find the trap (`ok` and `fail` exit before any signal comes).
trap 'echo INT >> "$out/signals-$n"' INT
[ "$#" -eq 0 ] || printf '%s\0' "$@" > "$out/argv-$n"
touch "$out/argv-$n"
pwd -P > "$out/pwd-$n"
cat "/proc/$$/environ" > "$out/env-$n"
read -r -a modes <<< "${FAKE_MODES:-}"
case "${modes[$((n - 1))]:-ok}" in
  ok) exit 0 ;;
  fail) exit 3 ;;
  hang)
    sleep 30 & sleeper=$!
    wait "$sleeper"
    sleep 0.5 & wait "$!"
    kill "$sleeper" 2>/dev/null
    exit 105 ;;
esac
"#;

/// A scratch folder for one test, removed when the test passes.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("k6-core-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("out")).unwrap();
        let fake = dir.join("fake");
        fs::write(&fake, FAKE).unwrap();
        Command::new("chmod").arg("+x").arg(&fake).status().unwrap();
        Self(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    fn out(&self, name: &str) -> PathBuf {
        self.0.join("out").join(name)
    }

    /// Starts the rendered script with the stand-in as k6 and bash.
    fn spawn(&self, script: &str, modes: &str) -> std::process::Child {
        let path = self.path("k6_all.sh");
        fs::write(&path, script).unwrap();
        Command::new("bash")
            .arg(&path)
            .env("K6", self.path("fake"))
            .env("BASH_CMD", self.path("fake"))
            .env("FAKE_OUT", self.path("out"))
            .env("FAKE_MODES", modes)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    fn run(&self, script: &str, modes: &str) -> Output {
        self.spawn(script, modes).wait_with_output().unwrap()
    }

    fn argv(&self, call: usize) -> Vec<String> {
        let raw = fs::read(self.out(&format!("argv-{call}"))).unwrap();
        let text = String::from_utf8(raw).unwrap();
        let mut args: Vec<String> = text.split('\0').map(str::to_owned).collect();
        assert_eq!(args.pop().as_deref(), Some(""), "argv ends with a NUL");
        args
    }

    fn env(&self, call: usize) -> Vec<String> {
        let raw = fs::read(self.out(&format!("env-{call}"))).unwrap();
        String::from_utf8_lossy(&raw)
            .split('\0')
            .map(str::to_owned)
            .collect()
    }

    fn calls(&self) -> usize {
        fs::read_to_string(self.out("count")).map_or(0, |n| n.trim().parse().unwrap())
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = fs::remove_dir_all(&self.0);
        }
    }
}

fn bash_syntax_ok(script: &str) -> Result<(), String> {
    let mut child = Command::new("bash")
        .arg("-n")
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// The plan of the golden file: a k6 script with ramp-up, a legacy wrapper
/// and a k6 script in a folder, built the way the runner builds it for
/// `GET /script` (a script run by hand, results below `k6-results`).
fn typical_plan() -> Plan {
    let policy = default_policy();
    let files = [
        ("smoke.js", "/srv/k6/scripts/smoke.js"),
        ("legacy/overall-1.sh", "/srv/k6/scripts/legacy/overall-1.sh"),
        ("dash/load.js", "/srv/k6/scripts/dash/load.js"),
    ]
    .map(|(name, path)| ScriptFile {
        name: name.into(),
        path: path.into(),
        root: "/srv/k6/scripts".into(),
        inspection: None,
    });
    let scripts = catalogue(files.to_vec(), &policy);
    let cfg = validate(
        r#"{"globalUserCount": 10, "testDuration": "1h30m", "rampUpDuration": 30,
            "maxDuration": 6000, "enabledScripts": ["smoke.js", "legacy/overall-1.sh", "dash/load.js"],
            "intervalBetweenTests": 10}"#,
        &policy,
        &scripts,
    )
    .unwrap();
    let context = PlanContext {
        run_dir: "k6-results".into(),
        api_ports: Vec::new(),
        target: PlanTarget::ShellScript,
    };
    build(&cfg, &scripts, &context).unwrap()
}

/// A plan made by hand, with whatever steps a test needs.
fn plan_of(steps: Vec<Step>, interval: u32) -> Plan {
    let count = u64::try_from(steps.len()).unwrap();
    Plan {
        config: Config {
            global_user_count: 1,
            test_duration_seconds: 1,
            ramp_up_seconds: 0,
            max_duration_seconds: 1,
            enabled_scripts: steps
                .iter()
                .map(|s| crate::support::plain(&s.script))
                .collect(),
            interval_seconds: interval,
            regression_budgets: None,
        },
        steps,
        interval_seconds: interval,
        expected_seconds: count,
    }
}

fn step(index: u32, script: &str, program: Program, args: Vec<String>, dir: &str) -> Step {
    Step {
        index,
        script: script.to_owned(),
        kind: match program {
            Program::K6 => ScriptKind::K6Script,
            Program::Bash => ScriptKind::LegacyWrapper,
        },
        program,
        args,
        env: vec![("K6_NO_USAGE_REPORT".into(), "true".into())],
        working_dir: dir.to_owned(),
        step_dir: dir.to_owned(),
        time_limit_seconds: 30,
        api_port: None,
        summary_export_path: None,
        snapshot: None,
        settings: StepSettings {
            load: LoadMode::Global,
            users: Some(1),
            test_duration_seconds: Some(1),
            ramp_up_seconds: None,
            iterations: None,
            max_duration_seconds: 30,
            env: Vec::new(),
        },
        expected_seconds: 1,
        notes: Vec::new(),
    }
}

/// The default template renders the reviewed golden file byte for byte.
/// After a deliberate template change, review the new text and rewrite the
/// file with `K6_CORE_BLESS=1 cargo test -p k6-core --test render_script`.
#[test]
fn default_template_matches_the_golden_file() {
    let text = render(&typical_plan(), None).unwrap();
    if std::env::var_os("K6_CORE_BLESS").is_some() {
        fs::write(GOLDEN, &text).unwrap();
    }
    let golden = fs::read_to_string(GOLDEN).unwrap();
    assert!(
        text == golden,
        "rendered text differs from {GOLDEN}:\n{text}"
    );
    assert_eq!(
        render(&typical_plan(), Some(DEFAULT_TEMPLATE)).unwrap(),
        text
    );
}

/// The script starts with its shebang and is valid bash.
#[test]
fn default_output_is_valid_bash() {
    let text = render(&typical_plan(), None).unwrap();
    assert!(text.starts_with("#!/usr/bin/env bash\n"), "{text}");
    assert!(text.contains("\nset -u\n"));
    assert!(text.contains("\nK6=\"${K6:-k6}\"\n"));
    assert_eq!(
        text.matches("timeout --signal=INT --kill-after=30 '6000'")
            .count(),
        3
    );
    assert_eq!(
        text.matches("\npause '10'\n").count(),
        2,
        "no pause after the last step"
    );
    bash_syntax_ok(&text).unwrap();
}

/// Comment lines hold no value: every `#` line of the output is a line of
/// the template itself.
#[test]
fn no_value_lands_in_a_comment() {
    let mut plan = typical_plan();
    // Without a newline: a quoted newline may start a line with `#` inside
    // a string, which is data (the hostile run test shows bash agrees).
    plan.steps[0].script = "# MARKER".into();
    plan.steps[0].working_dir = "# MARKER".into();
    plan.steps[0].args.push("# MARKER".into());
    let text = render(&plan, None).unwrap();
    let template_lines: Vec<&str> = DEFAULT_TEMPLATE.lines().collect();
    for line in text.lines().filter(|l| l.trim_start().starts_with('#')) {
        assert!(template_lines.contains(&line), "{line}");
    }
}

/// Evil strings in every value reach the programs intact, each as exactly
/// one argument, and nothing they ask for happens.
#[test]
fn hostile_values_arrive_intact_and_run_nothing() {
    let scratch = Scratch::new("hostile");
    let pwned = scratch.path("pwned");
    let p = pwned.display();
    let evil: Vec<String> = [
        format!("$(touch {p})"),
        format!("`touch {p}`"),
        format!("'; touch {p} #"),
        format!("\"; touch {p} #"),
        format!("a\nb; touch {p}"),
        format!("\n touch {p}\n"),
        format!("|touch {p}"),
        format!("&& touch {p}"),
        format!(">{p}"),
        format!("${{IFS}}touch${{IFS}}{p}"),
        "\"".into(),
        "'".into(),
        "''".into(),
        "\\".into(),
        "\\'".into(),
        "*".into(),
        "?".into(),
        "[a-z]*".into(),
        "~".into(),
        "~root".into(),
        "{a,b}".into(),
        "!!".into(),
        "$K6".into(),
        "$1 $@".into(),
        "%s%n%d".into(),
        String::new(),
        " ".into(),
        "  two  spaces  ".into(),
        "\t\r".into(),
        "-".into(),
        "--".into(),
        "-rf".into(),
        "--help".into(),
        "-n".into(),
        "-e".into(),
        "ü é 😀 \u{202e}RTL".into(),
        "\u{1b}[31mred".into(),
        "#not a comment".into(),
        "a=b".into(),
    ]
    .into_iter()
    .collect();

    let dir = scratch.path(&format!("dir $(touch {p}) 'q' \"dq\" `bt`\nline2 -x"));
    fs::create_dir_all(&dir).unwrap();
    let dir_text = dir.to_str().unwrap().to_owned();
    let name = format!("$(touch {p})`touch {p}`'; touch {p} #\n\"*\\ -rf ü");
    let mut k6_step = step(0, &name, Program::K6, evil.clone(), &dir_text);
    k6_step
        .env
        .push(("EVIL_VALUE".into(), format!("$(touch {p}) '\"\n`x` \\ *")));
    k6_step.env.push(("EMPTY_VALUE".into(), String::new()));
    let mut legacy_args = evil.clone();
    legacy_args.reverse();
    let legacy = step(
        1,
        "-legacy $(x).sh",
        Program::Bash,
        legacy_args.clone(),
        &dir_text,
    );
    let plan = plan_of(vec![k6_step, legacy], 0);

    let text = render(&plan, None).unwrap();
    bash_syntax_ok(&text).unwrap();
    let output = scratch.run(&text, "ok ok");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "exit {:?}\n{stdout}\n{stderr}",
        output.status
    );

    assert_eq!(scratch.calls(), 2);
    assert_eq!(scratch.argv(1), evil, "k6 arguments");
    assert_eq!(scratch.argv(2), legacy_args, "legacy wrapper arguments");
    for call in [1, 2] {
        let pwd = fs::read_to_string(scratch.out(&format!("pwd-{call}"))).unwrap();
        assert_eq!(
            pwd.strip_suffix('\n'),
            Some(fs::canonicalize(&dir).unwrap().to_str().unwrap())
        );
    }
    let env = scratch.env(1);
    assert!(
        env.contains(&format!("EVIL_VALUE=$(touch {p}) '\"\n`x` \\ *")),
        "{env:?}"
    );
    assert!(env.contains(&"EMPTY_VALUE=".to_owned()));
    assert!(env.contains(&"K6_NO_USAGE_REPORT=true".to_owned()));
    assert!(stdout.contains(&format!("[1/2] {name}\n")), "{stdout}");
    assert!(stdout.contains("[2/2] -legacy $(x).sh\n"), "{stdout}");
    assert!(!pwned.exists(), "a value ran as a command");
}

/// A failing step is reported, the next one still runs, and the suite
/// exits 1.
#[test]
fn a_failed_step_fails_the_suite_but_not_the_next_step() {
    let scratch = Scratch::new("failure");
    let dir = scratch.0.to_str().unwrap().to_owned();
    let plan = plan_of(
        vec![
            step(0, "a.js", Program::K6, vec!["a".into()], &dir),
            step(1, "b.js", Program::K6, vec!["b".into()], &dir),
        ],
        0,
    );
    let output = scratch.run(&render(&plan, None).unwrap(), "fail ok");
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(scratch.calls(), 2);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("a.js failed (exit 3)\n"), "{stderr}");
    assert!(stderr.contains("1 of 2 script(s) failed\n"), "{stderr}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("b.js completed\n"), "{stdout}");
}

/// Past its time limit a step gets exactly one SIGINT from `timeout` and
/// counts as failed.
#[test]
fn time_limit_sends_one_sigint() {
    let scratch = Scratch::new("time-limit");
    let dir = scratch.0.to_str().unwrap().to_owned();
    let mut slow = step(0, "slow.js", Program::K6, vec![], &dir);
    slow.time_limit_seconds = 1;
    let output = scratch.run(&render(&plan_of(vec![slow], 0), None).unwrap(), "hang");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("slow.js ran past its time limit and was stopped\n"),
        "{stderr}"
    );
    assert_eq!(
        fs::read_to_string(scratch.out("signals-1")).unwrap(),
        "INT\n"
    );
}

fn wait_for(path: &Path) {
    let start = Instant::now();
    while !path.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{} never appeared",
            path.display()
        );
        sleep(Duration::from_millis(20));
    }
}

fn send(signal: &str, pid: u32) {
    let status = Command::new("kill")
        .arg(signal)
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

/// Ctrl+C (twice, as impatient people do) reaches the running step as one
/// SIGINT; the suite then stops with 130 and starts no further step.
#[test]
fn stop_passes_one_sigint_and_ends_the_suite() {
    let scratch = Scratch::new("stop");
    let dir = scratch.0.to_str().unwrap().to_owned();
    let plan = plan_of(
        vec![
            step(0, "long.js", Program::K6, vec![], &dir),
            step(1, "next.js", Program::K6, vec![], &dir),
        ],
        0,
    );
    let child = scratch.spawn(&render(&plan, None).unwrap(), "hang ok");
    wait_for(&scratch.out("env-1"));
    send("-INT", child.id());
    sleep(Duration::from_millis(100));
    send("-INT", child.id());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130));
    assert_eq!(scratch.calls(), 1, "no step after a stop");
    assert_eq!(
        fs::read_to_string(scratch.out("signals-1")).unwrap(),
        "INT\n"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("long.js stopped (exit 105)\nsuite stopped; 0 script(s) failed\n"),
        "{stderr}"
    );
}

/// Custom templates get the same quoting and the same strictness.
#[test]
fn custom_templates_quote_and_are_strict() {
    let plan = typical_plan();
    let ok = |template: &str| render(&plan, Some(template)).unwrap();
    assert_eq!(ok("{{steps.0.script}}"), "'smoke.js'");
    assert_eq!(
        ok("{{quote steps.0.script}}"),
        "'smoke.js'",
        "quoted once, not twice"
    );
    assert_eq!(ok("{{{steps.0.script}}}"), "smoke.js", "raw on request");
    assert_eq!(
        ok("{{config.testDuration}} {{config.globalUserCount}}"),
        "'1h30m' '10'"
    );
    assert_eq!(
        ok("{{steps.1.apiPort}}|{{steps.1.kind}}|{{steps.1.program}}"),
        "''|'legacy-wrapper'|'bash'"
    );
    assert_eq!(
        ok("{{#each steps}}{{number}}{{#if isK6}}k{{/if}} {{/each}}"),
        "'1'k '2' '3'k "
    );
    assert_eq!(
        ok("{{#each steps.0.env}}{{name}}={{value}}{{/each}}"),
        "'K6_NO_USAGE_REPORT'='true'"
    );

    let mut quoted = plan.clone();
    quoted.steps[0].script = "it's".into();
    assert_eq!(
        render(&quoted, Some("{{quote steps.0.script}}")).unwrap(),
        r"'it'\''s'"
    );

    for missing in [
        "{{nope}}",
        "{{steps.0.nope}}",
        "{{#each nope}}x{{/each}}",
        "{{quote nope}}",
        "{{quote}}",
        "{{#with nope}}x{{/with}}",
        "{{lookup steps 9}}",
        "{{nohelper steps}}",
    ] {
        match render(&plan, Some(missing)) {
            Err(RenderError::TemplateRender(message)) => assert!(!message.is_empty()),
            other => panic!("{missing}: expected a render error, got {other:?}"),
        }
    }
    for broken in [
        "{{#each steps}}",
        "{{",
        "{{/if}}",
        "{{#if}}{{else}}{{/each}}",
        "{{!-- open",
    ] {
        match render(&plan, Some(broken)) {
            Err(RenderError::TemplateSyntax(message)) => assert!(!message.is_empty()),
            other => panic!("{broken}: expected a syntax error, got {other:?}"),
        }
    }
}

/// A NUL byte cannot travel in a shell argument, so such a plan is refused
/// and the message says where the NUL is.
#[test]
fn nul_bytes_are_refused() {
    let mut plan = typical_plan();
    plan.steps[2].args[3] = "a\0b".into();
    assert_eq!(
        render(&plan, None),
        Err(RenderError::TemplateRender(
            "steps[2].args[3] contains a NUL byte, which no shell argument can hold".into()
        ))
    );
}

fn arbitrary_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,16}",
        "[ -~\\n\\t]{0,16}",
        "['\"\\\\$`;|&<>*?~#! -]{0,8}"
    ]
}

fn arbitrary_step() -> impl Strategy<Value = Step> {
    (
        arbitrary_text(),
        any::<bool>(),
        prop::collection::vec(arbitrary_text(), 0..6),
        // Prefixed so that no generated name replaces PATH or the like.
        prop::collection::vec(("X_[A-Z_]{1,8}", arbitrary_text()), 0..3),
        arbitrary_text(),
        0u32..100_000,
    )
        .prop_map(|(script, k6, args, env, dir, limit)| {
            let program = if k6 { Program::K6 } else { Program::Bash };
            let mut s = step(0, &script, program, args, &dir);
            s.env.extend(env);
            s.time_limit_seconds = limit;
            s
        })
}

fn arbitrary_plan() -> impl Strategy<Value = Plan> {
    (prop::collection::vec(arbitrary_step(), 1..4), 0u32..3).prop_map(|(steps, interval)| {
        let steps = steps
            .into_iter()
            .zip(0u32..)
            .map(|(step, index)| Step { index, ..step })
            .collect();
        plan_of(steps, interval)
    })
}

proptest! {
    /// Any plan, even with NUL bytes and any Unicode, renders or is refused
    /// without a panic, and what renders is valid bash.
    #[test]
    fn any_plan_renders_to_valid_bash(plan in arbitrary_plan(), nul in any::<bool>()) {
        let mut plan = plan;
        if nul {
            plan.steps[0].args.push("x\0y".into());
            prop_assert!(matches!(render(&plan, None), Err(RenderError::TemplateRender(_))));
        } else {
            let text = render(&plan, None).unwrap();
            prop_assert!(bash_syntax_ok(&text).is_ok(), "{}", text);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Run for real: whatever the arguments hold, each program receives
    /// exactly the plan's argument list.
    #[test]
    fn any_arguments_arrive_intact(plan in arbitrary_plan()) {
        let scratch = Scratch::new("arbitrary");
        let mut plan = plan;
        plan.interval_seconds = 0;
        for step in &mut plan.steps {
            step.working_dir = scratch.0.to_str().unwrap().to_owned();
            step.step_dir = step.working_dir.clone();
        }
        let output = scratch.run(&render(&plan, None).unwrap(), "");
        prop_assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        prop_assert_eq!(scratch.calls(), plan.steps.len());
        for (call, step) in plan.steps.iter().enumerate() {
            prop_assert_eq!(&scratch.argv(call + 1), &step.args);
        }
    }
}
