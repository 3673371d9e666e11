use std::collections::BTreeSet;

use super::labels::ApiRoute;
use super::*;
use crate::model::MetricsPoint;

const CORE: &str = "0f0e0d0c";

/// A runner in the middle of step 2, with one reading of k6.
fn running_hub() -> Arc<Hub> {
    let hub = Arc::new(Hub::new());
    hub.update_status(|s| {
        s.is_running = true;
        s.current_step = Some(2);
        s.k6_version = Some("v1.1.0".into());
    });
    hub.publish_metrics(MetricsPoint {
        run_id: "20261203T101500Z".into(),
        script: "smoke.js".into(),
        step: 2,
        vus: 7,
        requests: 1_000,
        request_rate: 42.5,
        latency_p95_ms: Some(250.0),
        failed_request_rate: Some(0.125),
        cpu_percent: Some(150.0),
        rss_bytes: Some(52_428_800),
        ..MetricsPoint::default()
    });
    hub
}

fn samples(text: &str) -> Vec<&str> {
    text.lines().filter(|line| !line.starts_with('#')).collect()
}

/// The metric families a text declares (`# TYPE <name> <type>`), by name.
fn families(text: &str) -> BTreeSet<(String, String)> {
    text.lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .map(|rest| {
            let (name, kind) = rest.split_once(' ').unwrap();
            (name.to_owned(), kind.to_owned())
        })
        .collect()
}

/// Mid-run, the exposition carries every family with its type, the
/// step's readings in base units, the outcomes counted so far (the others
/// at 0), API requests by route pattern, and the build; every sample is a
/// `k6_runner_` name.
#[test]
fn a_running_step_is_exposed_in_base_units_with_bounded_labels() {
    let calls = Arc::new(CallCounts::default());
    let metrics = Metrics::with_sources(running_hub(), calls, CORE.into());
    metrics.run_ended(RunOutcome::Passed);
    metrics.step_ended(StepState::Completed);
    metrics.step_ended(StepState::Completed);
    metrics.step_ended(StepState::Failed);
    for id in ["20261203T101500Z", "20261203T111500Z"] {
        metrics.api_request(&Method::GET, &format!("/runs/{id}"), StatusCode::OK);
    }
    metrics.api_request(&Method::PUT, "/config", StatusCode::UNPROCESSABLE_ENTITY);
    let custom = Method::from_bytes(b"BREW").unwrap();
    metrics.api_request(&custom, "/status", StatusCode::METHOD_NOT_ALLOWED);
    metrics.webhook_delivery(EventKind::RunFailed, DeliveryOutcome::Delivered);
    metrics.schedule_fire(FireOutcome::Skipped);
    let text = metrics.encode().unwrap();

    let expected_families = [
        ("k6_runner_build_info", "gauge"),
        ("k6_runner_runs_total", "counter"),
        ("k6_runner_steps_total", "counter"),
        ("k6_runner_api_requests_total", "counter"),
        ("k6_runner_webhook_deliveries_total", "counter"),
        ("k6_runner_schedule_fires_total", "counter"),
        ("k6_runner_sandbox_calls_total", "counter"),
        ("k6_runner_sandbox_traps_total", "counter"),
        ("k6_runner_run_in_progress", "gauge"),
        ("k6_runner_step_vus", "gauge"),
        ("k6_runner_step_requests_per_second", "gauge"),
        ("k6_runner_step_latency_p95_seconds", "gauge"),
        ("k6_runner_step_error_ratio", "gauge"),
        ("k6_runner_k6_process_cpu_ratio", "gauge"),
        ("k6_runner_k6_process_resident_memory_bytes", "gauge"),
    ];
    let expected: BTreeSet<(String, String)> = expected_families
        .iter()
        .map(|(name, kind)| (name.to_string(), kind.to_string()))
        .collect();
    assert_eq!(families(&text), expected, "{text}");

    let lines = samples(&text);
    for wanted in [
        r#"k6_runner_build_info{version="0.1.0",k6_version="v1.1.0",core_sha256="0f0e0d0c"} 1"#,
        r#"k6_runner_runs_total{outcome="passed"} 1"#,
        r#"k6_runner_runs_total{outcome="interrupted"} 0"#,
        r#"k6_runner_steps_total{outcome="completed"} 2"#,
        r#"k6_runner_steps_total{outcome="failed"} 1"#,
        r#"k6_runner_steps_total{outcome="skipped"} 0"#,
        r#"k6_runner_api_requests_total{method="GET",route="/runs/{id}",status="200"} 2"#,
        r#"k6_runner_api_requests_total{method="PUT",route="/config",status="422"} 1"#,
        r#"k6_runner_api_requests_total{method="other",route="/status",status="405"} 1"#,
        r#"k6_runner_webhook_deliveries_total{event="run.failed",outcome="delivered"} 1"#,
        r#"k6_runner_webhook_deliveries_total{event="step.failed",outcome="dropped"} 0"#,
        r#"k6_runner_schedule_fires_total{outcome="skipped"} 1"#,
        r#"k6_runner_schedule_fires_total{outcome="started"} 0"#,
        "k6_runner_sandbox_calls_total 0",
        "k6_runner_run_in_progress 1",
        "k6_runner_step_vus 7",
        "k6_runner_step_requests_per_second 42.5",
        "k6_runner_step_latency_p95_seconds 0.25",
        "k6_runner_step_error_ratio 0.125",
        "k6_runner_k6_process_cpu_ratio 1.5",
        "k6_runner_k6_process_resident_memory_bytes 52428800",
    ] {
        assert!(lines.contains(&wanted), "no line {wanted:?} in\n{text}");
    }
    assert!(lines.iter().all(|line| line.starts_with("k6_runner_")));
    assert!(!text.contains("20261203T"), "a run id leaked into a label");
}

