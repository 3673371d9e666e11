//! Config defaults, validation and canonical JSON, told from the operator's
//! side: what is accepted, what is refused with which message, in which
//! order, and that the canonical JSON reads back unchanged.

use crate::support::{catalogue_of, entry, plain_all};
use k6_core::config::{default_config, default_policy, to_json, validate};
use k6_core::types::{CatalogueEntry, Config, ErrorCode, FieldError, Policy};
use proptest::prelude::*;
use serde::Serialize;

fn catalogue() -> Vec<CatalogueEntry> {
    catalogue_of(&["a.js", "b.js", "legacy/overall-1.sh", "smoke.js"])
}

fn check(json: &str) -> Result<Config, Vec<FieldError>> {
    validate(json, &default_policy(), &catalogue())
}

fn errors(json: &str) -> Vec<FieldError> {
    check(json).expect_err("the config should be refused")
}

/// `(field, code)` of every error, in report order.
fn codes(json: &str) -> Vec<(String, ErrorCode)> {
    errors(json)
        .into_iter()
        .map(|e| (e.field, e.code))
        .collect()
}

fn message_of(json: &str, field: &str) -> String {
    errors(json)
        .into_iter()
        .find(|e| e.field == field)
        .map(|e| e.message)
        .unwrap_or_else(|| panic!("no error for {field} in {json}"))
}

/// A valid body with one field replaced by raw JSON text.
fn with(field: &str, raw: &str) -> String {
    let mut fields = vec![
        ("globalUserCount", "5"),
        ("testDuration", "\"15m\""),
        ("rampUpDuration", "30"),
        ("maxDuration", "1200"),
        ("enabledScripts", "[\"smoke.js\"]"),
        ("intervalBetweenTests", "10"),
    ];
    for (name, value) in &mut fields {
        if *name == field {
            *value = raw;
        }
    }
    let body: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("\"{k}\": {v}"))
        .collect();
    format!("{{{}}}", body.join(", "))
}

#[test]
fn default_policy_matches_the_wit() {
    assert_eq!(
        default_policy(),
        Policy {
            max_users: 1_000,
            max_test_duration_seconds: 86_400,
            max_step_seconds: 90_000,
            max_interval_seconds: 3_600,
            max_enabled_scripts: 50,
            max_script_name_bytes: 255,
            allowed_suffixes: vec![".js".into(), ".mjs".into(), ".ts".into(), ".sh".into()],
            max_iterations: 1_000_000,
        }
    );
}

/// A fresh install enables every k6 script in catalogue order, not the
/// legacy wrappers, and its config passes the default policy.
#[test]
fn default_config_enables_k6_scripts_only() {
    let cfg = default_config(&catalogue(), &default_policy()).config;
    assert_eq!(
        cfg,
        Config {
            global_user_count: 5,
            test_duration_seconds: 30,
            ramp_up_seconds: 5,
            max_duration_seconds: 120,
            enabled_scripts: plain_all(&["a.js", "b.js", "smoke.js"]),
            interval_seconds: 5,
            regression_budgets: None,
        }
    );
    assert_eq!(
        validate(&to_json(&cfg), &default_policy(), &catalogue()),
        Ok(cfg)
    );
    assert!(
        default_config(&[], &default_policy())
            .config
            .enabled_scripts
            .is_empty()
    );
}

/// With more k6 scripts than the default policy allows, the default config
/// enables the first 50 so that it stays valid.
/// Where a host's policy is tighter than the defaults, the defaults are
/// lowered to fit it, so that a fresh install or a reset never holds a
/// config the same policy refuses.
#[test]
fn default_config_fits_a_tighter_policy() {
    let tight = Policy {
        max_users: 3,
        max_test_duration_seconds: 10,
        max_step_seconds: 20,
        max_interval_seconds: 1,
        max_enabled_scripts: 2,
        ..default_policy()
    };
    let cfg = default_config(&catalogue(), &tight).config;
    assert_eq!(
        cfg,
        Config {
            global_user_count: 3,
            test_duration_seconds: 10,
            ramp_up_seconds: 5,
            max_duration_seconds: 20,
            enabled_scripts: plain_all(&["a.js", "b.js"]),
            interval_seconds: 1,
            regression_budgets: None,
        }
    );
    assert_eq!(validate(&to_json(&cfg), &tight, &catalogue()), Ok(cfg));
}

