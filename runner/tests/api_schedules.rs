//! The schedule routes and every status they answer with, through
//! `warp::test` against a real [`Service`] (as `api_routes.rs` does for
//! the rest of the API). Its k6 is missing on purpose: a fire here fails
//! at once, so a real fire's record is seen without running k6 (the
//! end-to-end test, `tests/e2e/schedules.rs`, runs one).

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use testkit::in_process::{InProcess, OPERATOR, VIEWER};

/// The in-process API with a k6 that is not there.
struct Api(InProcess);

impl std::ops::Deref for Api {
    type Target = InProcess;
    fn deref(&self) -> &InProcess {
        &self.0
    }
}

impl Api {
    async fn new() -> Self {
        Self::in_dir(tempfile::tempdir().unwrap()).await
    }

    /// A service on `dir`'s data directory (kept as it is).
    async fn in_dir(dir: tempfile::TempDir) -> Self {
        Self(InProcess::start(dir, "/nonexistent/k6".into()).await)
    }

    /// `method path` with `token` and, if given, a JSON `body`: the status
    /// and the JSON answer.
    async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> (u16, Value) {
        let mut request = InProcess::request(method, path, token);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body);
        }
        let answer = self.0.send(request).await;
        (answer.status, answer.json())
    }

    async fn audit(&self) -> Vec<Value> {
        let (_, entries) = self
            .call("GET", "/audit?limit=100", Some(OPERATOR), None)
            .await;
        entries.as_array().unwrap().clone()
    }
}

