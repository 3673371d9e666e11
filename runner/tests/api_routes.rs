//! Every route of the API and every error status it answers with, driven
//! through `warp::test` against a real [`Service`] (real core component,
//! real data directory, real k6 for the one run): no socket, no server
//! process, so the whole surface is checked in seconds.

use std::time::Duration;

use serde_json::{Value, json};
use testkit::in_process::{InProcess as Api, OPERATOR, VIEWER, one_step_config};

#[tokio::test]
async fn every_read_route_answers_a_viewer_and_refuses_everyone_else() {
    let api = Api::new().await;
    let reads = [
        "/config",
        "/status",
        "/logs",
        "/metrics",
        "/script",
        "/scripts",
        "/runs",
        "/export/k6-operator?parallelism=2",
    ];
    for path in reads {
        let answer = api.call("GET", path, Some(VIEWER)).await;
        assert_eq!(answer.status, 200, "{path}: {answer:?}");

        let anonymous = api.call("GET", path, None).await;
        assert_eq!(anonymous.status, 401, "{path}: {anonymous:?}");
        assert_eq!(
            anonymous.challenge.as_deref(),
            Some("Bearer realm=\"k6-runner\""),
            "{path}: a 401 says how to authenticate"
        );
        assert!(anonymous.error().contains("bearer token"), "{path}");

        let wrong = api.call("GET", path, Some("not-a-token")).await;
        assert_eq!(wrong.status, 401, "{path}");
        assert!(wrong.error().contains("not valid"), "{path}: {wrong:?}");
    }
    // The one route open to all: a supervisor asks whether k6 can run.
    let health = api.call("GET", "/health", None).await;
    assert_eq!(health.status, 200, "{health:?}");
    assert_eq!(health.json()["ready"], true, "{health:?}");

    // Each read gives its document.
    let scripts = api.call("GET", "/scripts", Some(VIEWER)).await.json();
    let names: Vec<&str> = scripts
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert!(names.contains(&"smoke.js"), "{scripts}");
    let script = api.call("GET", "/script", Some(VIEWER)).await;
    assert!(
        script.content_type.starts_with("text/x-shellscript"),
        "{script:?}"
    );
    assert!(script.body.starts_with("#!"), "{}", script.body);
    let status = api.call("GET", "/status", Some(VIEWER)).await.json();
    assert_eq!(status["isRunning"], false, "{status}");
    let runs = api.call("GET", "/runs", Some(VIEWER)).await.json();
    assert_eq!(runs["runs"], json!([]), "a fresh data directory: {runs}");
    // No run yet: nothing to show as the last one.
    let results = api.call("GET", "/results", Some(VIEWER)).await;
    assert_eq!(results.status, 404, "{results:?}");
    assert!(!results.error().is_empty());
}

#[tokio::test]
async fn control_routes_need_an_operator_and_a_same_origin_page() {
    let api = Api::new().await;
    let before = api.call("GET", "/config", Some(VIEWER)).await.body;
    let controls = [
        ("PUT", "/config"),
        ("POST", "/config/reset"),
        ("POST", "/start"),
        ("POST", "/stop"),
        ("DELETE", "/runs/20260101-000000-000"),
        ("PUT", "/runs/20260101-000000-000/baseline"),
        ("DELETE", "/runs/20260101-000000-000/baseline"),
    ];
    for (method, path) in controls {
        let request = Api::request(method, path, Some(VIEWER))
            .header("content-type", "application/json")
            .body(one_step_config().to_string());
        let answer = api.send(request).await;
        assert_eq!(answer.status, 403, "{method} {path}: {answer:?}");
        assert!(
            answer.error().contains("needs the operator role"),
            "{method} {path}: {answer:?}"
        );
        let anonymous = api.call(method, path, None).await;
        assert_eq!(anonymous.status, 401, "{method} {path}: {anonymous:?}");
    }
    // A foreign page driving an operator's browser.
    let forged = Api::request("POST", "/start", Some(OPERATOR))
        .header("host", "127.0.0.1:8080")
        .header("origin", "http://evil.example");
    let answer = api.send(forged).await;
    assert_eq!(answer.status, 403, "{answer:?}");
    assert!(answer.error().contains("cross-origin"), "{answer:?}");
    // The audit log is the operators' alone; each refusal above is in it.
    assert_eq!(api.call("GET", "/audit", Some(VIEWER)).await.status, 403);
    let audit = api
        .call("GET", "/audit?limit=100", Some(OPERATOR))
        .await
        .json();
    let refused = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["outcome"] == "refused")
        .count();
    assert!(refused >= controls.len(), "{audit}");
    // So is the webhook delivery log (empty: no target is configured).
    let deliveries = "/webhooks/deliveries?limit=5";
    assert_eq!(api.call("GET", deliveries, Some(VIEWER)).await.status, 403);
    assert_eq!(api.call("GET", deliveries, None).await.status, 401);
    let log = api.call("GET", deliveries, Some(OPERATOR)).await;
    assert_eq!(log.status, 200, "{log:?}");
    assert_eq!(log.json(), json!([]));
    // Nothing was changed, nothing started.
    assert_eq!(api.call("GET", "/config", Some(VIEWER)).await.body, before);
    assert_eq!(api.wait_idle().await["isRunning"], false);
}