#[test]
fn default_config_stays_within_the_default_policy() {
    let many: Vec<CatalogueEntry> = (0..60).map(|i| entry(&format!("s{i:02}.js"))).collect();
    let defaults = default_config(&many, &default_policy());
    let cfg = defaults.config;
    assert_eq!(cfg.enabled_scripts.len(), 50);
    assert_eq!(cfg.enabled_scripts[49].script, "s49.js");
    // The ones left out are named, so the host can tell the operator.
    let left_out: Vec<String> = (50..60).map(|i| format!("s{i:02}.js")).collect();
    assert_eq!(defaults.left_out, left_out);
    assert!(validate(&to_json(&cfg), &default_policy(), &many).is_ok());
}

#[test]
fn accepts_the_wit_example() {
    let cfg = check(
        r#"{"globalUserCount": 5, "testDuration": "15m", "rampUpDuration": 30,
            "maxDuration": 1200, "enabledScripts": ["smoke.js"],
            "intervalBetweenTests": 10}"#,
    );
    assert_eq!(
        cfg,
        Ok(Config {
            global_user_count: 5,
            test_duration_seconds: 900,
            ramp_up_seconds: 30,
            max_duration_seconds: 1200,
            enabled_scripts: plain_all(&["smoke.js"]),
            interval_seconds: 10,
            regression_budgets: None,
        })
    );
}

/// The limits themselves are allowed; one past them is not.
#[test]
fn accepts_every_boundary() {
    let ok = [
        with("globalUserCount", "1"),
        with("globalUserCount", "1000"),
        with("testDuration", "\"24h\"").replace("1200", "86405"),
        with("rampUpDuration", "0"),
        with("rampUpDuration", "899"),
        with("maxDuration", "905"),
        with("maxDuration", "90000"),
        with("intervalBetweenTests", "0"),
        with("intervalBetweenTests", "3600"),
        with("enabledScripts", "[]"),
        with(
            "enabledScripts",
            r#"["a.js", "legacy/overall-1.sh", "smoke.js"]"#,
        ),
    ];
    for body in ok {
        assert!(check(&body).is_ok(), "{body}: {:?}", check(&body));
    }
    let refused = [
        (
            with("globalUserCount", "0"),
            "globalUserCount",
            ErrorCode::OutOfRange,
        ),
        (
            with("globalUserCount", "1001"),
            "globalUserCount",
            ErrorCode::OutOfRange,
        ),
        (
            with("testDuration", "\"24h1s\""),
            "testDuration",
            ErrorCode::OutOfRange,
        ),
        (
            with("rampUpDuration", "900"),
            "rampUpDuration",
            ErrorCode::Inconsistent,
        ),
        (
            // testDuration + 4 s: too little time for k6 to finish.
            with("maxDuration", "904"),
            "maxDuration",
            ErrorCode::Inconsistent,
        ),
        (
            with("maxDuration", "90001"),
            "maxDuration",
            ErrorCode::OutOfRange,
        ),
        (
            with("intervalBetweenTests", "3601"),
            "intervalBetweenTests",
            ErrorCode::OutOfRange,
        ),
    ];
    for (body, field, code) in refused {
        assert_eq!(codes(&body), vec![(field.to_owned(), code)], "{body}");
    }
}