/// Between runs there is no step: its gauges are absent rather than
/// stale, and the run gauge is 0; the counters stay.
#[test]
fn an_idle_runner_shows_no_step_readings() {
    let hub = running_hub();
    hub.update_status(|s| {
        s.is_running = false;
        s.current_step = None;
    });
    let calls = Arc::new(CallCounts::default());
    let text = Metrics::with_sources(hub, calls, CORE.into())
        .encode()
        .unwrap();
    assert!(samples(&text).contains(&"k6_runner_run_in_progress 0"));
    for absent in ["k6_runner_step_", "k6_runner_k6_process_"] {
        assert!(!text.contains(absent), "{absent} while idle:\n{text}");
    }
    assert!(text.contains("# TYPE k6_runner_runs_total counter"));
}

/// Every `k6_runner_` name in a PromQL expression.
fn metric_names(expr: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = expr;
    while let Some(start) = rest.find(PREFIX) {
        let tail = &rest[start..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        names.push(&tail[..end]);
        rest = &tail[end..];
    }
    names
}

/// The Grafana dashboard in `contrib/grafana/` imports as a dashboard
/// (a title, a schema version, panels with a type, a place and queries on
/// a Prometheus data source input) and every one of its queries names
/// only metrics the runner exports, so it cannot drift from them.
#[test]
fn the_grafana_dashboard_queries_only_exported_metrics() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../contrib/grafana/k6-runner.json"
    );
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!(dashboard["title"].is_string());
    assert!(dashboard["uid"].is_string());
    assert!(dashboard["schemaVersion"].as_u64().unwrap() >= 36);
    let input = &dashboard["__inputs"][0];
    assert_eq!(input["type"], "datasource");
    assert_eq!(input["pluginId"], "prometheus");
    let datasource = format!("${{{}}}", input["name"].as_str().unwrap());

    // Mid-run and after one API request: every family has a sample.
    let calls = Arc::new(CallCounts::default());
    let metrics = Metrics::with_sources(running_hub(), calls, CORE.into());
    metrics.api_request(&Method::GET, "/status", StatusCode::OK);
    let exported: BTreeSet<String> = families(&metrics.encode().unwrap())
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    let mut queried = BTreeSet::new();
    let panels = dashboard["panels"].as_array().unwrap();
    assert!(!panels.is_empty());
    let mut ids = BTreeSet::new();
    for panel in panels {
        let title = panel["title"].as_str().unwrap();
        assert!(
            ids.insert(panel["id"].as_u64().unwrap()),
            "{title}: id used twice"
        );
        assert!(panel["type"].is_string(), "{title}");
        for key in ["x", "y", "w", "h"] {
            assert!(panel["gridPos"][key].is_u64(), "{title}: gridPos.{key}");
        }
        if panel["type"] == "row" {
            continue;
        }
        assert_eq!(panel["datasource"]["uid"], datasource, "{title}");
        let targets = panel["targets"].as_array().unwrap();
        assert!(!targets.is_empty(), "{title}: no query");
        for target in targets {
            assert!(target["refId"].is_string(), "{title}");
            let expr = target["expr"].as_str().unwrap();
            let names = metric_names(expr);
            assert!(!names.is_empty(), "{title}: {expr} names no runner metric");
            for name in names {
                assert!(
                    exported.contains(name),
                    "{title}: {expr} names {name}, which the runner does not export"
                );
                queried.insert(name.to_owned());
            }
        }
    }
    for variable in dashboard["templating"]["list"].as_array().unwrap() {
        let query = variable["query"]["query"].as_str().unwrap();
        for name in metric_names(query) {
            assert!(
                exported.contains(name),
                "variable {}: {name}",
                variable["name"]
            );
        }
    }
    assert_eq!(queried, exported, "every exported metric has a panel");
}

