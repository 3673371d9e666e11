//! A corpus of hostile and malformed configs, each with the exact fields
//! and codes the core must report: wrong types, huge and negative numbers,
//! Unicode tricks, shell metacharacters, every form of path traversal,
//! control characters, unknown and repeated fields, nested junk and bodies
//! that are not JSON. Valid configs around them must still pass.

use std::collections::BTreeSet;

use k6_core::config::{default_policy, validate};
use k6_core::types::{CatalogueEntry, ErrorCode};

use ErrorCode::*;

fn catalogue() -> Vec<CatalogueEntry> {
    crate::support::catalogue_of(&["smoke.js", "dash/load.js", "legacy/overall-1.sh"])
}

/// A valid body with one field's JSON text replaced.
fn with(field: &str, raw: &str) -> String {
    let fields = [
        ("globalUserCount", "5"),
        ("testDuration", "\"15m\""),
        ("rampUpDuration", "30"),
        ("maxDuration", "1200"),
        ("enabledScripts", "[\"smoke.js\"]"),
        ("intervalBetweenTests", "10"),
    ];
    let body: Vec<String> = fields
        .iter()
        .map(|(name, value)| format!("\"{name}\": {}", if *name == field { raw } else { value }))
        .collect();
    format!("{{{}}}", body.join(", "))
}

/// A valid body with extra members appended (raw JSON text).
fn plus(extra: &str) -> String {
    let valid = with("", "");
    format!("{}, {extra}}}", &valid[..valid.len() - 1])
}

/// A valid body without one field.
fn without(field: &str) -> String {
    with(field, "0")
        .replace(&format!("\"{field}\": 0, "), "")
        .replace(&format!(", \"{field}\": 0"), "")
}

fn scripts(raw: &str) -> String {
    with("enabledScripts", raw)
}

/// One hostile case: a name for failure messages, the body, and every
/// `(field, code)` the core must report, in order.
struct Case {
    name: &'static str,
    body: String,
    expected: Vec<(String, ErrorCode)>,
}

fn case(name: &'static str, body: String, expected: &[(&str, ErrorCode)]) -> Case {
    Case {
        name,
        body,
        expected: expected
            .iter()
            .map(|(f, c)| ((*f).to_owned(), *c))
            .collect(),
    }
}