#[tokio::test]
async fn bad_requests_get_their_status_and_say_why() {
    let api = Api::new().await;
    let before = api.call("GET", "/config", Some(VIEWER)).await.body;

    // 422: every invalid field named.
    let mut invalid = one_step_config();
    invalid["globalUserCount"] = json!(0);
    invalid["enabledScripts"] = json!(["no-such-script.js"]);
    let answer = api.put_config(&invalid).await;
    assert_eq!(answer.status, 422, "{answer:?}");
    let fields: Vec<String> = answer.json()["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap().to_owned())
        .collect();
    assert!(fields.contains(&"globalUserCount".to_owned()), "{fields:?}");
    assert!(
        fields.iter().any(|f| f.starts_with("enabledScripts[0]")),
        "{fields:?}"
    );

    // 422 too for JSON the core cannot read (it is the one reader of a
    // config); 400: not text; 415: not said to be JSON; 413: too large.
    let garbage = Api::request("PUT", "/config", Some(OPERATOR))
        .header("content-type", "application/json")
        .body("{not json");
    let answer = api.send(garbage).await;
    assert_eq!(answer.status, 422, "{answer:?}");
    assert_eq!(answer.json()["fields"][0]["code"], "malformed-json");
    let binary = Api::request("PUT", "/config", Some(OPERATOR))
        .header("content-type", "application/json")
        .body(vec![0xff, 0xfe, b'{', b'}']);
    let answer = api.send(binary).await;
    assert_eq!(answer.status, 400, "{answer:?}");
    assert!(answer.error().contains("UTF-8"), "{answer:?}");
    let plain = Api::request("PUT", "/config", Some(OPERATOR))
        .header("content-type", "text/plain")
        .body(one_step_config().to_string());
    let answer = api.send(plain).await;
    assert_eq!(answer.status, 415, "{answer:?}");
    assert!(answer.error().contains("text/plain"), "{answer:?}");
    let huge = Api::request("PUT", "/config", Some(OPERATOR))
        .header("content-type", "application/json")
        .body(vec![b' '; k6_runner::api::MAX_BODY_BYTES as usize + 1]);
    assert_eq!(api.send(huge).await.status, 413);
    // None of it touched the stored config.
    assert_eq!(api.call("GET", "/config", Some(VIEWER)).await.body, before);

    // 400: a bad query, named.
    for path in [
        "/logs?limit=many",
        "/logs?colour=red",
        "/runs?limit=-1",
        "/runs?state=sideways",
        "/compare",
        "/trend?metric=http_req_duration",
        "/export/k6-operator?parallelism=0",
    ] {
        let answer = api.call("GET", path, Some(VIEWER)).await;
        assert_eq!(answer.status, 400, "{path}: {answer:?}");
        assert!(!answer.error().is_empty(), "{path}");
    }

    // 404: no such run, and no such file of it.
    let unknown = "20260101-000000-000";
    for path in [
        format!("/runs/{unknown}"),
        format!("/runs/{unknown}/metrics"),
        format!("/runs/{unknown}/report.html"),
        format!("/runs/{unknown}/junit.xml"),
        format!("/runs/{unknown}/files/summary.json"),
        format!("/compare?base={unknown}&run={unknown}"),
    ] {
        let answer = api.call("GET", &path, Some(VIEWER)).await;
        assert_eq!(answer.status, 404, "{path}: {answer:?}");
        assert!(answer.error().contains(unknown), "{path}: {answer:?}");
    }
    for (method, path) in [
        ("DELETE", format!("/runs/{unknown}")),
        ("PUT", format!("/runs/{unknown}/baseline")),
    ] {
        let answer = api.call(method, &path, Some(OPERATOR)).await;
        assert_eq!(answer.status, 404, "{method} {path}: {answer:?}");
    }

    // 405: a known path with the wrong method.
    for (method, path) in [
        ("DELETE", "/config"),
        ("GET", "/start"),
        ("POST", "/status"),
    ] {
        let answer = api.call(method, path, Some(OPERATOR)).await;
        assert_eq!(answer.status, 405, "{method} {path}: {answer:?}");
    }
    // Not ours: passed on, so a host can match its own routes there.
    let rejection = Api::request("GET", "/no-such-route", Some(VIEWER))
        .filter(&api.routes)
        .await;
    assert!(
        rejection.is_err_and(|r| r.is_not_found()),
        "an unknown path is a plain not-found rejection"
    );
}

#[tokio::test]
async fn a_run_through_the_api_from_start_to_its_reports() {
    let api = Api::new().await;
    let saved = api.put_config(&one_step_config()).await;
    assert_eq!(saved.status, 200, "{saved:?}");

    let started = api.call("POST", "/start", Some(OPERATOR)).await;
    assert_eq!(started.status, 202, "{started:?}");
    let run_id = started.json()["runId"].as_str().unwrap().to_owned();
    // One run at a time.
    let second = api.call("POST", "/start", Some(OPERATOR)).await;
    assert_eq!(second.status, 409, "{second:?}");
    assert!(second.error().contains(&run_id), "{second:?}");

    let status = api.wait_idle().await;
    assert_eq!(status["runId"], run_id.as_str(), "{status}");
    let results = api.call("GET", "/results", Some(VIEWER)).await.json();
    assert_eq!(results["id"], run_id.as_str(), "{results}");
    assert_eq!(results["steps"][0]["script"], "smoke.js", "{results}");
    assert_eq!(
        results["startedBy"],
        json!({"kind": "operator", "name": "olga"}),
        "the record says who started it"
    );

    // A stop with nothing running is a no-op, said so.
    let stop = api.call("POST", "/stop", Some(OPERATOR)).await;
    assert_eq!(stop.status, 200, "{stop:?}");
    assert_eq!(stop.json()["stopping"], false);

    // The history has it, with its series and reports.
    let runs = api.call("GET", "/runs", Some(VIEWER)).await.json();
    assert_eq!(runs["runs"][0]["id"], run_id.as_str(), "{runs}");
    let record = api
        .call("GET", &format!("/runs/{run_id}"), Some(VIEWER))
        .await;
    assert_eq!(record.status, 200, "{record:?}");
    assert_eq!(record.json()["id"], run_id.as_str());
    let series = api
        .call("GET", &format!("/runs/{run_id}/metrics"), Some(VIEWER))
        .await;
    assert_eq!(series.status, 200, "{series:?}");
    let report = api
        .call("GET", &format!("/runs/{run_id}/report.html"), Some(VIEWER))
        .await;
    assert_eq!(report.status, 200);
    assert!(report.content_type.starts_with("text/html"), "{report:?}");
    assert!(report.body.contains("smoke.js"));
    let junit = api
        .call("GET", &format!("/runs/{run_id}/junit.xml"), Some(VIEWER))
        .await;
    assert_eq!(junit.status, 200);
    assert!(junit.body.contains("<testsuites"), "{}", junit.body);
    let trend = api
        .call(
            "GET",
            "/trend?script=smoke.js&metric=http_reqs",
            Some(VIEWER),
        )
        .await;
    assert_eq!(trend.status, 200, "{trend:?}");

    // Baseline on and off; compared with itself, nothing regressed.
    let baseline = format!("/runs/{run_id}/baseline");
    assert_eq!(api.call("PUT", &baseline, Some(OPERATOR)).await.status, 200);
    let compare = api
        .call(
            "GET",
            &format!("/compare?base={run_id}&run={run_id}"),
            Some(VIEWER),
        )
        .await;
    assert_eq!(compare.status, 200, "{compare:?}");
    assert_ne!(compare.json()["verdict"], "regressed", "{}", compare.body);
    let compared = api
        .call(
            "GET",
            &format!("/compare/report.html?base={run_id}&run={run_id}"),
            Some(VIEWER),
        )
        .await;
    assert_eq!(compared.status, 200);
    assert_eq!(
        api.call("DELETE", &baseline, Some(OPERATOR)).await.status,
        200
    );

    // Deleted: gone from the history, and the record with it, though it
    // was the last run the runner held in memory.
    let deleted = api
        .call("DELETE", &format!("/runs/{run_id}"), Some(OPERATOR))
        .await;
    assert!(
        deleted.status == 200 || deleted.status == 204,
        "{deleted:?}"
    );
    assert_eq!(
        api.call("GET", &format!("/runs/{run_id}"), Some(VIEWER))
            .await
            .status,
        404
    );
    assert_eq!(api.call("GET", "/results", Some(VIEWER)).await.status, 404);
    api.service.shutdown().await;
}

#[tokio::test]
async fn reset_puts_the_defaults_back_and_the_websocket_needs_its_token() {
    let api = Api::new().await;
    assert_eq!(api.put_config(&one_step_config()).await.status, 200);
    let reset = api.call("POST", "/config/reset", Some(OPERATOR)).await;
    assert_eq!(reset.status, 200, "{reset:?}");
    assert_ne!(reset.json()["testDuration"], "2s", "{}", reset.body);
    assert_eq!(
        api.call("GET", "/config", Some(VIEWER)).await.body,
        reset.body
    );

    // The WebSocket: refused without a token, accepted with one in the
    // query string (browsers cannot set its headers).
    let refused = warp::test::ws()
        .path("/ws")
        .handshake(api.routes.clone())
        .await;
    assert!(refused.is_err(), "no token, no socket");
    let mut socket = warp::test::ws()
        .path(&format!("/ws?access_token={VIEWER}"))
        .handshake(api.routes.clone())
        .await
        .expect("a viewer's token opens the socket");
    let first = tokio::time::timeout(Duration::from_secs(10), socket.recv())
        .await
        .expect("the socket sends the state on connect")
        .unwrap();
    let event: Value = serde_json::from_str(first.to_str().unwrap()).unwrap();
    assert!(event["type"].is_string(), "{event}");
}
