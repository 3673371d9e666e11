//! The command-line tools: validate, render, a headless run, plugin inspect.

use std::process::Command;

use crate::runner::{World, config, k6};

/// Runs the binary without blocking the test's runtime, which also serves
/// the demo target the scripts hit.
async fn runner(args: &[&str]) -> std::process::Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_k6-runner"))
        .args(args)
        .env("RUST_LOG", "error")
        .output()
        .await
        .unwrap()
}

/// `validate` prints the canonical config for a good file, and every field
/// error with exit 1 for a bad one or one beyond the operator's limits.
#[tokio::test]
async fn validate_prints_canonical_config_or_every_error() {
    let world = World::new().await;
    let scripts = world.scripts.to_str().unwrap();
    let good = world.dir.path().join("good.json");
    std::fs::write(&good, config(3, "90m", 7200, &["pass.js"], 5).to_string()).unwrap();
    let out = runner(&["validate", good.to_str().unwrap(), "--scripts-dir", scripts]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed["testDuration"], "1h30m");

    let bad = world.dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"globalUserCount": -1, "testDuration": "soon", "enabledScripts": ["../x.js"], "colour": 1}"#).unwrap();
    let out = runner(&["validate", bad.to_str().unwrap(), "--scripts-dir", scripts]).await;
    assert_eq!(out.status.code(), Some(1));
    let errors = String::from_utf8_lossy(&out.stderr);
    for field in [
        "globalUserCount",
        "testDuration",
        "rampUpDuration",
        "maxDuration",
        "enabledScripts[0]",
        "intervalBetweenTests",
        "colour",
    ] {
        assert!(errors.contains(field), "{field} missing from: {errors}");
    }

    // The operator's --max-users tightens the policy.
    let out = runner(&[
        "validate",
        good.to_str().unwrap(),
        "--scripts-dir",
        scripts,
        "--max-users",
        "2",
    ])
    .await;
    assert_eq!(out.status.code(), Some(1));
    let errors = String::from_utf8_lossy(&out.stderr);
    assert!(
        errors.contains("globalUserCount") && errors.contains('2'),
        "{errors}"
    );

    // Settings no run could work with are refused up front: a policy that
    // lets no config pass, and the runner's own secrets passed to scripts.
    for (flag, value, reason) in [
        ("--max-users", "0", "--max-users"),
        ("--pass-env", "K6_RUNNER_TOKENS", "never passed to scripts"),
    ] {
        let out = runner(&[
            "validate",
            good.to_str().unwrap(),
            "--scripts-dir",
            scripts,
            flag,
            value,
        ])
        .await;
        let errors = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{flag} {value}: {errors}");
        assert!(errors.contains(reason), "{flag} {value}: {errors}");
    }
}

/// `render` prints a bash script that runs each enabled script.
#[tokio::test]
async fn render_prints_a_k6_all_script() {
    let world = World::new().await;
    let file = world.dir.path().join("c.json");
    std::fs::write(
        &file,
        config(4, "15m", 1200, &["pass.js", "legacy/wrapper.sh"], 10).to_string(),
    )
    .unwrap();
    let out = runner(&[
        "render",
        file.to_str().unwrap(),
        "--scripts-dir",
        world.scripts.to_str().unwrap(),
    ])
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let script = String::from_utf8(out.stdout).unwrap();
    assert!(script.starts_with("#!"), "{script}");
    assert!(
        script.contains("pass.js") && script.contains("wrapper.sh"),
        "{script}"
    );
    let check = Command::new("bash")
        .arg("-n")
        .arg("-c")
        .arg(&script)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "bash -n: {}",
        String::from_utf8_lossy(&check.stderr)
    );

    // An operator's template that is not Handlebars is refused up front,
    // naming the file, rather than failing every later render.
    let template = world.dir.path().join("broken.sh.hbs");
    std::fs::write(&template, "#!/bin/bash\n{{#each steps}}\n").unwrap();
    let out = runner(&[
        "render",
        file.to_str().unwrap(),
        "--scripts-dir",
        world.scripts.to_str().unwrap(),
        "--template",
        template.to_str().unwrap(),
    ])
    .await;
    let errors = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{errors}");
    assert!(
        errors.contains("broken.sh.hbs is not valid Handlebars"),
        "{errors}"
    );
}

/// A headless run prints the run record on stdout and exits 0 only if
/// every script passed.
#[tokio::test]
async fn headless_run_reports_results_and_fails_on_crossed_thresholds() {
    let world = World::new().await;
    let k6 = k6();
    let scripts = world.scripts.to_str().unwrap();
    let passing = world.dir.path().join("passing.json");
    std::fs::write(&passing, config(1, "2s", 30, &["pass.js"], 0).to_string()).unwrap();
    let out = runner(&[
        "run",
        passing.to_str().unwrap(),
        "--scripts-dir",
        scripts,
        "--k6",
        k6.to_str().unwrap(),
    ])
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let record: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(record["steps"][0]["state"], "completed");
    assert!(String::from_utf8_lossy(&out.stderr).contains("pass.js"));

    let failing = world.dir.path().join("failing.json");
    std::fs::write(&failing, config(1, "2s", 30, &["fail.js"], 0).to_string()).unwrap();
    let out = runner(&[
        "run",
        failing.to_str().unwrap(),
        "--scripts-dir",
        scripts,
        "--k6",
        k6.to_str().unwrap(),
    ])
    .await;
    assert_eq!(out.status.code(), Some(1));
    let record: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(record["steps"][0]["exitCode"], 99);
}

/// `plugin inspect` shows the digest, the four exported interfaces, and
/// no function import.
#[tokio::test]
async fn plugin_inspect_shows_exports_and_no_function_import() {
    let out = runner(&["plugin", "inspect"]).await;
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("package: vudatasim:k6@0.2.0"), "{text}");
    for interface in ["config", "plan", "logs", "k6-operator"] {
        assert!(
            text.contains(&format!("vudatasim:k6/{interface}@0.2.0:")),
            "{text}"
        );
    }
    let imports: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("imports:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .collect();
    assert!(
        imports.iter().all(|l| l.ends_with("(types only)")),
        "{imports:?}"
    );
}

/// A pinned digest that does not match refuses to load the core.
#[tokio::test]
async fn plugin_with_another_digest_is_refused() {
    let out = runner(&["plugin", "inspect", "--plugin-sha256", &"0".repeat(64)]).await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("digest mismatch"));
}
