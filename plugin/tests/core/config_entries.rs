//! Entries of `enabledScripts` with their own settings, told from the
//! operator's side: the cluster manager's wrapper lines and the brief's
//! four-step suite are expressible exactly; every problem is reported at
//! once with its path (`enabledScripts[2].users`); what k6 says about a
//! script decides whether it can run under the global load.

use crate::support::{catalogue_of, entry, plain};
use k6_core::config::{default_config, default_policy, to_json, validate};
use k6_core::types::{
    CatalogueEntry, ErrorCode, FieldError, LoadMode, OwnLoad, ScenarioFacts, SuiteEntry, TestFacts,
    WrapperArg,
};

fn catalogue() -> Vec<CatalogueEntry> {
    let mut scripts = catalogue_of(&[
        "dashboards/overall-1.sh",
        "login/overall.sh",
        "reports/overall.sh",
        "smoke.js",
    ]);
    let mut helper = entry("lib/config.js");
    helper.test = Some(TestFacts {
        global_load: Err("k6 says: function 'default' not found in exports (exit 104)".into()),
        own_load: Err("k6 says: function 'default' not found in exports (exit 104)".into()),
    });
    let mut scenarios = entry("arrival.js");
    scenarios.test = Some(TestFacts {
        global_load: Err("k6 says: function 'default' not found in exports (exit 104)".into()),
        own_load: Ok(OwnLoad {
            scenarios: vec![ScenarioFacts {
                name: "rate".into(),
                executor: "constant-arrival-rate".into(),
                exec: Some("browse".into()),
            }],
            max_vus: 20,
            total_duration_seconds: Some(60),
        }),
    });
    scripts.extend([helper, scenarios]);
    scripts
}

fn body(entries: &str) -> String {
    format!(
        r#"{{"globalUserCount": 5, "testDuration": "1m", "rampUpDuration": 10,
            "maxDuration": 600, "enabledScripts": {entries}, "intervalBetweenTests": 10}}"#
    )
}

fn accepted(entries: &str) -> Vec<SuiteEntry> {
    validate(&body(entries), &default_policy(), &catalogue())
        .unwrap_or_else(|errors| panic!("{entries}: {errors:#?}"))
        .enabled_scripts
}

fn refused(entries: &str) -> Vec<FieldError> {
    validate(&body(entries), &default_policy(), &catalogue())
        .expect_err("the config should be refused")
}

fn codes(entries: &str) -> Vec<(String, ErrorCode)> {
    refused(entries)
        .into_iter()
        .map(|e| (e.field, e.code))
        .collect()
}

/// The three lines of the cluster manager's `k6_all.sh`
/// (`linux-mssql-dashboard/overall-1.sh 6h 5 5 10`, `login/overall.sh 5 5
/// 10`, `reports/overall.sh 1 1 10`) with the users from the config.
#[test]
fn the_cluster_managers_wrapper_lines_are_expressible() {
    let entries = accepted(
        r#"[{"script": "dashboards/overall-1.sh", "users": 5, "iterations": 5,
             "args": ["6h", "{users}", "{iterations}", "10"]},
            {"script": "login/overall.sh", "users": 5, "iterations": 5,
             "args": ["{users}", "{iterations}", "10"]},
            {"script": "reports/overall.sh", "users": 1, "iterations": 1,
             "args": ["{users}", "{iterations}", "10"]}]"#,
    );
    assert_eq!(
        entries[0].args,
        Some(vec![
            WrapperArg::Literal("6h".into()),
            WrapperArg::Users,
            WrapperArg::Iterations,
            WrapperArg::Literal("10".into()),
        ])
    );
    assert_eq!(
        (entries[2].users, entries[2].iterations),
        (Some(1), Some(1))
    );
}

