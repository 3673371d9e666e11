//! The OpenAPI document (`GET /openapi.json`) against the API itself:
//! every route is called through `warp::test` on a real [`Service`] (real
//! core, real data directory, real k6 for the runs), for its success and
//! its main error statuses, and each answer is checked against the
//! document: its status is documented for that operation, its content
//! type is one the document names, and a JSON body is valid under the
//! schema given for it (OpenAPI 3.1 schemas are JSON Schema 2020-12).
//!
//! The document's operations must be exactly the ones called here, and
//! exactly the `warp::path!` routes of `src/api/`, so a route without
//! documentation, or documentation without a route, fails.
//!
//! To add a route (say `GET /schedules/{id}/fires`): put `#[utoipa::path(...)]` on
//! its handler (path, `security(("bearer" = ["viewer"]))` with its role,
//! every status with its body), list the handler in `paths(...)` of
//! `k6_runner::api::openapi::ApiDoc` (one line), and call it in
//! [`every_route_answers_as_the_document_says`] for its success and main
//! errors: `api.call("GET", "/schedules/{id}/fires", &path, Some(VIEWER))`,
//! the path as the document writes it (`/runs/{id}`) and as sent
//! (`/runs/2026…`); `api.send(method, template, request)` for a request
//! with a body or headers of its own.

mod checked;

use std::collections::BTreeSet;
use std::path::Path;

use checked::{
    Checked, OPERATOR, UNKNOWN, VIEWER, document, errors_of, one_step_config, validator,
};
use serde_json::{Value, json};

/// Every `$ref` of `value`, with where it is.
fn refs<'a>(value: &'a Value, at: String, found: &mut Vec<(String, &'a str)>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                if key == "$ref"
                    && let Some(target) = inner.as_str()
                {
                    found.push((at.clone(), target));
                }
                refs(inner, format!("{at}/{key}"), found);
            }
        }
        Value::Array(items) => {
            for (i, inner) in items.iter().enumerate() {
                refs(inner, format!("{at}/{i}"), found);
            }
        }
        _ => {}
    }
}

/// Every route the API's modules define, as `(method, path)` with `{}`
/// for a parameter: each `warp::path!(…)` of `src/api/`, and the first
/// method filter of its statement (`warp::ws()` is a GET).
fn routes_in_source() -> BTreeSet<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/api");
    let mut routes = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let source = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for (at, _) in source.match_indices("warp::path!(") {
            let rest = &source[at + "warp::path!(".len()..];
            let (pattern, rest) = rest.split_once(')').unwrap();
            let path: String = pattern
                .split('/')
                .map(|segment| match segment.trim() {
                    "String" | ".." => "/{}".to_owned(),
                    literal => format!("/{}", literal.trim_matches('"')),
                })
                .collect();
            let statement = rest.split(';').next().unwrap();
            let method = ["get", "put", "post", "delete", "ws"]
                .into_iter()
                .filter_map(|m| statement.find(&format!("warp::{m}()")).map(|i| (i, m)))
                .min()
                .map(|(_, m)| if m == "ws" { "get" } else { m })
                .unwrap_or_else(|| panic!("no method for {path}"));
            routes.insert((method.to_owned(), path));
        }
    }
    routes
}

/// The API's routes are the document's operations, one for one, even
/// those no test calls: a route added without its documentation fails.
#[test]
fn every_route_in_the_source_is_documented() {
    let document = document();
    let documented: BTreeSet<(String, String)> = document["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            let anonymous: String = path
                .split('/')
                .map(|s| if s.starts_with('{') { "{}" } else { s })
                .collect::<Vec<_>>()
                .join("/");
            item.as_object()
                .unwrap()
                .keys()
                .map(move |method| (method.clone(), anonymous.clone()))
        })
        .collect();
    let routes = routes_in_source();
    assert!(routes.len() > 25, "{routes:?}");
    assert_eq!(routes, documented);
}