/// JSON has one number type: a whole number written with a fraction part
/// or an exponent is that whole number; a real fraction is not whole.
#[test]
fn whole_numbers_may_be_written_as_floats() {
    assert_eq!(
        check(&with("globalUserCount", "5.0"))
            .unwrap()
            .global_user_count,
        5
    );
    assert_eq!(
        check(&with("globalUserCount", "5e2"))
            .unwrap()
            .global_user_count,
        500
    );
    assert_eq!(
        check(&with("rampUpDuration", "-0"))
            .unwrap()
            .ramp_up_seconds,
        0
    );
    assert_eq!(
        check(&with("rampUpDuration", "-0.0"))
            .unwrap()
            .ramp_up_seconds,
        0
    );
    assert_eq!(
        message_of(&with("globalUserCount", "5.5"), "globalUserCount"),
        "globalUserCount must be a whole number of users from 1 to 1000, got 5.5"
    );
}

/// Messages name the field, the value and the rule.
#[test]
fn messages_name_field_value_and_rule() {
    let cases = [
        (
            with("globalUserCount", "\"5\""),
            "globalUserCount",
            "globalUserCount must be a whole number, got the string \"5\"",
        ),
        (
            with("globalUserCount", "-3"),
            "globalUserCount",
            "globalUserCount must be a whole number of users from 1 to 1000, got -3",
        ),
        (
            with("globalUserCount", "18446744073709551616"),
            "globalUserCount",
            "globalUserCount must be a whole number of users from 1 to 1000, got 1.8446744073709552e+19",
        ),
        (
            with("maxDuration", "1e300"),
            "maxDuration",
            "maxDuration must be a whole number of seconds from 1 to 90000, got 1e+300",
        ),
        (
            with("rampUpDuration", "100000"),
            "rampUpDuration",
            "rampUpDuration must be a whole number of seconds from 0 to 86399 (shorter than testDuration), got 100000",
        ),
        (
            with("rampUpDuration", "900"),
            "rampUpDuration",
            "rampUpDuration must be shorter than testDuration (900 s), got 900 s; the users would never all run",
        ),
        (
            with("maxDuration", "600"),
            "maxDuration",
            "maxDuration must be at least testDuration (900 s) + 5 s = 905 s, got 600 s; k6 needs that time to start, finish its last iterations and write its summary, or every script would be stopped and fail",
        ),
        (
            with("testDuration", "900"),
            "testDuration",
            "testDuration must be a duration string such as \"15m\" or \"1h30m\", got the number 900; write \"15m\" for 900 seconds",
        ),
        (
            with("testDuration", "\"90\""),
            "testDuration",
            "testDuration \"90\" is a plain number; add a unit: 30s, 15m, 6h or 1h30m",
        ),
        (
            with("testDuration", "\"30m1h\""),
            "testDuration",
            "testDuration \"30m1h\" has 'h' after 'm'; write hours, then minutes, then seconds, as in 1h30m15s",
        ),
        (
            with("testDuration", "\"0s\""),
            "testDuration",
            "testDuration must be from 1s to 24h (86400 s), got \"0s\" (0 s)",
        ),
        (
            with("testDuration", "\"48h\""),
            "testDuration",
            "testDuration must be from 1s to 24h (86400 s), got \"48h\" (172800 s)",
        ),
        (
            with("enabledScripts", "\"smoke.js\""),
            "enabledScripts",
            "enabledScripts must be an array of script names or entries such as {\"script\": \"smoke.js\", \"users\": 10}, got the string \"smoke.js\"",
        ),
        (
            with("enabledScripts", "[\"smoke.js\", 7]"),
            "enabledScripts[1]",
            "enabledScripts[1] must be a script name (a string) or an entry object such as {\"script\": \"smoke.js\", \"users\": 10}, got the number 7",
        ),
        (
            with("enabledScripts", "[\"../x.js\"]"),
            "enabledScripts[0]",
            "enabledScripts[0] \"../x.js\" climbs out of its directory with '..'",
        ),
        (
            with("enabledScripts", "[\"x.py\"]"),
            "enabledScripts[0]",
            "enabledScripts[0] \"x.py\" has the suffix '.py', which is not allowed; allowed: .js, .mjs, .ts, .sh",
        ),
        (
            with("enabledScripts", "[\"smoke2.js\"]"),
            "enabledScripts[0]",
            "enabledScripts[0] \"smoke2.js\" is not in the catalogue of allowlisted scripts; known scripts: a.js, b.js, legacy/overall-1.sh, smoke.js",
        ),
        (
            with("intervalBetweenTests", "null"),
            "intervalBetweenTests",
            "intervalBetweenTests must be a whole number, got null",
        ),
        (
            with("intervalBetweenTests", "[1]"),
            "intervalBetweenTests",
            "intervalBetweenTests must be a whole number, got an array of 1 item",
        ),
        (
            with("intervalBetweenTests", "{}"),
            "intervalBetweenTests",
            "intervalBetweenTests must be a whole number, got an object",
        ),
        (
            with("intervalBetweenTests", "true"),
            "intervalBetweenTests",
            "intervalBetweenTests must be a whole number, got the boolean true",
        ),
    ];
    for (body, field, message) in cases {
        assert_eq!(message_of(&body, field), message, "{body}");
    }
}

