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
    std::fs::write(&outside, crate::runner::PASS).unwrap();
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

/// A page from another site must not drive a runner that has no tokens
/// through the operator's browser. Browsers send `Origin` with such
/// requests (cross-site request forgery, even as "simple" no-CORS POSTs)
/// and with WebSocket handshakes: every one is refused with 403 and audited,
/// nothing starts, the config stays. A page of the runner's own origin, and
/// clients that send no `Origin` (curl, scripts), are served.
#[tokio::test]
async fn cross_origin_control_requests_are_refused() {
    let world = World::new().await;
    let runner = Runner::start(&world, &[]);
    runner
        .configure(&config(1, "2s", 30, &["pass.js"], 0))
        .await;
    let (_, before) = runner.get("/config").await;
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let own = format!("http://{}", runner.addr);
    for (method, path) in [
        ("POST", "/start"),
        ("POST", "/config/reset"),
        ("POST", "/stop"),
        ("GET", "/ws"),
    ] {
        for origin in ["http://evil.example", "null", "http://127.0.0.1:1"] {
            let mut request = client
                .request(method.parse().unwrap(), format!("{}{path}", runner.base))
                .header("origin", origin);
            if path == "/ws" {
                request = request
                    .header("connection", "upgrade")
                    .header("upgrade", "websocket")
                    .header("sec-websocket-version", "13")
                    .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==");
            }
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let body = response.text().await.unwrap();
            assert_eq!(status, 403, "{method} {path} from {origin}: {body}");
            assert!(body.contains("cross-origin"), "{body}");
        }
    }
    let (_, after) = runner.get("/config").await;
    assert_eq!(before, after, "a forged reset changed the config");
    let (status, _) = runner.get("/results").await;
    assert_eq!(status, 404, "a forged start created a run");
    let (_, audit) = runner.get("/audit?limit=100").await;
    let refused = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["outcome"] == "refused" && e["detail"].as_str().unwrap().contains("cross-origin")
        })
        .count();
    assert_eq!(
        refused, 9,
        "every forged control request is audited: {audit}"
    );

    let same_origin = client
        .post(format!("{}/config/reset", runner.base))
        .header("origin", &own)
        .send()
        .await
        .unwrap();
    assert_eq!(
        same_origin.status().as_u16(),
        200,
        "the runner's own page may control it"
    );
}

/// DNS rebinding: a foreign site's name resolved to 127.0.0.1 makes its
/// page same-origin with a runner that has no tokens. Its requests still
/// name that site in `Host`, and a runner without tokens serves only
/// loopback names, so they are refused before any route (API and page).
#[tokio::test]
async fn requests_addressed_to_a_foreign_name_are_refused_without_tokens() {
    let world = World::new().await;
    let runner = Runner::start(&world, &[]);
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let port = runner.addr.port();
    for (host, expected) in [
        (format!("evil.example:{port}"), 403),
        (format!("127.0.0.1.nip.example:{port}"), 403),
        (format!("localhost:{port}"), 200),
        (format!("127.0.0.1:{port}"), 200),
    ] {
        for path in ["/api/k6/status", "/"] {
            let response = client
                .get(format!("http://{}{path}", runner.addr))
                .header("host", &host)
                .send()
                .await
                .unwrap();
            assert_eq!(
                response.status().as_u16(),
                expected,
                "{path} with Host {host}"
            );
        }
    }
}
