//! Script-name rules and the catalogue, as a policy reviewer
//! would check them: every accepted shape, and every refused one with the
//! exact message an operator sees.

use k6_core::config::default_policy;
use k6_core::scripts::{NameError, catalogue, check_name};
use k6_core::types::{
    CatalogueEntry, K6Inspection, K6Probe, Policy, ScriptFile, ScriptKind, TestFacts,
};
use proptest::prelude::*;

fn policy_with_suffixes(suffixes: &[&str]) -> Policy {
    Policy {
        allowed_suffixes: suffixes.iter().map(|s| (*s).to_owned()).collect(),
        ..default_policy()
    }
}

/// Plain relative names with a runnable suffix pass, and the suffix decides
/// how they run.
#[test]
fn accepts_plain_relative_names() {
    let policy = default_policy();
    for (name, kind) in [
        ("smoke.js", ScriptKind::K6Script),
        ("legacy/overall-1.sh", ScriptKind::LegacyWrapper),
        ("a/b/c/D_9.load-test.js", ScriptKind::K6Script),
        ("x..y.js", ScriptKind::K6Script),
        ("a-/b_.sh", ScriptKind::LegacyWrapper),
        ("UPPER.js", ScriptKind::K6Script),
        ("typed.ts", ScriptKind::K6Script),
        ("module.mjs", ScriptKind::K6Script),
    ] {
        assert_eq!(check_name(name, &policy), Ok(kind), "{name}");
    }
}

/// Each rule has its own message; the message completes a sentence that
/// starts with the name.
#[test]
fn refuses_with_precise_messages() {
    let policy = default_policy();
    let long = format!("{}.js", "a".repeat(253));
    for (name, message) in [
        (
            "",
            "is empty; give the script's path relative to its folder, such as smoke.js",
        ),
        (
            long.as_str(),
            "is 256 bytes long; the policy allows at most 255",
        ),
        ("a\u{7}.js", "contains a control character (U+0007)"),
        ("a\n.js", "contains a control character (U+000A)"),
        ("a\0.js", "contains a control character (U+0000)"),
        ("a\u{7f}.js", "contains a control character (U+007F)"),
        ("a b.js", "contains a space"),
        ("a\\b.js", "contains a backslash; separate folders with '/'"),
        ("a;b.js", "contains ';', a shell metacharacter"),
        ("$(x).js", "contains '$', a shell metacharacter"),
        ("`x`.js", "contains '`', a shell metacharacter"),
        ("a'.js", "contains ''', a shell metacharacter"),
        ("a*.js", "contains '*', a shell metacharacter"),
        ("%2e%2e/x.js", "contains '%', a shell metacharacter"),
        (
            "a:b.js",
            "contains ':'; a name may hold only ASCII letters, digits, '.', '_', '-' and '/'",
        ),
        (
            "a+b.js",
            "contains '+'; a name may hold only ASCII letters, digits, '.', '_', '-' and '/'",
        ),
        ("café.js", "contains the non-ASCII character 'é' (U+00E9)"),
        ("a\u{202e}sj.sh", "contains the non-ASCII character U+202E"),
        ("a\u{ff0e}js", "contains the non-ASCII character U+FF0E"),
        ("a\u{a0}b.js", "contains the non-ASCII character U+00A0"),
        (
            "/etc/passwd.js",
            "is absolute; give the path relative to its script folder",
        ),
        ("a/", "ends with '/', which names a folder, not a script"),
        ("a//b.js", "has an empty folder name ('//')"),
        ("..", "climbs out of its directory with '..'"),
        ("../x.js", "climbs out of its directory with '..'"),
        ("a/../../b.js", "climbs out of its directory with '..'"),
        ("./x.js", "has a '.' part ('./'); write the path without it"),
        (
            ".hidden.js",
            "has a part starting with '.' ('.hidden.js'), a hidden file or folder",
        ),
        (
            "a/.git/x.js",
            "has a part starting with '.' ('.git'), a hidden file or folder",
        ),
        (
            "-rf.js",
            "starts with '-' (it would be read as a command-line option)",
        ),
        (
            "a/--help.js",
            "has a part starting with '-' ('--help.js'), which would be read as a command-line option",
        ),
        ("README", "has no suffix; allowed: .js, .mjs, .ts, .sh"),
        (
            "x.py",
            "has the suffix '.py', which is not allowed; allowed: .js, .mjs, .ts, .sh",
        ),
        (
            "x.JS",
            "has the suffix '.JS', which is not allowed; allowed: .js, .mjs, .ts, .sh",
        ),
        (
            "x.js.",
            "has the suffix '.', which is not allowed; allowed: .js, .mjs, .ts, .sh",
        ),
    ] {
        let error = check_name(name, &policy).expect_err(name);
        assert_eq!(error.to_string(), message, "{name:?}");
        assert!(check_name(name, &policy).is_err(), "{name:?}");
    }
}