#[test]
fn whole_body_problems() {
    assert_eq!(
        errors("{\"globalUserCount\": 5,"),
        vec![FieldError {
            field: String::new(),
            code: ErrorCode::MalformedJson,
            message: "the body is not valid JSON: EOF while parsing a value at line 1, column 22"
                .into(),
        }]
    );
    assert_eq!(
        errors("[1, 2]"),
        vec![FieldError {
            field: String::new(),
            code: ErrorCode::NotAnObject,
            message: "the config must be a JSON object of fields such as {\"globalUserCount\": 5, …}, got an array of 2 items".into(),
        }]
    );
}

/// Missing fields say what they must hold.
#[test]
fn missing_fields_state_their_rule() {
    let all = errors("{}");
    let got: Vec<(&str, ErrorCode, &str)> = all
        .iter()
        .map(|e| (e.field.as_str(), e.code, e.message.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "globalUserCount",
                ErrorCode::MissingField,
                "globalUserCount is missing; it is required: a whole number of users from 1 to 1000"
            ),
            (
                "testDuration",
                ErrorCode::MissingField,
                "testDuration is missing; it is required: a duration such as \"15m\" or \"1h30m\", from 1s to 24h"
            ),
            (
                "rampUpDuration",
                ErrorCode::MissingField,
                "rampUpDuration is missing; it is required: a whole number of seconds shorter than testDuration (0 for no ramp-up)"
            ),
            (
                "maxDuration",
                ErrorCode::MissingField,
                "maxDuration is missing; it is required: a whole number of seconds from testDuration + 5 to 90000"
            ),
            (
                "enabledScripts",
                ErrorCode::MissingField,
                "enabledScripts is missing; it is required: an array of script names or entries, such as [\"smoke.js\", {\"script\": \"smoke.js\", \"users\": 50}]"
            ),
            (
                "intervalBetweenTests",
                ErrorCode::MissingField,
                "intervalBetweenTests is missing; it is required: a whole number of seconds from 0 to 3600"
            ),
        ]
    );
}

/// Unknown fields are named, the known ones listed, and a near miss gets a
/// suggestion.
#[test]
fn unknown_fields_are_named_with_the_known_ones() {
    let body = with(
        "intervalBetweenTests",
        "10 , \"global_user_count\": 5, \"zzz\": 1",
    );
    let unknown: Vec<FieldError> = errors(&body);
    assert_eq!(
        unknown
            .iter()
            .map(|e| e.message.as_str())
            .collect::<Vec<_>>(),
        vec![
            "unknown field \"global_user_count\" (did you mean globalUserCount?); the config has only the fields globalUserCount, testDuration, rampUpDuration, maxDuration, enabledScripts, intervalBetweenTests and regressionBudgets",
            "unknown field \"zzz\"; the config has only the fields globalUserCount, testDuration, rampUpDuration, maxDuration, enabledScripts, intervalBetweenTests and regressionBudgets",
        ]
    );
}