/// The brief's suite: one script four times at 5, 10, 25 and 50 users. The
/// same script may appear more than once.
#[test]
fn the_same_script_may_run_several_times() {
    let entries = accepted(
        r#"["smoke.js", {"script": "smoke.js", "users": 10},
            {"script": "smoke.js", "users": 25}, {"script": "smoke.js", "users": 50}]"#,
    );
    let users: Vec<Option<u32>> = entries.iter().map(|e| e.users).collect();
    assert_eq!(users, [None, Some(10), Some(25), Some(50)]);
}

/// The canonical text writes an entry without settings as its name and
/// the others as one-line objects; it reads back unchanged.
#[test]
fn entries_round_trip_through_the_canonical_text() {
    let text = body(
        r#"["smoke.js", {"script": "smoke.js", "users": 50, "testDuration": "2m",
             "rampUpDuration": 0, "maxDuration": 300, "env": {"B": "2", "A": "x y=z"}},
            {"script": "arrival.js", "load": "script", "maxDuration": 90},
            {"script": "login/overall.sh", "iterations": 3, "args": ["{users}", "{iterations}", "10"]}]"#,
    );
    let cfg = validate(&text, &default_policy(), &catalogue()).unwrap();
    let canonical = to_json(&cfg);
    assert!(
        canonical.contains(
            "    \"smoke.js\",\n    {\"script\": \"smoke.js\", \"users\": 50, \"testDuration\": \"2m\", \
             \"rampUpDuration\": 0, \"maxDuration\": 300, \"env\": {\"A\": \"x y=z\", \"B\": \"2\"}},\n"
        ),
        "{canonical}"
    );
    assert!(canonical.contains(
        "{\"script\": \"login/overall.sh\", \"iterations\": 3, \"args\": [\"{users}\", \"{iterations}\", \"10\"]}"
    ));
    assert_eq!(
        validate(&canonical, &default_policy(), &catalogue()),
        Ok(cfg)
    );
}

/// Every problem of every entry at once, each named by its path.
#[test]
fn every_entry_problem_is_reported_with_its_path() {
    assert_eq!(
        codes(
            r#"["smoke.js",
                {"script": "smoke.js", "users": 0, "testDuration": "forever", "iterations": 0},
                {"script": "smoke.js", "load": "fast", "env": {"1X": "a", "OK": 5}},
                {"script": "nope.js", "userz": 3}]"#
        ),
        [
            ("enabledScripts[1].users".into(), ErrorCode::OutOfRange),
            (
                "enabledScripts[1].testDuration".into(),
                ErrorCode::BadDuration
            ),
            ("enabledScripts[1].iterations".into(), ErrorCode::OutOfRange),
            ("enabledScripts[2].load".into(), ErrorCode::OutOfRange),
            ("enabledScripts[2].env.1X".into(), ErrorCode::BadEnv),
            ("enabledScripts[2].env.OK".into(), ErrorCode::WrongType),
            ("enabledScripts[3].script".into(), ErrorCode::UnknownScript),
            ("enabledScripts[3].userz".into(), ErrorCode::UnknownField),
        ]
    );
    let message = refused(r#"[{"script": "smoke.js", "Users": 3}]"#)[0]
        .message
        .clone();
    assert!(message.contains("did you mean users?"), "{message}");
}

