//! Scripts outside the allowlist are refused at validation, and nothing is
//! spawned or stored.

use crate::runner::{Runner, World, config};

/// Path traversal, absolute paths, a symlink that escapes the script
/// directory, a bad suffix and shell metacharacters are all refused with
/// 422 naming the field; the stored config stays as it was and no run is
/// ever created.
#[tokio::test]
async fn scripts_outside_the_allowlist_are_refused_and_nothing_is_spawned() {
    let world = World::new().await;
    let outside = world.dir.path().join("outside.js");
    std::fs::write(&outside, crate::support::PASS).unwrap();
    std::os::unix::fs::symlink(&outside, world.scripts.join("escape.js")).unwrap();
    std::fs::write(world.scripts.join("notes.txt"), "not a script").unwrap();
    let runner = Runner::start(&world, &[]);
    runner
        .configure(&config(1, "2s", 30, &["pass.js"], 0))
        .await;
    let (_, before) = runner.get("/config").await;

    let hostile = [
        ("../outside.js", "bad-script-name"),
        ("legacy/../../outside.js", "bad-script-name"),
        (outside.to_str().unwrap(), "bad-script-name"),
        ("escape.js", "unknown-script"),
        ("notes.txt", "suffix-not-allowed"),
        ("pass.js; rm -rf /", "bad-script-name"),
        ("$(touch pwned).js", "bad-script-name"),
        ("-pass.js", "bad-script-name"),
        ("missing.js", "unknown-script"),
    ];
    for (name, code) in hostile {
        let (status, body) = runner
            .put_json("/config", &config(1, "2s", 30, &[name], 0))
            .await;
        assert_eq!(status, 422, "{name}: {body}");
        let field = &body["fields"][0];
        assert_eq!(field["field"], "enabledScripts[0]", "{name}: {body}");
        assert_eq!(field["code"], code, "{name}: {body}");
        assert!(!field["message"].as_str().unwrap().is_empty());
    }
    let (_, scripts) = runner.get("/scripts").await;
    let names: Vec<&str> = scripts
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert!(
        !names.contains(&"escape.js") && !names.contains(&"notes.txt"),
        "{names:?}"
    );

    let (_, after) = runner.get("/config").await;
    assert_eq!(
        before, after,
        "a refused config must not replace the stored one"
    );
    let stored: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(world.data.join("config.json")).unwrap())
            .unwrap();
    assert_eq!(stored, after);
    let (status, _) = runner.get("/results").await;
    assert_eq!(status, 404, "no run was ever created");
    assert!(!world.scripts.join("pwned").exists() && !world.data.join("pwned").exists());
}