/// A body of junk keys gets a bounded report: twenty named, one counting
/// the rest.
#[test]
fn many_unknown_fields_are_counted_not_listed() {
    let junk: Vec<String> = (0..500).map(|i| format!("\"junk{i:03}\": 0")).collect();
    let body = with("intervalBetweenTests", &format!("10, {}", junk.join(", ")));
    let all = errors(&body);
    assert_eq!(all.len(), 21);
    assert_eq!(all[0].field, "junk000");
    assert_eq!(all[20].field, "");
    assert_eq!(all[20].code, ErrorCode::UnknownField);
    assert!(
        all[20].message.starts_with("480 more unknown fields;"),
        "{}",
        all[20].message
    );
}

/// Every problem is reported at once, in field order, unknown fields last.
#[test]
fn every_problem_at_once_in_field_order() {
    let body = r#"{"zeta": 1, "intervalBetweenTests": -1, "enabledScripts": ["a b.js", "nope.js", 3],
        "maxDuration": "120", "rampUpDuration": 1.5, "testDuration": "1.5h", "globalUserCount": 0,
        "alpha": 2}"#;
    assert_eq!(
        codes(body),
        vec![
            ("globalUserCount".into(), ErrorCode::OutOfRange),
            ("testDuration".into(), ErrorCode::BadDuration),
            ("rampUpDuration".into(), ErrorCode::OutOfRange),
            ("maxDuration".into(), ErrorCode::WrongType),
            ("enabledScripts[0]".into(), ErrorCode::BadScriptName),
            ("enabledScripts[1]".into(), ErrorCode::UnknownScript),
            ("enabledScripts[2]".into(), ErrorCode::WrongType),
            ("intervalBetweenTests".into(), ErrorCode::OutOfRange),
            ("alpha".into(), ErrorCode::UnknownField),
            ("zeta".into(), ErrorCode::UnknownField),
        ]
    );
}

/// A repeated field is ambiguous: it is reported and neither value is
/// used, while the other fields are still checked.
#[test]
fn repeated_fields_are_reported_with_the_rest() {
    let body = r#"{"globalUserCount": 5, "globalUserCount": 5000, "testDuration": "15m",
        "rampUpDuration": 30, "maxDuration": 1200, "enabledScripts": ["smoke.js"],
        "intervalBetweenTests": 99999, "intervalBetweenTests": 1}"#;
    let all = errors(body);
    assert_eq!(
        all,
        vec![
            FieldError {
                field: "globalUserCount".into(),
                code: ErrorCode::DuplicateField,
                message: "globalUserCount appears more than once; give each field once".into(),
            },
            FieldError {
                field: "intervalBetweenTests".into(),
                code: ErrorCode::DuplicateField,
                message: "intervalBetweenTests appears more than once; give each field once".into(),
            },
        ]
    );
}