/// Characters are checked before the path's shape, so a message that quotes
/// a part of the path never quotes a dangerous character.
#[test]
fn characters_are_checked_before_shape() {
    let policy = default_policy();
    assert_eq!(
        check_name("../$(id).js", &policy),
        Err(NameError::ShellMetacharacter('$'))
    );
    assert_eq!(check_name("/a b.js", &policy), Err(NameError::Space));
    assert_eq!(
        check_name(".\n/x.js", &policy),
        Err(NameError::ControlChar('\n'))
    );
}

/// Length is counted in bytes: 255 ASCII bytes pass, and a multi-byte
/// name is measured by its bytes.
#[test]
fn length_is_in_bytes() {
    let policy = default_policy();
    let exact = format!("{}.js", "a".repeat(252));
    assert_eq!(exact.len(), 255);
    assert_eq!(check_name(&exact, &policy), Ok(ScriptKind::K6Script));
    let tight = Policy {
        max_script_name_bytes: 4,
        ..default_policy()
    };
    assert_eq!(
        check_name("ab.js", &tight),
        Err(NameError::TooLong { bytes: 5, max: 4 })
    );
}

/// The policy can narrow the suffixes the core runs, never widen them.
#[test]
fn policy_narrows_suffixes_but_cannot_widen_them() {
    let js_only = policy_with_suffixes(&[".js"]);
    assert_eq!(check_name("a.js", &js_only), Ok(ScriptKind::K6Script));
    assert_eq!(
        check_name("a.sh", &js_only).unwrap_err().to_string(),
        "has the suffix '.sh', which is not allowed; allowed: .js"
    );

    let wide = policy_with_suffixes(&[".py", ".js", ".exe", ".js"]);
    assert_eq!(
        check_name("a.py", &wide).unwrap_err().to_string(),
        "has the suffix '.py', which is not allowed; allowed: .js"
    );
    assert!(check_name("a.exe", &wide).is_err());
    // k6 strips types only for the lower-case `.ts` suffix; any other
    // spelling would be read as plain JavaScript and fail.
    for name in ["a.TS", "a.mts", "a.tsx", "a.cjs"] {
        assert!(check_name(name, &default_policy()).is_err(), "{name}");
    }

    let none = policy_with_suffixes(&[]);
    assert_eq!(
        check_name("a.js", &none).unwrap_err().to_string(),
        "has the suffix '.js', which is not allowed; the policy allows no suffix the core can run"
    );
    assert!(check_name("a.js", &none).unwrap_err().is_suffix());
    assert!(!check_name("a b.js", &none).unwrap_err().is_suffix());
}

fn file(name: &str, path: &str) -> ScriptFile {
    ScriptFile {
        name: name.to_owned(),
        path: path.to_owned(),
        root: "/s1".to_owned(),
        inspection: None,
    }
}