/// An entry's settings must agree with each other and with the globals
/// they fall back to; the error names the field the entry gave.
#[test]
fn an_entry_must_agree_with_the_globals_it_inherits() {
    // Its own test shorter than the global 10 s ramp-up.
    let short = refused(r#"[{"script": "smoke.js", "testDuration": "5s", "maxDuration": 60}]"#);
    assert_eq!(short[0].field, "enabledScripts[0].testDuration");
    assert_eq!(short[0].code, ErrorCode::Inconsistent);
    assert!(
        short[0]
            .message
            .contains("the global rampUpDuration (10 s)"),
        "{}",
        short[0].message
    );
    // A longer test than the global maxDuration leaves room for.
    let long = refused(r#"[{"script": "smoke.js", "testDuration": "10m"}]"#);
    assert_eq!(
        (long[0].field.as_str(), long[0].code),
        ("enabledScripts[0].testDuration", ErrorCode::Inconsistent)
    );
    assert!(long[0].message.contains("605 s"), "{}", long[0].message);
    // With its own maxDuration it is fine.
    accepted(r#"[{"script": "smoke.js", "testDuration": "10m", "maxDuration": 700}]"#);
    // Iterations are shared from the start: no ramp-up of their own.
    assert_eq!(
        codes(r#"[{"script": "smoke.js", "iterations": 10, "rampUpDuration": 5}]"#),
        [(
            "enabledScripts[0].rampUpDuration".into(),
            ErrorCode::Inconsistent
        )]
    );
    accepted(r#"[{"script": "smoke.js", "iterations": 10}]"#);
}

/// With `load: script` the script's own options decide its load: settings
/// that would not apply are refused rather than ignored.
#[test]
fn a_scripts_own_load_takes_no_load_settings() {
    assert_eq!(
        codes(r#"[{"script": "arrival.js", "load": "script", "users": 5, "iterations": 3}]"#),
        [
            ("enabledScripts[0].users".into(), ErrorCode::Inconsistent),
            (
                "enabledScripts[0].iterations".into(),
                ErrorCode::Inconsistent
            ),
        ]
    );
    let entries = accepted(r#"[{"script": "arrival.js", "load": "script", "maxDuration": 90}]"#);
    assert_eq!(entries[0].load, Some(LoadMode::Script));
}

/// Wrapper arguments: only for wrappers, `{iterations}` needs iterations,
/// and iterations need a place among the arguments.
#[test]
fn wrapper_arguments_and_their_placeholders_agree() {
    assert_eq!(
        codes(
            r#"[{"script": "login/overall.sh", "args": ["{users}", "{iterations}"]},
                {"script": "login/overall.sh", "iterations": 4},
                {"script": "login/overall.sh", "load": "script"},
                {"script": "smoke.js", "args": ["{users}"]}]"#
        ),
        [
            ("enabledScripts[0].args[1]".into(), ErrorCode::BadArgument),
            (
                "enabledScripts[1].iterations".into(),
                ErrorCode::Inconsistent
            ),
            ("enabledScripts[2].load".into(), ErrorCode::Inconsistent),
            ("enabledScripts[3].args".into(), ErrorCode::BadArgument),
        ]
    );
}

/// A helper module is refused with k6's own reason; a script of its own
/// scenarios is refused under the global load with the way out, and runs
/// with `load: script`.
#[test]
fn what_k6_said_decides_what_can_run() {
    let helper = refused(r#"["lib/config.js"]"#);
    assert_eq!(
        (helper[0].field.as_str(), helper[0].code),
        ("enabledScripts[0]", ErrorCode::NotRunnable)
    );
    assert!(
        helper[0].message.contains("'default' not found"),
        "{}",
        helper[0].message
    );
    assert!(
        helper[0].message.contains("not a test"),
        "{}",
        helper[0].message
    );
    let own = refused(r#"["arrival.js"]"#);
    assert_eq!(own[0].code, ErrorCode::NotRunnable);
    assert!(
        own[0].message.contains("own scenarios (rate)"),
        "{}",
        own[0].message
    );
    assert!(
        own[0].message.contains("\"load\": \"script\""),
        "{}",
        own[0].message
    );
    let module = refused(r#"[{"script": "lib/config.js", "load": "script"}]"#);
    assert_eq!(
        (module[0].field.as_str(), module[0].code),
        ("enabledScripts[0].load", ErrorCode::NotRunnable)
    );
    accepted(r#"[{"script": "arrival.js", "load": "script"}]"#);
}

/// A fresh install enables only the k6 scripts k6 runs under the global
/// load: no helper module, no script of its own scenarios, no wrapper.
#[test]
fn defaults_leave_out_what_cannot_run_under_the_global_load() {
    let defaults = default_config(&catalogue(), &default_policy());
    assert_eq!(defaults.config.enabled_scripts, vec![plain("smoke.js")]);
    assert!(defaults.left_out.is_empty());
}
