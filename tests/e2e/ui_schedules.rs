//! The Schedules view in a real headless Chromium (see `ui.rs` for the
//! browser harness), against the real runner. Its k6 is missing on
//! purpose: a fire fails at once and says why, so a last fire shows
//! without a k6 run (`schedules.rs` runs real ones).

use serde_json::json;

use crate::runner::{Options, Runner, World};
use crate::ui::{Browser, UI_TIMEOUT, artifacts_dir};

/// The schedules listed, top to bottom: `[id, enabled, pattern]`.
const ROWS: &str = "return [...document.querySelectorAll('#schedules-body tr[data-schedule]')]
    .map((row) => [row.dataset.schedule, row.dataset.enabled, row.querySelector('[data-field=pattern]').textContent])";

/// Shows the Schedules view again (its tab after another's), as a user
/// would to see what changed.
async fn reopen(browser: &Browser) {
    browser.click(".view-tabs a[data-view='live']").await;
    browser.click(".view-tabs a[data-view='schedules']").await;
}

/// An operator adds a schedule from the page (a bad pattern refused with
/// its reason first), sees its next fires in its own zone, disables it;
/// a schedule that fires shows its last fire's outcome and reason, and is
/// deleted from the page. A viewer sees the list and no form or button.
#[tokio::test]
async fn schedules_are_added_toggled_and_deleted_from_the_page() {
    let world = World::new().await;
    let runner = Runner::start(&world, &["--k6", "/nonexistent/k6"]);
    let browser = Browser::start(1280, 900).await;
    browser.goto(&format!("http://{}/", runner.addr)).await;
    browser.click(".view-tabs a[data-view='schedules']").await;
    browser
        .wait_js(
            "the empty list and the form",
            UI_TIMEOUT,
            "return [document.getElementById('schedules-body').textContent.trim(), document.getElementById('schedule-form').hidden]",
            |v| *v == json!(["No schedule yet: add one above.", false]),
        )
        .await;

    browser.type_into("#s-cron", "61 * * * *").await;
    browser.click("#schedule-add").await;
    let error = browser
        .wait_js(
            "the pattern's refusal",
            UI_TIMEOUT,
            "return document.getElementById('schedule-form-error').textContent",
            |v| v.as_str().is_some_and(|t| !t.is_empty()),
        )
        .await;
    assert!(error.as_str().unwrap().starts_with("cron: "), "{error}");
    assert_eq!(runner.get("/schedules").await.1, json!([]));

    browser.type_into("#s-name", "morning").await;
    browser.type_into("#s-cron", "0 9 * * *").await;
    browser.type_into("#s-timezone", "Europe/Berlin").await;
    browser.click("#schedule-add").await;
    browser
        .wait_js("the new schedule", UI_TIMEOUT, ROWS, |v| {
            *v == json!([["1", "true", "0 9 * * * · Europe/Berlin"]])
        })
        .await;
    let next = browser
        .js("return [...document.querySelectorAll('#schedules-body tr[data-schedule] .next-fires li')].map((li) => li.textContent)")
        .await;
    let next = next.as_array().unwrap();
    assert_eq!(next.len(), 3, "{next:?}");
    for fire in next {
        let text = fire.as_str().unwrap();
        assert!(
            text.ends_with("09:00:00 +01:00") || text.ends_with("09:00:00 +02:00"),
            "in Berlin time: {text}"
        );
    }
    assert_eq!(
        browser
            .js("return document.getElementById('schedule-form-error').textContent")
            .await,
        ""
    );

    browser
        .click("#schedules-body tr[data-schedule='1'] button[data-action='toggle']")
        .await;
    browser
        .wait_js("the schedule disabled", UI_TIMEOUT, ROWS, |v| {
            v[0][1] == "false"
        })
        .await;
    assert_eq!(runner.get("/schedules/1").await.1["enabled"], false);

    // One that fires every second: k6 is missing, so it fails, and says so.
    let (status, _) = runner
        .post_json("/schedules", &json!({"cron": "* * * * * *"}))
        .await;
    assert_eq!(status, 201);
    let until = std::time::Instant::now() + UI_TIMEOUT;
    while runner.get("/schedules/2").await.1["lastFire"].is_null() {
        assert!(std::time::Instant::now() < until, "no fire of schedule 2");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    reopen(&browser).await;
    let fire = browser
        .wait_js(
            "the second schedule's failed fire",
            UI_TIMEOUT,
            "const chip = document.querySelector(\"#schedules-body tr[data-schedule='2'] .last-fire [data-chip]\");
             return chip ? [chip.dataset.chip, chip.closest('td').textContent] : null;",
            |v| v[0] == "failed",
        )
        .await;
    assert!(fire[1].as_str().unwrap().contains("k6"), "{fire}");
    browser
        .screenshot_to(&artifacts_dir().join("schedules.png"))
        .await;
    browser
        .click("#schedules-body tr[data-schedule='2'] button[data-action='delete']")
        .await;
    browser
        .wait_js("the second schedule gone", UI_TIMEOUT, ROWS, |v| {
            v.as_array().is_some_and(|rows| rows.len() == 1)
        })
        .await;
    assert_eq!(runner.get("/schedules/2").await.0, 404);
    let banner = browser
        .js("const b = document.getElementById('control-error'); return b.hidden ? null : b.textContent")
        .await;
    assert!(banner.is_null(), "no error was expected: {banner}");
    browser.close().await;
    drop(runner);

    // A viewer: the list, read-only.
    const OPERATOR: &str = "schedules-operator-secret-5d2e8b3c";
    const VIEWER: &str = "schedules-viewer-secret-9a4f1c72";
    let tokens = world.tokens_file(&[("alice", "operator", OPERATOR), ("carol", "viewer", VIEWER)]);
    let runner = Runner::start_with(
        &world,
        Options {
            args: &["--tokens-file", &tokens, "--k6", "/nonexistent/k6"],
            token: Some(OPERATOR),
            ..Options::default()
        },
    );
    let browser = Browser::start(1280, 900).await;
    browser
        .goto(&format!("http://{}/#schedules", runner.addr))
        .await;
    browser.enter_token(VIEWER).await;
    browser
        .wait_js("the schedules, as a viewer", UI_TIMEOUT, ROWS, |v| {
            v.as_array().is_some_and(|rows| rows.len() == 1)
        })
        .await;
    let offered = browser
        .js("return [document.getElementById('schedule-form').hidden, document.querySelectorAll('#schedules-body button').length]")
        .await;
    assert_eq!(
        offered,
        json!([true, 0]),
        "no form and no button for a viewer"
    );
    browser.close().await;
    drop(runner);
}