/// The catalogue keeps valid names only, sorted by name, the first of two
/// equal names winning, with the kind from the suffix.
#[test]
fn catalogue_filters_sorts_and_keeps_first() {
    let files = vec![
        file("zeta.js", "/s1/zeta.js"),
        file("legacy/overall-1.sh", "/s1/legacy/overall-1.sh"),
        file("../escape.js", "/etc/escape.js"),
        file("notes.txt", "/s1/notes.txt"),
        file("alpha.js", "/s1/alpha.js"),
        file("zeta.js", "/s2/zeta.js"),
        file("a b.js", "/s1/a b.js"),
        file("Beta.js", "/s2/Beta.js"),
    ];
    let entries = catalogue(files, &default_policy());
    let entry = |name: &str, path: &str, kind| CatalogueEntry {
        name: name.to_owned(),
        path: path.to_owned(),
        root: "/s1".to_owned(),
        kind,
        test: None,
    };
    assert_eq!(
        entries,
        vec![
            entry("Beta.js", "/s2/Beta.js", ScriptKind::K6Script),
            entry("alpha.js", "/s1/alpha.js", ScriptKind::K6Script),
            entry(
                "legacy/overall-1.sh",
                "/s1/legacy/overall-1.sh",
                ScriptKind::LegacyWrapper
            ),
            entry("zeta.js", "/s1/zeta.js", ScriptKind::K6Script),
        ]
    );
    assert!(catalogue(Vec::new(), &default_policy()).is_empty());
}

/// What k6 said about a file decides whether it is a test: a helper module
/// k6 refuses stays in the catalogue marked as not runnable, and a wrapper
/// carries no inspection even if one is given.
#[test]
fn inspections_mark_helper_modules_and_skip_wrappers() {
    let refused = |error: &str| K6Probe {
        exit_code: Some(104),
        document: String::new(),
        error: error.to_owned(),
    };
    let no_default = "executor default: function 'default' not found in exports";
    let inspection = K6Inspection {
        archive: refused(no_default),
        requirements: refused(no_default),
        under_global_load: refused(no_default),
    };
    let mut helper = file("lib/config.js", "/s1/lib/config.js");
    helper.inspection = Some(inspection.clone());
    let mut wrapper = file("run.sh", "/s1/run.sh");
    wrapper.inspection = Some(inspection);
    let entries = catalogue(vec![helper, wrapper], &default_policy());
    let facts: &TestFacts = entries[0].test.as_ref().expect("facts for the module");
    assert!(facts.global_load.as_ref().unwrap_err().contains(no_default));
    assert!(facts.own_load.is_err());
    assert_eq!(entries[1].test, None);
}

proptest! {
    /// No name, however odd, makes the rules panic, and an accepted name is
    /// always made of the allowed characters with an allowed suffix.
    #[test]
    fn any_name_is_judged_without_panic(name in "\\PC{0,40}|[a-z./\\-_ ;$]{0,20}(\\.js|\\.sh)?") {
        let policy = default_policy();
        if let Ok(kind) = check_name(&name, &policy) {
            prop_assert!(name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-/".contains(&b)));
            prop_assert!(!name.starts_with('/') && !name.split('/').any(|p| p.starts_with('.') || p.starts_with('-')));
            let suffixes: &[&str] = if kind == ScriptKind::K6Script { &[".js", ".mjs", ".ts"] } else { &[".sh"] };
            prop_assert!(suffixes.iter().any(|suffix| name.ends_with(suffix)));
        }
    }

    /// The catalogue is sorted, free of duplicates and only holds names the
    /// rules accept.
    #[test]
    fn catalogue_is_sorted_unique_and_valid(names in prop::collection::vec("[a-c]{1,2}(/[a-c])?(\\.js|\\.sh|\\.txt)|\\.\\./x\\.js", 0..12)) {
        let files: Vec<ScriptFile> = names.iter().map(|n| file(n, &format!("/s/{n}"))).collect();
        let entries = catalogue(files, &default_policy());
        prop_assert!(entries.windows(2).all(|w| w[0].name < w[1].name));
        for entry in &entries {
            prop_assert_eq!(check_name(&entry.name, &default_policy()), Ok(entry.kind));
        }
    }
}