/// `(field, code)` of each field error of a 422.
fn field_errors(answer: &Value) -> Vec<(String, String)> {
    answer["fields"]
        .as_array()
        .unwrap_or_else(|| panic!("no fields: {answer}"))
        .iter()
        .map(|f| {
            (
                f["field"].as_str().unwrap().to_owned(),
                f["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn schedules_are_created_read_replaced_and_deleted() {
    let api = Api::new().await;
    assert_eq!(
        api.call("GET", "/schedules", Some(VIEWER), None).await,
        (200, json!([]))
    );
    let (status, created) = api
        .call(
            "POST",
            "/schedules",
            Some(OPERATOR),
            Some(r#"{"cron": "0 3 * * *", "name": "nightly"}"#),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["id"], 1);
    assert_eq!(created["name"], "nightly");
    assert_eq!(created["timezone"], "UTC", "the default zone");
    assert_eq!(created["enabled"], true, "enabled by default");
    assert_eq!(created["lastFire"], Value::Null);
    let next = created["nextFires"].as_array().unwrap();
    assert_eq!(next.len(), 5, "{created}");
    for fire in next {
        let at = fire["at"].as_str().unwrap();
        assert!(at.ends_with("T03:00:00Z"), "{fire}");
        assert_eq!(fire["local"].as_str().unwrap(), at.replace('Z', "+00:00"));
    }
    let (status, read) = api.call("GET", "/schedules/1", Some(VIEWER), None).await;
    assert_eq!((status, &read["cron"]), (200, &json!("0 3 * * *")));

    // A PUT replaces the whole schedule: disabled, it has no next fires.
    let berlin = r#"{"cron": "0 9 * * *", "timezone": "Europe/Berlin", "enabled": false}"#;
    let (status, replaced) = api
        .call("PUT", "/schedules/1", Some(OPERATOR), Some(berlin))
        .await;
    assert_eq!(status, 200, "{replaced}");
    assert_eq!(replaced["name"], Value::Null, "an absent name is no name");
    assert_eq!(replaced["nextFires"], json!([]));
    let enabled = r#"{"cron": "0 9 * * *", "timezone": "Europe/Berlin"}"#;
    let (_, replaced) = api
        .call("PUT", "/schedules/1", Some(OPERATOR), Some(enabled))
        .await;
    let local = replaced["nextFires"][0]["local"].as_str().unwrap();
    assert!(
        local.ends_with("T09:00:00+01:00") || local.ends_with("T09:00:00+02:00"),
        "{replaced}"
    );
    let (_, all) = api.call("GET", "/schedules", Some(VIEWER), None).await;
    assert_eq!(all.as_array().unwrap().len(), 1, "{all}");
    assert_eq!(all[0]["timezone"], "Europe/Berlin");
    let (_, fires) = api
        .call("GET", "/schedules/1/fires", Some(VIEWER), None)
        .await;
    assert_eq!(fires, json!([]));

    assert_eq!(
        api.call("DELETE", "/schedules/1", Some(OPERATOR), None)
            .await,
        (200, json!({"deleted": 1}))
    );
    assert_eq!(
        api.call("GET", "/schedules/1", Some(VIEWER), None).await.0,
        404
    );

    // Each change is audited under its action, the update with its diff.
    let audit = api.audit().await;
    let of = |action: &str| -> Vec<Value> {
        audit
            .iter()
            .filter(|e| e["action"] == action)
            .cloned()
            .collect()
    };
    let creates = of("schedule.create");
    assert_eq!(creates.len(), 1, "{audit:?}");
    assert_eq!(creates[0]["actor"], "olga");
    assert_eq!(creates[0]["outcome"], "ok");
    let updates = of("schedule.update");
    assert_eq!(updates.len(), 2, "{audit:?}");
    assert!(
        updates
            .iter()
            .any(|u| u["diff"].to_string().contains("Europe/Berlin")),
        "{updates:?}"
    );
    assert_eq!(of("schedule.delete").len(), 1, "{audit:?}");
    api.service.shutdown().await;
}

#[tokio::test]
async fn writes_need_an_operator_and_bad_input_is_refused_with_its_field() {
    let api = Api::new().await;
    let body = r#"{"cron": "* * * * *"}"#;
    for (method, path) in [
        ("POST", "/schedules"),
        ("PUT", "/schedules/1"),
        ("DELETE", "/schedules/1"),
    ] {
        let (status, answer) = api.call(method, path, Some(VIEWER), Some(body)).await;
        assert_eq!(status, 403, "{method} {path}: {answer}");
        assert!(answer["error"].as_str().unwrap().contains("operator"));
        assert_eq!(api.call(method, path, None, Some(body)).await.0, 401);
    }
    for path in ["/schedules", "/schedules/1", "/schedules/1/fires"] {
        assert_eq!(api.call("GET", path, None, None).await.0, 401, "{path}");
    }

    // 422, naming the field and the reason; nothing stored.
    for (body, field, code) in [
        (r#"{"cron": "61 * * * *"}"#, "cron", "bad-cron"),
        (r#"{"cron": "* * * *"}"#, "cron", "bad-cron"),
        (r#"{"cron": "0 0 30 2 *"}"#, "cron", "bad-cron"),
        (
            r#"{"cron": "* * * * *", "timezone": "Mars/Olympus"}"#,
            "timezone",
            "unknown-time-zone",
        ),
        (
            r#"{"cron": "* * * * *", "when": "now"}"#,
            "when",
            "unknown-field",
        ),
        (r#"{"timezone": "UTC"}"#, "cron", "missing-field"),
        (
            r#"{"cron": "* * * * *", "enabled": 1}"#,
            "enabled",
            "wrong-type",
        ),
        (r#"{"cron": "#, "", "malformed-json"),
    ] {
        let (status, answer) = api
            .call("POST", "/schedules", Some(OPERATOR), Some(body))
            .await;
        assert_eq!(status, 422, "{body}: {answer}");
        assert_eq!(
            field_errors(&answer),
            [(field.to_owned(), code.to_owned())],
            "{body}"
        );
        assert!(!answer["error"].as_str().unwrap().is_empty());
    }
    let (status, answer) = api
        .call(
            "POST",
            "/schedules",
            Some(OPERATOR),
            Some(r#"{"cron": "nope", "timezone": "Nowhere"}"#),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(
        field_errors(&answer),
        [
            ("cron".to_owned(), "bad-cron".to_owned()),
            ("timezone".to_owned(), "unknown-time-zone".to_owned())
        ]
    );
    assert_eq!(
        api.call("GET", "/schedules", Some(VIEWER), None).await,
        (200, json!([]))
    );

    // 404 for an id that is not a schedule's, whatever its form.
    let created = api
        .call("POST", "/schedules", Some(OPERATOR), Some(body))
        .await;
    assert_eq!(created.0, 201);
    for id in ["2", "0", "abc", "20260101T000000Z"] {
        for (method, path, body) in [
            ("GET", format!("/schedules/{id}"), None),
            ("GET", format!("/schedules/{id}/fires"), None),
            ("PUT", format!("/schedules/{id}"), Some(body)),
            ("DELETE", format!("/schedules/{id}"), None),
        ] {
            let (status, answer) = api.call(method, &path, Some(OPERATOR), body).await;
            assert_eq!(status, 404, "{method} {path}: {answer}");
            assert!(answer["error"].as_str().unwrap().contains(id), "{answer}");
        }
    }
    // A bad PUT leaves the schedule as it was.
    let (status, _) = api
        .call(
            "PUT",
            "/schedules/1",
            Some(OPERATOR),
            Some(r#"{"cron": "x"}"#),
        )
        .await;
    assert_eq!(status, 422);
    let (_, kept) = api.call("GET", "/schedules/1", Some(VIEWER), None).await;
    assert_eq!(kept["cron"], "* * * * *");

    // 400 for a bad query, 415 for a body not said to be JSON, 405 for a
    // method the path does not take.
    let (status, answer) = api
        .call("GET", "/schedules/1/fires?limit=many", Some(VIEWER), None)
        .await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["error"].as_str().unwrap().contains("limit"));
    let plain = warp::test::request()
        .method("POST")
        .path("/schedules")
        .header("authorization", format!("Bearer {OPERATOR}"))
        .header("content-type", "text/plain")
        .body(body)
        .reply(&api.routes)
        .await;
    assert_eq!(plain.status(), 415);
    assert_eq!(
        api.call("PATCH", "/schedules/1", Some(OPERATOR), None)
            .await
            .0,
        405
    );
    // Refusals are audited like any other attempt.
    let refused = api
        .audit()
        .await
        .into_iter()
        .filter(|e| e["action"] == "schedule.create" && e["outcome"] == "refused")
        .count();
    assert!(refused >= 9, "{refused}");
    api.service.shutdown().await;
}

#[tokio::test]
async fn a_fire_is_recorded_with_its_outcome_and_audited_as_the_schedule() {
    let api = Api::new().await;
    let (status, created) = api
        .call(
            "POST",
            "/schedules",
            Some(OPERATOR),
            Some(r#"{"cron": "* * * * * *"}"#),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    // Every second; k6 is missing, so the fire fails and says why.
    let deadline = Instant::now() + Duration::from_secs(15);
    let fires = loop {
        let (status, fires) = api
            .call("GET", "/schedules/1/fires?limit=1", Some(VIEWER), None)
            .await;
        assert_eq!(status, 200, "{fires}");
        if !fires.as_array().unwrap().is_empty() {
            break fires;
        }
        assert!(Instant::now() < deadline, "no fire in 15 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(fires.as_array().unwrap().len(), 1, "{fires}");
    let fire = &fires[0];
    assert_eq!(fire["outcome"], "failed", "{fire}");
    assert_eq!(fire["schedule"], 1);
    assert!(fire["reason"].as_str().unwrap().contains("k6"), "{fire}");
    assert_eq!(fire["runId"], Value::Null);
    assert!(fire["dueAt"].as_str().unwrap().ends_with('Z'));
    let (_, schedule) = api.call("GET", "/schedules/1", Some(VIEWER), None).await;
    assert_eq!(schedule["lastFire"]["outcome"], "failed", "{schedule}");

    let audited = api
        .audit()
        .await
        .into_iter()
        .find(|e| e["action"] == "schedule.fire")
        .expect("the fire is audited");
    assert_eq!(audited["actor"], "schedule:1", "{audited}");
    assert_eq!(audited["outcome"], "error", "{audited}");
    assert_eq!(
        api.call("DELETE", "/schedules/1", Some(OPERATOR), None)
            .await
            .0,
        200
    );
    assert_eq!(
        api.call("GET", "/schedules/1/fires", Some(VIEWER), None)
            .await
            .0,
        404
    );
    api.service.shutdown().await;
}

#[tokio::test]
async fn schedules_survive_a_restart_and_a_rebuilt_history_database() {
    let api = Api::new().await;
    for cron in ["0 3 * * *", "0 4 * * *"] {
        let body = json!({ "cron": cron }).to_string();
        let (status, _) = api
            .call("POST", "/schedules", Some(OPERATOR), Some(&body))
            .await;
        assert_eq!(status, 201);
    }
    assert_eq!(
        api.call("DELETE", "/schedules/2", Some(OPERATOR), None)
            .await
            .0,
        200
    );
    let (_, before) = api.call("GET", "/schedules", Some(VIEWER), None).await;
    api.service.shutdown().await;
    let dir = api.0.into_dir();

    // The database lost (as when a corrupt one is set aside and rebuilt
    // from the run folders): the schedules come back from their copy.
    let data = dir.path().join("data");
    for file in ["history.sqlite", "history.sqlite-wal", "history.sqlite-shm"] {
        let _ = std::fs::remove_file(data.join(file));
    }
    assert!(data.join(k6_runner::schedules::SCHEDULES_FILE).is_file());
    let api = Api::in_dir(dir).await;
    let (_, after) = api.call("GET", "/schedules", Some(VIEWER), None).await;
    assert_eq!(after.as_array().unwrap().len(), 1, "{after}");
    assert_eq!(after[0]["id"], 1);
    assert_eq!(after[0]["cron"], before[0]["cron"]);
    assert_eq!(after[0]["createdAt"], before[0]["createdAt"]);
    // The deleted schedule's id (the largest given) is not given again,
    // even after the rebuild.
    let (_, created) = api
        .call(
            "POST",
            "/schedules",
            Some(OPERATOR),
            Some(r#"{"cron": "0 5 * * *"}"#),
        )
        .await;
    assert_eq!(created["id"], 3, "{created}");
    api.service.shutdown().await;
}