/// Values are shown escaped and shortened: a hostile value cannot add a
/// line to a log or flip the text direction of a page.
#[test]
fn shown_values_are_escaped_and_shortened() {
    let long = format!("\"{}\"", "x".repeat(300));
    assert_eq!(
        message_of(&with("testDuration", &long), "testDuration"),
        format!(
            "testDuration \"{}…(300 bytes)\" has 'xxxxxxxxxx…' where a number should be; \
             write a number before each unit, as in 1h30m",
            "x".repeat(48)
        )
    );
    let sneaky = with("enabledScripts", r#"["a\n\u001b[31m\u202eb.js"]"#);
    assert_eq!(
        message_of(&sneaky, "enabledScripts[0]"),
        "enabledScripts[0] \"a\\n\\u{001B}[31m\\u{202E}b.js\" contains a control character (U+000A)"
    );
    let fullwidth = with(
        "enabledScripts",
        r#"["..\uff0f..\uff0fetc\uff0fpasswd.sh"]"#,
    );
    assert_eq!(
        message_of(&fullwidth, "enabledScripts[0]"),
        "enabledScripts[0] \"..\\u{FF0F}..\\u{FF0F}etc\\u{FF0F}passwd.sh\" contains the non-ASCII character U+FF0F"
    );
}

/// More scripts than the policy allows: one error for the list; only the
/// first `max-enabled-scripts` items are checked one by one.
#[test]
fn too_many_scripts() {
    let policy = Policy {
        max_enabled_scripts: 2,
        ..default_policy()
    };
    let body = with(
        "enabledScripts",
        r#"["a.js", "b.js", "smoke.js", "bad name.js"]"#,
    );
    let all = validate(&body, &policy, &catalogue()).unwrap_err();
    assert_eq!(
        all,
        vec![FieldError {
            field: "enabledScripts".into(),
            code: ErrorCode::TooManyScripts,
            message: "enabledScripts lists 4 entries; the policy allows at most 2 (only the first 2 were checked)".into(),
        }]
    );
}

/// A stricter host policy is enforced in full.
#[test]
fn host_policy_is_enforced() {
    let policy = Policy {
        max_users: 10,
        max_test_duration_seconds: 600,
        max_step_seconds: 700,
        max_interval_seconds: 5,
        max_enabled_scripts: 1,
        max_script_name_bytes: 5,
        allowed_suffixes: vec![".js".into()],
        max_iterations: 10,
    };
    let body = r#"{"globalUserCount": 11, "testDuration": "15m", "rampUpDuration": 600,
        "maxDuration": 701, "enabledScripts": ["smoke.js"], "intervalBetweenTests": 6}"#;
    let all = validate(body, &policy, &catalogue()).unwrap_err();
    let got: Vec<(&str, &str)> = all
        .iter()
        .map(|e| (e.field.as_str(), e.message.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "globalUserCount",
                "globalUserCount must be a whole number of users from 1 to 10, got 11"
            ),
            (
                "testDuration",
                "testDuration must be from 1s to 10m (600 s), got \"15m\" (900 s)"
            ),
            (
                "rampUpDuration",
                "rampUpDuration must be a whole number of seconds from 0 to 599 (shorter than testDuration), got 600"
            ),
            (
                "maxDuration",
                "maxDuration must be a whole number of seconds from 1 to 700, got 701"
            ),
            (
                "enabledScripts[0]",
                "enabledScripts[0] \"smoke.js\" is 8 bytes long; the policy allows at most 5"
            ),
            (
                "intervalBetweenTests",
                "intervalBetweenTests must be a whole number of seconds from 0 to 5, got 6"
            ),
        ]
    );
}

/// The canonical text: two-space indent, fields in order, durations as
/// duration strings.
#[test]
fn canonical_json_text() {
    let cfg = Config {
        global_user_count: 10,
        test_duration_seconds: 5_400,
        ramp_up_seconds: 30,
        max_duration_seconds: 6_000,
        enabled_scripts: plain_all(&["smoke.js", "legacy/overall-1.sh"]),
        interval_seconds: 10,
        regression_budgets: None,
    };
    assert_eq!(
        to_json(&cfg),
        r#"{
  "globalUserCount": 10,
  "testDuration": "1h30m",
  "rampUpDuration": 30,
  "maxDuration": 6000,
  "enabledScripts": [
    "smoke.js",
    "legacy/overall-1.sh"
  ],
  "intervalBetweenTests": 10
}"#
    );
    let empty = Config {
        enabled_scripts: Vec::new(),
        ..cfg
    };
    assert!(to_json(&empty).contains("\"enabledScripts\": [],\n"));
}