fn corpus() -> Vec<Case> {
    let s0 = "enabledScripts[0]";
    let mut cases = vec![
        // Wrong types and numbers that do not fit.
        case(
            "users as string",
            with("globalUserCount", "\"5\""),
            &[("globalUserCount", WrongType)],
        ),
        case(
            "users negative",
            with("globalUserCount", "-1"),
            &[("globalUserCount", OutOfRange)],
        ),
        case(
            "users 1e300",
            with("globalUserCount", "1e300"),
            &[("globalUserCount", OutOfRange)],
        ),
        case(
            "users 2^64",
            with("globalUserCount", "18446744073709551616"),
            &[("globalUserCount", OutOfRange)],
        ),
        case(
            "users 2^32",
            with("globalUserCount", "4294967296"),
            &[("globalUserCount", OutOfRange)],
        ),
        case(
            "users below i64",
            with("globalUserCount", "-9223372036854775809"),
            &[("globalUserCount", OutOfRange)],
        ),
        case(
            "users fraction",
            with("globalUserCount", "5.5"),
            &[("globalUserCount", OutOfRange)],
        ),
        case(
            "users tiny fraction",
            with("globalUserCount", "1e-300"),
            &[("globalUserCount", OutOfRange)],
        ),
        case(
            "users boolean",
            with("globalUserCount", "true"),
            &[("globalUserCount", WrongType)],
        ),
        case(
            "users null",
            with("globalUserCount", "null"),
            &[("globalUserCount", WrongType)],
        ),
        case(
            "users array",
            with("globalUserCount", "[5]"),
            &[("globalUserCount", WrongType)],
        ),
        case(
            "users operator object",
            with("globalUserCount", "{\"$gt\": 0}"),
            &[("globalUserCount", WrongType)],
        ),
        case(
            "users hex string",
            with("globalUserCount", "\"0x10\""),
            &[("globalUserCount", WrongType)],
        ),
        // Durations with shell syntax, signs, fractions, look-alikes.
        case(
            "duration with command",
            with("testDuration", "\"1h; rm -rf /\""),
            &[("testDuration", BadDuration)],
        ),
        case(
            "duration substitution",
            with("testDuration", "\"$(reboot)\""),
            &[("testDuration", BadDuration)],
        ),
        case(
            "duration negative",
            with("testDuration", "\"-5m\""),
            &[("testDuration", BadDuration)],
        ),
        case(
            "duration fraction",
            with("testDuration", "\"1.5h\""),
            &[("testDuration", BadDuration)],
        ),
        case(
            "duration fullwidth digit",
            with("testDuration", "\"\u{ff15}m\""),
            &[("testDuration", BadDuration)],
        ),
        case(
            "duration NUL",
            with("testDuration", "\"15m\\u0000\""),
            &[("testDuration", BadDuration)],
        ),
        case(
            "duration newline",
            with("testDuration", "\"15m\\n\""),
            &[("testDuration", BadDuration)],
        ),
        case(
            "duration overflow",
            with("testDuration", "\"99999999999h\""),
            &[("testDuration", BadDuration)],
        ),
        case(
            "duration too long for policy",
            with("testDuration", "\"25h\""),
            &[("testDuration", OutOfRange)],
        ),
        case(
            "duration empty",
            with("testDuration", "\"\""),
            &[("testDuration", BadDuration)],
        ),
        case(
            "duration number",
            with("testDuration", "900"),
            &[("testDuration", WrongType)],
        ),
        case(
            "duration array",
            with("testDuration", "[\"15m\"]"),
            &[("testDuration", WrongType)],
        ),
        case(
            "duration upper-case unit",
            with("testDuration", "\"15M\""),
            &[("testDuration", BadDuration)],
        ),
        case(
            "duration ISO 8601",
            with("testDuration", "\"PT15M\""),
            &[("testDuration", BadDuration)],
        ),
        case(
            "duration milliseconds",
            with("testDuration", "\"900000ms\""),
            &[("testDuration", BadDuration)],
        ),
        // Ramp-up, limit and interval.
        case(
            "ramp-up negative",
            with("rampUpDuration", "-1"),
            &[("rampUpDuration", OutOfRange)],
        ),
        case(
            "ramp-up string",
            with("rampUpDuration", "\"30\""),
            &[("rampUpDuration", WrongType)],
        ),
        case(
            "ramp-up whole test",
            with("rampUpDuration", "900"),
            &[("rampUpDuration", Inconsistent)],
        ),
        case(
            "ramp-up 1e19",
            with("rampUpDuration", "1e19"),
            &[("rampUpDuration", OutOfRange)],
        ),
        case(
            "max zero",
            with("maxDuration", "0"),
            &[("maxDuration", OutOfRange)],
        ),
        case(
            "max below test",
            with("maxDuration", "60"),
            &[("maxDuration", Inconsistent)],
        ),
        case(
            "max 9e15",
            with("maxDuration", "9e15"),
            &[("maxDuration", OutOfRange)],
        ),
        case(
            "interval negative",
            with("intervalBetweenTests", "-5"),
            &[("intervalBetweenTests", OutOfRange)],
        ),
        case(
            "interval a day",
            with("intervalBetweenTests", "86400"),
            &[("intervalBetweenTests", OutOfRange)],
        ),
        case(
            "interval duration string",
            with("intervalBetweenTests", "\"5s\""),
            &[("intervalBetweenTests", WrongType)],
        ),
        // The script list itself.
        case(
            "scripts as string",
            scripts("\"smoke.js\""),
            &[("enabledScripts", WrongType)],
        ),
        case(
            "scripts null",
            scripts("null"),
            &[("enabledScripts", WrongType)],
        ),
        case(
            "scripts as object",
            scripts("{\"0\": \"smoke.js\"}"),
            &[("enabledScripts", WrongType)],
        ),
        case(
            "scripts mixed types",
            scripts("[\"smoke.js\", 42, null, [\"a.js\"]]"),
            &[
                ("enabledScripts[1]", WrongType),
                ("enabledScripts[2]", WrongType),
                ("enabledScripts[3]", WrongType),
            ],
        ),
        case(
            "script object with repeated keys",
            scripts("[{\"name\": \"smoke.js\", \"name\": \"x\"}]"),
            &[
                ("enabledScripts[0].script", MissingField),
                ("enabledScripts[0].name", UnknownField),
            ],
        ),
        // Path traversal in every form.
        case("dot-dot", scripts("[\"..\"]"), &[(s0, BadScriptName)]),
        case(
            "dot-dot passwd",
            scripts("[\"../../etc/passwd\"]"),
            &[(s0, BadScriptName)],
        ),
        case(
            "dot-dot in the middle",
            scripts("[\"a/../../b.js\"]"),
            &[(s0, BadScriptName)],
        ),
        case(
            "dot-dot after a real folder",
            scripts("[\"legacy/../smoke.js\"]"),
            &[(s0, BadScriptName)],
        ),
        case(
            "absolute",
            scripts("[\"/etc/passwd\"]"),
            &[(s0, BadScriptName)],
        ),
        case(
            "absolute js",
            scripts("[\"/srv/scripts/smoke.js\"]"),
            &[(s0, BadScriptName)],
        ),
        case(
            "backslash traversal",
            scripts("[\"\\\\..\\\\evil.js\"]"),
            &[(s0, BadScriptName)],
        ),
        case(
            "url-encoded dots",
            scripts("[\"%2e%2e/evil.js\"]"),
            &[(s0, BadScriptName)],
        ),
        case(
            "dot slash",
            scripts("[\"./smoke.js\"]"),
            &[(s0, BadScriptName)],
        ),
        case(
            "fullwidth dots and slash",
            scripts("[\"\u{ff0e}\u{ff0e}\u{ff0f}smoke.js\"]"),
            &[(s0, BadScriptName)],
        ),
        case(
            "fullwidth suffix dot",
            scripts("[\"smoke\u{ff0e}js\"]"),
            &[(s0, BadScriptName)],
        ),
        case(
            "trailing slash",
            scripts("[\"legacy/\"]"),
            &[(s0, BadScriptName)],
        ),
        case(
            "empty folder",
            scripts("[\"legacy//overall-1.sh\"]"),
            &[(s0, BadScriptName)],
        ),
        case(
            "hidden file",
            scripts("[\".env.js\"]"),
            &[(s0, BadScriptName)],
        ),
        case(
            "hidden folder",
            scripts("[\"legacy/.git/x.sh\"]"),
            &[(s0, BadScriptName)],
        ),
        // Control characters and invisible tricks.
        case(
            "NUL inside",
            scripts("[\"smoke.js\\u0000.sh\"]"),
            &[(s0, BadScriptName)],
        ),
        case(
            "newline at end",
            scripts("[\"smoke.js\\n\"]"),
            &[(s0, BadScriptName)],
        ),
        case(
            "escape sequence",
            scripts("[\"\\u001b[2Jsmoke.js\"]"),
            &[(s0, BadScriptName)],
        ),
        case(
            "right-to-left override",
            scripts("[\"smoke\u{202e}sj.sh\"]"),
            &[(s0, BadScriptName)],
        ),
        case(
            "zero-width space",
            scripts("[\"smo\u{200b}ke.js\"]"),
            &[(s0, BadScriptName)],
        ),
        case(
            "Cyrillic look-alike",
            scripts("[\"sm\u{43e}ke.js\"]"),
            &[(s0, BadScriptName)],
        ),
        case(
            "accented letter",
            scripts("[\"caf\u{e9}.js\"]"),
            &[(s0, BadScriptName)],
        ),
        case(
            "trailing space",
            scripts("[\"smoke.js \"]"),
            &[(s0, BadScriptName)],
        ),
        case("empty name", scripts("[\"\"]"), &[(s0, BadScriptName)]),
        // Shell metacharacters and option injection.
        case(
            "command after semicolon",
            scripts("[\"smoke.js;rm -rf /\"]"),
            &[(s0, BadScriptName)],
        ),
        case(
            "command substitution",
            scripts("[\"$(touch /tmp/pwned).js\"]"),
            &[(s0, BadScriptName)],
        ),
        case(
            "backticks",
            scripts("[\"`id`.js\"]"),
            &[(s0, BadScriptName)],
        ),
        case("pipe", scripts("[\"smoke.js|sh\"]"), &[(s0, BadScriptName)]),
        case(
            "redirect",
            scripts("[\"smoke.js>/etc/passwd\"]"),
            &[(s0, BadScriptName)],
        ),
        case("glob", scripts("[\"*.js\"]"), &[(s0, BadScriptName)]),
        case(
            "single quote",
            scripts("[\"smoke'.js\"]"),
            &[(s0, BadScriptName)],
        ),
        case(
            "option injection",
            scripts("[\"-rf.js\"]"),
            &[(s0, BadScriptName)],
        ),
        case(
            "long option",
            scripts("[\"--help\"]"),
            &[(s0, BadScriptName)],
        ),
        case(
            "option in a folder",
            scripts("[\"legacy/--exec=x.sh\"]"),
            &[(s0, BadScriptName)],
        ),
        // Suffixes, the catalogue.
        case(
            "python script",
            scripts("[\"smoke.py\"]"),
            &[(s0, SuffixNotAllowed)],
        ),
        case(
            "no suffix",
            scripts("[\"smoke\"]"),
            &[(s0, SuffixNotAllowed)],
        ),
        case(
            "upper-case suffix",
            scripts("[\"smoke.JS\"]"),
            &[(s0, SuffixNotAllowed)],
        ),
        case(
            "double suffix",
            scripts("[\"smoke.js.exe\"]"),
            &[(s0, SuffixNotAllowed)],
        ),
        // Entry objects: names and values that must never reach a command
        // line or an environment.
        case(
            "entry without a script",
            scripts("[{\"users\": 5}]"),
            &[("enabledScripts[0].script", MissingField)],
        ),
        case(
            "entry with a traversing script",
            scripts("[{\"script\": \"../../etc/passwd.js\"}]"),
            &[("enabledScripts[0].script", BadScriptName)],
        ),
        case(
            "entry field repeated",
            scripts("[{\"script\": \"smoke.js\", \"users\": 1, \"users\": 900}]"),
            &[("enabledScripts[0].users", DuplicateField)],
        ),
        case(
            "entry with an unknown field",
            scripts("[{\"script\": \"smoke.js\", \"command\": \"rm -rf /\"}]"),
            &[("enabledScripts[0].command", UnknownField)],
        ),
        case(
            "env name with a dash",
            scripts("[{\"script\": \"smoke.js\", \"env\": {\"A-B\": \"x\"}}]"),
            &[("enabledScripts[0].env.A-B", BadEnv)],
        ),
        case(
            "env overriding PATH",
            scripts("[{\"script\": \"legacy/overall-1.sh\", \"env\": {\"PATH\": \"/tmp\"}}]"),
            &[("enabledScripts[0].env.PATH", BadEnv)],
        ),
        case(
            "env preloading a library",
            scripts(
                "[{\"script\": \"legacy/overall-1.sh\", \"env\": {\"LD_PRELOAD\": \"/tmp/x.so\"}}]",
            ),
            &[("enabledScripts[0].env.LD_PRELOAD", BadEnv)],
        ),
        case(
            "env reaching for the runner's tokens",
            scripts(
                "[{\"script\": \"smoke.js\", \"env\": {\"K6_RUNNER_TOKENS\": \"a:operator:b\"}}]",
            ),
            &[("enabledScripts[0].env.K6_RUNNER_TOKENS", BadEnv)],
        ),
        case(
            "env value with a newline",
            scripts("[{\"script\": \"smoke.js\", \"env\": {\"A\": \"x\\ny\"}}]"),
            &[("enabledScripts[0].env.A", BadEnv)],
        ),
        case(
            "env value not a string",
            scripts("[{\"script\": \"smoke.js\", \"env\": {\"A\": 1}}]"),
            &[("enabledScripts[0].env.A", WrongType)],
        ),
        case(
            "wrapper argument substituting a command",
            scripts("[{\"script\": \"legacy/overall-1.sh\", \"args\": [\"$(id)\"]}]"),
            &[("enabledScripts[0].args[0]", BadArgument)],
        ),
        case(
            "wrapper argument with a semicolon",
            scripts("[{\"script\": \"legacy/overall-1.sh\", \"args\": [\"6h;reboot\"]}]"),
            &[("enabledScripts[0].args[0]", BadArgument)],
        ),
        case(
            "wrapper argument with a made-up placeholder",
            scripts("[{\"script\": \"legacy/overall-1.sh\", \"args\": [\"{home}\"]}]"),
            &[("enabledScripts[0].args[0]", BadArgument)],
        ),
        case(
            "wrapper arguments for a k6 script",
            scripts("[{\"script\": \"smoke.js\", \"args\": [\"x\"]}]"),
            &[("enabledScripts[0].args", BadArgument)],
        ),
        case(
            "entry users below one",
            scripts("[{\"script\": \"smoke.js\", \"users\": -1}]"),
            &[("enabledScripts[0].users", OutOfRange)],
        ),
        case(
            "entry of the wrong type",
            scripts("[[\"smoke.js\"]]"),
            &[(s0, WrongType)],
        ),
        case(
            "not in catalogue",
            scripts("[\"nope.js\"]"),
            &[(s0, UnknownScript)],
        ),
        case(
            "case differs from catalogue",
            scripts("[\"Smoke.js\"]"),
            &[(s0, UnknownScript)],
        ),
        // Unknown and repeated fields.
        case(
            "unknown field",
            plus("\"users\": 5"),
            &[("users", UnknownField)],
        ),
        case(
            "prototype pollution",
            plus("\"__proto__\": {\"admin\": true}"),
            &[("__proto__", UnknownField)],
        ),
        case(
            "key with trailing space",
            plus("\"globalUserCount \": 5"),
            &[("globalUserCount ", UnknownField)],
        ),
        case(
            "key with NUL",
            plus("\"\\u0000\": 1"),
            &[("\\u{0000}", UnknownField)],
        ),
        case(
            "look-alike key",
            with("globalUserCount", "5")
                .replace("\"globalUserCount\"", "\"globalUserC\u{43e}unt\""),
            &[
                ("globalUserCount", MissingField),
                ("globalUserC\u{43e}unt", UnknownField),
            ],
        ),
        case(
            "repeated users",
            plus("\"globalUserCount\": 5000"),
            &[("globalUserCount", DuplicateField)],
        ),
        case(
            "repeated scripts",
            plus("\"enabledScripts\": [\"../x.js\"]"),
            &[("enabledScripts", DuplicateField)],
        ),
        case(
            "repeated unknown",
            plus("\"x\": 1, \"x\": 2"),
            &[("x", UnknownField)],
        ),
        case(
            "missing duration",
            without("testDuration"),
            &[("testDuration", MissingField)],
        ),
        case(
            "empty object",
            "{}".to_owned(),
            &[
                ("globalUserCount", MissingField),
                ("testDuration", MissingField),
                ("rampUpDuration", MissingField),
                ("maxDuration", MissingField),
                ("enabledScripts", MissingField),
                ("intervalBetweenTests", MissingField),
            ],
        ),
        // Bodies that are not a JSON object.
        case(
            "form encoding",
            "globalUserCount=5&testDuration=15m".to_owned(),
            &[("", MalformedJson)],
        ),
        case("empty body", String::new(), &[("", MalformedJson)]),
        case(
            "whitespace body",
            " \n\t ".to_owned(),
            &[("", MalformedJson)],
        ),
        case("null body", "null".to_owned(), &[("", NotAnObject)]),
        case("string body", "\"config\"".to_owned(), &[("", NotAnObject)]),
        case(
            "array body",
            format!("[{}]", with("", "")),
            &[("", NotAnObject)],
        ),
        case(
            "trailing command",
            format!("{} ;rm -rf /", with("", "")),
            &[("", MalformedJson)],
        ),
        case(
            "two objects",
            format!("{0}{0}", with("", "")),
            &[("", MalformedJson)],
        ),
        case(
            "comment",
            with("globalUserCount", "5 /* users */"),
            &[("", MalformedJson)],
        ),
        case(
            "single quotes",
            with("testDuration", "'15m'"),
            &[("", MalformedJson)],
        ),
        case(
            "NaN",
            with("globalUserCount", "NaN"),
            &[("", MalformedJson)],
        ),
        case(
            "infinite number",
            with("globalUserCount", "1e400"),
            &[("", MalformedJson)],
        ),
        case(
            "leading plus",
            with("globalUserCount", "+5"),
            &[("", MalformedJson)],
        ),
        case(
            "byte order mark",
            format!("\u{feff}{}", with("", "")),
            &[("", MalformedJson)],
        ),
        case(
            "deep nesting",
            with(
                "globalUserCount",
                &format!("{}{}", "[".repeat(5000), "]".repeat(5000)),
            ),
            &[("", MalformedJson)],
        ),
        case(
            "lone surrogate",
            with("testDuration", "\"\\ud800\""),
            &[("", MalformedJson)],
        ),
        case(
            "raw control character in string",
            with("testDuration", "\"15m\u{1}\""),
            &[("", MalformedJson)],
        ),
    ];

    let long_name = format!("[\"{}.js\"]", "a".repeat(300));
    cases.push(case(
        "name too long",
        scripts(&long_name),
        &[(s0, BadScriptName)],
    ));
    let long_key = "k".repeat(10_000);
    let shown_key = format!("{}…(10000 bytes)", "k".repeat(48));
    cases.push(case(
        "very long key",
        plus(&format!("\"{long_key}\": 1")),
        &[(&shown_key, UnknownField)],
    ));
    let fifty_one = format!("[{}]", vec!["\"smoke.js\""; 51].join(", "));
    let expected = vec![("enabledScripts".to_owned(), TooManyScripts)];
    cases.push(Case {
        name: "fifty-one scripts",
        body: scripts(&fifty_one),
        expected,
    });
    cases
}

