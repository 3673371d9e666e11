//! The WebSocket pushes what changes.

use serde_json::Value;

use crate::runner::{Runner, World, config, next_ws_json};

/// A client connected to `/ws` gets the status at once, then the run
/// starting, live metrics, and the run ending.
#[tokio::test]
async fn websocket_client_sees_a_run_start_report_metrics_and_end() {
    let world = World::new().await;
    let runner = Runner::start(&world, &[]);
    runner
        .configure(&config(2, "3s", 60, &["pass.js"], 0))
        .await;
    let (mut socket, _) =
        tokio_tungstenite::connect_async(format!("ws://{}/api/k6/ws", runner.addr))
            .await
            .unwrap();
    let first = next_ws_json(&mut socket).await;
    assert_eq!(
        (first["type"].as_str(), first["data"]["isRunning"].as_bool()),
        (Some("status"), Some(false))
    );

    let run_id = runner.start_run().await;
    let (mut saw_running, mut saw_metrics) = (false, false);
    loop {
        let event = next_ws_json(&mut socket).await;
        match event["type"].as_str() {
            Some("status") if event["data"]["isRunning"] == true => saw_running = true,
            Some("status") if saw_running && event["data"]["isRunning"] == false => break,
            Some("metrics") => {
                assert_eq!(event["data"]["runId"], run_id.as_str());
                saw_metrics |= event["data"]["requests"].as_u64().unwrap_or(0) > 0;
            }
            _ => {}
        }
    }
    assert!(saw_metrics, "no live metrics were pushed");
    let (_, history) = runner.get("/metrics").await;
    let points = history["points"].as_array().unwrap();
    assert!(
        !points.is_empty(),
        "the run's readings are kept for late viewers"
    );
    assert!(points.iter().all(|p| p["runId"] == run_id.as_str()));
}

/// A client gets the stored config when it connects (after the status),
/// and every config stored later, whoever saved it.
#[tokio::test]
async fn websocket_client_sees_a_config_saved_by_another_client() {
    let world = World::new().await;
    let runner = Runner::start(&world, &[]);
    let (mut socket, _) =
        tokio_tungstenite::connect_async(format!("ws://{}/api/k6/ws", runner.addr))
            .await
            .unwrap();
    assert_eq!(next_ws_json(&mut socket).await["type"], "status");
    let snapshot = next_ws_json(&mut socket).await;
    assert_eq!(snapshot["type"], "config", "{snapshot}");
    let (_, current) = runner.get("/config").await;
    assert_eq!(snapshot["data"], current);

    runner
        .configure(&config(3, "20s", 60, &["pass.js"], 4))
        .await;
    let mut event = Value::Null;
    for _ in 0..20 {
        event = next_ws_json(&mut socket).await;
        if event["type"] == "config" {
            break;
        }
    }
    assert_eq!(event["type"], "config", "no config event among 20 messages");
    assert_eq!(event["data"]["globalUserCount"], 3);
    assert_eq!(event["data"]["testDuration"], "20s");
    assert_eq!(event["data"]["intervalBetweenTests"], 4);
    let (_, stored) = runner.get("/config").await;
    assert_eq!(event["data"], stored);
}