/// The same document serde_json would write for the fields in order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Canonical<'a> {
    global_user_count: u32,
    test_duration: String,
    ramp_up_duration: u32,
    max_duration: u32,
    enabled_scripts: &'a [String],
    interval_between_tests: u32,
}

fn valid_config() -> impl Strategy<Value = Config> {
    (
        1u32..=1000,
        1u32..=86_400,
        0u32..=90_000,
        0u32..=3_600,
        any::<u64>(),
        0usize..=4,
    )
        .prop_flat_map(|(users, test, extra, interval, seed, count)| {
            let names = ["a.js", "b.js", "legacy/overall-1.sh", "smoke.js"];
            let enabled: Vec<String> = (0..count)
                .map(|i| names[(seed as usize + i) % names.len()].to_owned())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            (0..test).prop_map(move |ramp| Config {
                global_user_count: users,
                test_duration_seconds: test,
                ramp_up_seconds: ramp,
                max_duration_seconds: test.saturating_add(extra).clamp(test + 5, 90_000),
                enabled_scripts: enabled
                    .iter()
                    .map(|name| crate::support::plain(name))
                    .collect(),
                interval_seconds: interval,
                regression_budgets: None,
            })
        })
}

proptest! {
    /// `validate(to_json(c)) == c` for every valid config.
    #[test]
    fn canonical_json_round_trips(cfg in valid_config()) {
        prop_assert_eq!(check(&to_json(&cfg)), Ok(cfg));
    }

    /// The hand-written canonical text is exactly serde_json's pretty form
    /// for entries without settings (written as their names), whatever the
    /// strings hold.
    #[test]
    fn canonical_json_is_serde_json_pretty(cfg in valid_config(), names in prop::collection::vec("\\PC{0,12}|[\\x00-\\x1f\"\\\\]{0,4}", 0..4)) {
        let cfg = Config { enabled_scripts: names.iter().map(|name| crate::support::plain(name)).collect(), ..cfg };
        let expected = serde_json::to_string_pretty(&Canonical {
            global_user_count: cfg.global_user_count,
            test_duration: k6_core::duration::format(cfg.test_duration_seconds),
            ramp_up_duration: cfg.ramp_up_seconds,
            max_duration: cfg.max_duration_seconds,
            enabled_scripts: &names,
            interval_between_tests: cfg.interval_seconds,
        }).unwrap();
        prop_assert_eq!(to_json(&cfg), expected);
    }

    /// Arbitrary text never panics, and a refusal always says something.
    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,80}") {
        if let Err(errors) = check(&text) {
            prop_assert!(!errors.is_empty());
            prop_assert!(errors.iter().all(|e| !e.message.is_empty()));
        }
    }

    /// JSON-ish bodies built from config fragments never panic either.
    #[test]
    fn json_ish_bodies_never_panic(parts in prop::collection::vec(prop_oneof![
        Just("\"globalUserCount\":".to_owned()),
        Just("\"testDuration\":".to_owned()),
        Just("\"rampUpDuration\":".to_owned()),
        Just("\"maxDuration\":".to_owned()),
        Just("\"enabledScripts\":".to_owned()),
        Just("\"intervalBetweenTests\":".to_owned()),
        Just(",".to_owned()), Just("[".to_owned()), Just("]".to_owned()),
        Just("{".to_owned()), Just("}".to_owned()),
        Just("\"smoke.js\"".to_owned()), Just("\"1h30m\"".to_owned()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| f.to_string()),
        "\"\\PC{0,10}\"",
        "-?[0-9]{1,30}(\\.[0-9]{1,5})?(e-?[0-9]{1,4})?",
    ], 0..24)) {
        let body = format!("{{{}}}", parts.concat());
        if let Err(errors) = check(&body) {
            prop_assert!(!errors.is_empty());
        }
    }
}