#[test]
fn the_document_is_openapi_3_1_whose_refs_resolve_and_roles_are_stated() {
    let document = document();
    assert_eq!(document["openapi"], "3.1.0");
    assert!(document["info"]["title"].is_string() && document["info"]["version"].is_string());
    assert_eq!(
        document["components"]["securitySchemes"]["bearer"],
        json!({"type": "http", "scheme": "bearer", "description": document["components"]["securitySchemes"]["bearer"]["description"]})
    );
    let mut found = Vec::new();
    refs(&document, String::new(), &mut found);
    assert!(found.len() > 20, "{found:?}");
    for (at, target) in found {
        let pointer = target
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("{at}: {target} is not local"));
        assert!(
            document.pointer(pointer).is_some(),
            "{at}: {target} does not resolve"
        );
    }
    // Every schema is a valid 2020-12 schema (the validator compiles it),
    // and a validator follows the refs and is closed: a status with a
    // field it does not describe, or whose state is not a `RunState`, is
    // refused.
    for (name, schema) in document["components"]["schemas"].as_object().unwrap() {
        assert!(schema.is_object(), "{name}");
        validator(&document, schema);
    }
    let status = validator(&document, &json!({"$ref": "#/components/schemas/Status"}));
    let mut wrong: Value = serde_json::to_value(k6_runner::model::Status::default()).unwrap();
    assert_eq!(errors_of(&status, &wrong), Vec::<String>::new());
    wrong["unheardOf"] = json!(1);
    assert!(
        !errors_of(&status, &wrong).is_empty(),
        "a field not described"
    );
    wrong.as_object_mut().unwrap().remove("unheardOf");
    wrong["state"] = json!("sideways");
    assert!(!errors_of(&status, &wrong).is_empty(), "{wrong}");
    // Every operation is open, or names its role and its refusals.
    let operations = document["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .iter()
                .map(move |(method, op)| (format!("{method} {path}"), op))
        });
    let mut operation_ids = BTreeSet::new();
    for (name, operation) in operations {
        let operation_id = operation["operationId"].as_str().expect(&name);
        assert!(
            operation_ids.insert(operation_id),
            "{name}: {operation_id} twice"
        );
        let security = operation["security"].as_array().expect(&name);
        if security == &vec![json!({})] {
            assert!(operation.get("x-required-role").is_none(), "{name}");
            continue;
        }
        let role = operation["x-required-role"].as_str().expect(&name);
        assert!(["viewer", "operator"].contains(&role), "{name}: {role}");
        for status in ["401", "403"] {
            assert!(
                operation["responses"][status].is_object(),
                "{name}: {status}"
            );
        }
    }
}