/// Every hostile config is refused with exactly the expected fields and
/// codes, each with a message.
#[test]
fn hostile_configs_are_refused_precisely() {
    let cases = corpus();
    let distinct: BTreeSet<&str> = cases.iter().map(|c| c.body.as_str()).collect();
    assert_eq!(distinct.len(), cases.len(), "every case is a distinct body");
    assert!(cases.len() >= 60, "only {} cases", cases.len());

    let mut failures = Vec::new();
    for case in &cases {
        match validate(&case.body, &default_policy(), &catalogue()) {
            Ok(cfg) => failures.push(format!("{}: accepted as {cfg:?}", case.name)),
            Err(errors) => {
                let got: Vec<(String, ErrorCode)> =
                    errors.iter().map(|e| (e.field.clone(), e.code)).collect();
                if got != case.expected {
                    failures.push(format!(
                        "{}: expected {:?}, got {errors:?}",
                        case.name, case.expected
                    ));
                }
                if let Some(e) = errors.iter().find(|e| e.message.is_empty()) {
                    failures.push(format!("{}: empty message for {}", case.name, e.field));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases wrong:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// No message repeats a raw control character or an invisible format
/// character from the input, so reports cannot forge log lines or flip
/// text direction.
#[test]
fn messages_never_carry_raw_control_or_format_characters() {
    for case in corpus() {
        if let Err(errors) = validate(&case.body, &default_policy(), &catalogue()) {
            for error in errors {
                for text in [&error.field, &error.message] {
                    assert!(
                        !text.chars().any(|c| c.is_control() || is_format(c)),
                        "{}: {text:?}",
                        case.name
                    );
                }
            }
        }
    }
}

/// Zero-width, direction and other invisible format characters.
fn is_format(c: char) -> bool {
    matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}')
}

/// The valid configs the corpus is built around pass, including ones at the
/// edges of every rule.
#[test]
fn valid_configs_around_the_corpus_pass() {
    for body in [
        with("", ""),
        with("enabledScripts", "[]"),
        with(
            "enabledScripts",
            "[\"legacy/overall-1.sh\", \"dash/load.js\", \"smoke.js\"]",
        ),
        with("globalUserCount", "1000"),
        with("globalUserCount", "1.0"),
        with("rampUpDuration", "0"),
        with("intervalBetweenTests", "3600"),
        with("testDuration", "\"14m60s\""),
        format!(" \n{}\n ", with("", "")),
        with("", "").replace(", ", ",\n\t"),
    ] {
        assert!(
            validate(&body, &default_policy(), &catalogue()).is_ok(),
            "{body}"
        );
    }
}