/// Every route pattern the counter knows is one the API really serves
/// (sent through the standalone server's routes, it is answered by the
/// API, not by "no such route"), and its answer is counted under that
/// pattern.
#[tokio::test]
async fn every_route_pattern_is_served_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let service = service_in(&dir).await;
    let routes = crate::server::routes(service.clone(), Auth::Open);
    let run = "20260101T000000Z";
    for route in ApiRoute::SERVED {
        let (method, path) = match route {
            // warp's test requests cannot be upgraded; the WebSocket's
            // count is the same code as every other route's.
            ApiRoute::Ws => continue,
            ApiRoute::ConfigReset | ApiRoute::Start | ApiRoute::Stop => {
                ("POST", route.pattern().to_owned())
            }
            ApiRoute::RunBaseline => ("PUT", format!("/runs/{run}/baseline")),
            ApiRoute::RunFile => ("GET", format!("/runs/{run}/files/01-a.js/x.txt")),
            _ => ("GET", route.pattern().replace("{id}", run)),
        };
        let response = warp::test::request()
            .method(method)
            .path(&format!("/api/k6{path}"))
            .reply(&routes)
            .await;
        let body = String::from_utf8_lossy(response.body());
        assert!(
            !body.contains("no such route"),
            "{method} {path}: {} {body}",
            response.status()
        );
        let text = service.metrics().encode().unwrap();
        let counted = format!(
            "k6_runner_api_requests_total{{method=\"{method}\",route=\"{}\",status=\"{}\"}} 1",
            route.pattern(),
            response.status().as_u16()
        );
        assert!(
            samples(&text).contains(&counted.as_str()),
            "{method} {path}: no {counted} in\n{text}"
        );
    }
    // The metrics themselves are served too, and are not an API request.
    let scrape = warp::test::request().path("/metrics").reply(&routes).await;
    assert_eq!(scrape.status(), StatusCode::OK);
    assert_eq!(
        scrape.headers()["content-type"],
        prometheus_text::CONTENT_TYPE
    );
    let text = String::from_utf8_lossy(scrape.body());
    assert!(text.contains("k6_runner_build_info{"), "{text}");
    assert!(!text.contains("route=\"other\""), "{text}");
    service.shutdown().await;
}

/// With tokens, `/metrics` is a read like any other: no token is a 401
/// with the bearer challenge, a viewer's token is enough.
#[tokio::test]
async fn with_tokens_a_scrape_needs_the_viewer_role() {
    let dir = tempfile::tempdir().unwrap();
    let service = service_in(&dir).await;
    let tokens =
        crate::auth::Tokens::parse("prometheus:viewer:scrape-secret-0123456789", "test").unwrap();
    let routes = crate::server::routes(service.clone(), Auth::Tokens(tokens));
    let refused = warp::test::request().path("/metrics").reply(&routes).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert!(refused.headers().contains_key("www-authenticate"));
    let scraped = warp::test::request()
        .path("/metrics")
        .header("authorization", "Bearer scrape-secret-0123456789")
        .reply(&routes)
        .await;
    assert_eq!(scraped.status(), StatusCode::OK);
    assert!(String::from_utf8_lossy(scraped.body()).contains("k6_runner_run_in_progress 0"));
    service.shutdown().await;
}

/// A service on an empty script directory in `dir`, with no k6: enough to
/// answer every route without running anything.
async fn service_in(dir: &tempfile::TempDir) -> std::sync::Arc<Service> {
    let scripts = dir.path().join("scripts");
    std::fs::create_dir_all(&scripts).unwrap();
    let mut config = crate::service::ServiceConfig::new(dir.path().join("data"), vec![scripts]);
    config.k6 = Some("/nonexistent/k6".into());
    Service::start(config).await.unwrap()
}