#[tokio::test]
async fn every_route_answers_as_the_document_says() {
    let mut api = Checked::new().await;
    let served = api
        .call("GET", "/openapi.json", "/openapi.json", None)
        .await;
    assert_eq!(served.status, 200);
    assert_eq!(
        served.json(),
        api.document,
        "the served document is the one"
    );
    let health = api.call("GET", "/health", "/health", None).await;
    assert_eq!(health.status, 200, "{health:?}");

    // Config: reads, refusals, every kind of bad body, and writes.
    let config = api.call("GET", "/config", "/config", Some(VIEWER)).await;
    assert_eq!(config.status, 200, "{config:?}");
    assert_eq!(
        api.call("GET", "/config", "/config", None).await.status,
        401
    );
    let reset = api
        .call("POST", "/config/reset", "/config/reset", Some(OPERATOR))
        .await;
    assert_eq!(reset.status, 200, "{reset:?}");
    let refused = api
        .call("POST", "/config/reset", "/config/reset", Some(VIEWER))
        .await;
    assert_eq!(refused.status, 403);
    let body_schema = api.document["paths"]["/config"]["put"]["requestBody"]["content"]
        ["application/json"]["schema"]
        .clone();
    let body_validator = validator(&api.document, &body_schema);
    assert_eq!(
        errors_of(&body_validator, &one_step_config()),
        Vec::<String>::new()
    );
    assert_eq!(
        errors_of(&body_validator, &reset.json()),
        Vec::<String>::new(),
        "the defaults are a valid body"
    );
    let mut invalid = one_step_config();
    invalid["globalUserCount"] = json!(0);
    assert!(!errors_of(&body_validator, &invalid).is_empty());
    assert_eq!(api.put_config(&invalid, OPERATOR).await.status, 422);
    assert_eq!(api.put_config(&one_step_config(), VIEWER).await.status, 403);
    for (content_type, body, status) in [
        ("text/plain", b"{}".to_vec(), 415),
        ("application/json", vec![0xff, 0xfe], 400),
        (
            "application/json",
            vec![b' '; k6_runner::api::MAX_BODY_BYTES as usize + 1],
            413,
        ),
    ] {
        let request = Checked::request("PUT", "/config", Some(OPERATOR))
            .header("content-type", content_type)
            .body(body);
        assert_eq!(api.send("PUT", "/config", request).await.status, status);
    }
    // No body at all: no Content-Length either.
    let unsized_body = Checked::request("PUT", "/config", Some(OPERATOR))
        .header("content-type", "application/json");
    assert_eq!(api.send("PUT", "/config", unsized_body).await.status, 411);
    let saved = api.put_config(&one_step_config(), OPERATOR).await;
    assert_eq!(saved.status, 200, "{saved:?}");

    // Reads that need no run.
    for (template, path, status) in [
        ("/status", "/status", 200),
        ("/whoami", "/whoami", 200),
        ("/logs", "/logs", 200),
        ("/logs", "/logs?limit=many", 400),
        ("/metrics", "/metrics", 200),
        ("/results", "/results", 404),
        ("/script", "/script", 200),
        ("/scripts", "/scripts", 200),
        (
            "/export/k6-operator",
            "/export/k6-operator?parallelism=1",
            200,
        ),
        (
            "/export/k6-operator",
            "/export/k6-operator?parallelism=0",
            400,
        ),
        ("/runs", "/runs", 200),
        ("/runs", "/runs?state=sideways", 400),
        ("/compare", "/compare", 400),
        ("/trend", "/trend?metric=http_reqs", 400),
    ] {
        let answer = api.call("GET", template, path, Some(VIEWER)).await;
        assert_eq!(answer.status, status, "{path}: {answer:?}");
    }
    // The operators' reads.
    for template in ["/audit", "/webhooks/deliveries"] {
        let path = format!("{template}?limit=5");
        assert_eq!(
            api.call("GET", template, &path, Some(OPERATOR))
                .await
                .status,
            200
        );
        assert_eq!(
            api.call("GET", template, &path, Some(VIEWER)).await.status,
            403
        );
        let bad = format!("{template}?limit=lots");
        assert_eq!(
            api.call("GET", template, &bad, Some(OPERATOR)).await.status,
            400
        );
    }

    // Schedules, disabled so that none fires here (the end-to-end test
    // `schedules` fires one).
    let schedule_body = |body: Value| {
        move |method: &str, path: &str, token: &str| {
            Checked::request(method, path, Some(token))
                .header("content-type", "application/json")
                .body(body.to_string())
        }
    };
    let nightly = schedule_body(json!({
        "name": "nightly", "cron": "0 3 * * *", "timezone": "Europe/Berlin", "enabled": false
    }));
    let bad_cron = schedule_body(json!({"cron": "every night"}));
    let created = api
        .send(
            "POST",
            "/schedules",
            nightly("POST", "/schedules", OPERATOR),
        )
        .await;
    assert_eq!(created.status, 201, "{created:?}");
    let id = created.json()["id"].to_string();
    for (status, request) in [
        (422, bad_cron("POST", "/schedules", OPERATOR)),
        (403, nightly("POST", "/schedules", VIEWER)),
    ] {
        let answer = api.send("POST", "/schedules", request).await;
        assert_eq!(answer.status, status, "{answer:?}");
    }
    let one = format!("/schedules/{id}");
    let fires = format!("/schedules/{id}/fires");
    for (template, path, status) in [
        ("/schedules", "/schedules".to_owned(), 200),
        ("/schedules/{id}", one.clone(), 200),
        ("/schedules/{id}", "/schedules/999".to_owned(), 404),
        ("/schedules/{id}/fires", fires.clone(), 200),
        ("/schedules/{id}/fires", format!("{fires}?limit=lots"), 400),
        (
            "/schedules/{id}/fires",
            "/schedules/999/fires".to_owned(),
            404,
        ),
    ] {
        let answer = api.call("GET", template, &path, Some(VIEWER)).await;
        assert_eq!(answer.status, status, "{path}: {answer:?}");
    }
    for (status, request) in [
        (200, nightly("PUT", &one, OPERATOR)),
        (404, nightly("PUT", "/schedules/999", OPERATOR)),
        (422, bad_cron("PUT", &one, OPERATOR)),
    ] {
        let answer = api.send("PUT", "/schedules/{id}", request).await;
        assert_eq!(answer.status, status, "{answer:?}");
    }
    for status in [200, 404] {
        let answer = api
            .call("DELETE", "/schedules/{id}", &one, Some(OPERATOR))
            .await;
        assert_eq!(answer.status, status, "{answer:?}");
    }

    // A run, to its end: its record, files, series, reports and baseline;
    // watched on the WebSocket, whose every message is checked too.
    let mut socket = api.socket().await;
    let started = api.call("POST", "/start", "/start", Some(OPERATOR)).await;
    assert_eq!(started.status, 202, "{started:?}");
    let run_id = started.json()["runId"].as_str().unwrap().to_owned();
    assert_eq!(
        api.call("POST", "/start", "/start", Some(OPERATOR))
            .await
            .status,
        409
    );
    let deleting = format!("/runs/{run_id}");
    assert_eq!(
        api.call("DELETE", "/runs/{id}", &deleting, Some(OPERATOR))
            .await
            .status,
        409,
        "a run in progress is not deleted"
    );
    api.wait_idle().await;
    let seen = api.socket_messages(&mut socket).await;
    for kind in ["status", "config", "logs"] {
        assert!(seen.contains(kind), "no {kind} message: {seen:?}");
    }
    assert_eq!(
        api.call("POST", "/stop", "/stop", Some(OPERATOR))
            .await
            .status,
        200
    );
    let record = api
        .call("GET", "/results", "/results", Some(VIEWER))
        .await
        .json();
    let file = record["steps"][0]["files"][0]["path"]
        .as_str()
        .or(record["steps"][0]["logFile"].as_str())
        .unwrap_or_else(|| panic!("the step left no file: {record}"))
        .to_owned();
    let compare = format!("?base={run_id}&run={run_id}");
    let unknown_compare = format!("?base={UNKNOWN}&run={run_id}");
    for (template, suffix, status) in [
        ("/runs/{id}", String::new(), 200),
        ("/runs/{id}/metrics", "/metrics".to_owned(), 200),
        ("/runs/{id}/files/{path}", format!("/files/{file}"), 200),
        (
            "/runs/{id}/files/{path}",
            "/files/no-such.json".to_owned(),
            404,
        ),
        ("/runs/{id}/report.html", "/report.html".to_owned(), 200),
        ("/runs/{id}/junit.xml", "/junit.xml".to_owned(), 200),
    ] {
        let path = format!("/runs/{run_id}{suffix}");
        let answer = api.call("GET", template, &path, Some(VIEWER)).await;
        assert_eq!(answer.status, status, "{path}: {answer:?}");
        if status == 200 && template != "/runs/{id}/files/{path}" {
            let unknown = format!("/runs/{UNKNOWN}{suffix}");
            let answer = api.call("GET", template, &unknown, Some(VIEWER)).await;
            assert_eq!(answer.status, 404, "{unknown}: {answer:?}");
        }
    }
    for (template, query, status) in [
        ("/compare", &compare, 200),
        ("/compare", &unknown_compare, 404),
        ("/compare/report.html", &compare, 200),
        ("/compare/report.html", &unknown_compare, 404),
    ] {
        let path = format!("{template}{query}");
        let answer = api.call("GET", template, &path, Some(VIEWER)).await;
        assert_eq!(answer.status, status, "{path}: {answer:?}");
    }
    let trend = "/trend?script=smoke.js&metric=http_reqs";
    assert_eq!(
        api.call("GET", "/trend", trend, Some(VIEWER)).await.status,
        200
    );
    let baseline = format!("/runs/{run_id}/baseline");
    let unknown_baseline = format!("/runs/{UNKNOWN}/baseline");
    for (method, path, status) in [
        ("PUT", &baseline, 200),
        ("PUT", &unknown_baseline, 404),
        ("DELETE", &baseline, 200),
    ] {
        let answer = api
            .call(method, "/runs/{id}/baseline", path, Some(OPERATOR))
            .await;
        assert_eq!(answer.status, status, "{method} {path}: {answer:?}");
    }

    // A second run, stopped at once.
    assert_eq!(
        api.call("POST", "/start", "/start", Some(OPERATOR))
            .await
            .status,
        202
    );
    assert_eq!(
        api.call("POST", "/stop", "/stop", Some(OPERATOR))
            .await
            .status,
        202
    );
    api.wait_idle().await;

    // The WebSocket: the upgrade with a token, and without one.
    let upgrade = |token: Option<&str>| {
        Checked::request("GET", "/ws", token)
            .header("connection", "upgrade")
            .header("upgrade", "websocket")
            .header("sec-websocket-version", "13")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
    };
    assert_eq!(
        api.send("GET", "/ws", upgrade(Some(VIEWER))).await.status,
        101
    );
    assert_eq!(api.send("GET", "/ws", upgrade(None)).await.status, 401);

    // Deleted, then gone.
    for status in [200, 404] {
        let answer = api
            .call("DELETE", "/runs/{id}", &deleting, Some(OPERATOR))
            .await;
        assert_eq!(answer.status, status, "{answer:?}");
    }

    let documented = api.documented();
    let missing: Vec<_> = documented.difference(&api.called).collect();
    let undocumented: Vec<_> = api.called.difference(&documented).collect();
    assert!(
        missing.is_empty() && undocumented.is_empty(),
        "documented but not called: {missing:?}; called but not documented: {undocumented:?}"
    );
    api.api.service.shutdown().await;
}

/// Without a usable k6 the runner still serves, and its refusals are the
/// documented ones: `/health` and a start say 503, as does an export (k6
/// archives the scripts).
#[tokio::test]
async fn without_k6_the_refusals_are_documented_too() {
    let missing = std::env::temp_dir().join("no-such-k6-for-the-openapi-test");
    let mut api = Checked::with_k6(missing).await;
    let health = api.call("GET", "/health", "/health", None).await;
    assert_eq!(health.status, 503, "{health:?}");
    assert_eq!(health.json()["ready"], false);
    let start = api.call("POST", "/start", "/start", Some(OPERATOR)).await;
    assert_eq!(start.status, 503, "{start:?}");
    let export = "/export/k6-operator?parallelism=1";
    let answer = api
        .call("GET", "/export/k6-operator", export, Some(VIEWER))
        .await;
    assert_eq!(answer.status, 503, "{answer:?}");
    api.api.service.shutdown().await;
}
