//! The web UI in a real headless Chromium (Debian's `chromium` and
//! `chromium-driver`, installed by `scripts/setup.sh test`), driven through
//! ChromeDriver with fantoccini, against the real runner and a real k6.
//! Each test starts its own ChromeDriver with a fresh browser profile and
//! leaves no process behind.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::runner::{Options, Runner, World, config};
use testkit::process::ProcessGroup;

/// Longest wait for something the page shows after an action of the test.
pub(crate) const UI_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait for k6 to start a step and report its first readings.
const K6_TIMEOUT: Duration = Duration::from_secs(45);

/// An operator opens the page, is told next to each field what is wrong (0
/// users; a configured script that no longer exists), fixes it and
/// reorders the scripts, starts a real k6 run, watches live numbers and
/// charts grow, stops the run through the confirmation dialog (after once
/// keeping it running), and reads each script's outcome in the results.
#[tokio::test]
async fn operator_configures_runs_watches_stops_and_reads_results_in_the_browser() {
    let world = World::new().await;
    world.script("gone.js", crate::runner::PASS);
    let runner = Runner::start(&world, &[]);
    runner
        .configure(&config(
            2,
            "60s",
            120,
            &["pass.js", "long.js", "gone.js"],
            0,
        ))
        .await;
    // Removed after it was configured: the stored config now names a script
    // the catalogue no longer has, and saving it is refused for that entry.
    std::fs::remove_file(world.scripts.join("gone.js")).unwrap();
    let browser = Browser::start(1440, 1200).await;
    browser.goto(&format!("http://{}/", runner.addr)).await;
    browser
        .wait_js(
            "the config to load",
            UI_TIMEOUT,
            "return document.getElementById('f-globalUserCount').value",
            |v| *v == "2",
        )
        .await;

    // Invalid values: each error sits next to its field, nothing is saved.
    browser.type_into("#f-globalUserCount", "0").await;
    browser.click("#save-button").await;
    let error = browser
        .wait_js(
            "the field error",
            UI_TIMEOUT,
            "return document.getElementById('e-globalUserCount').textContent",
            |v| {
                // Every field error names its field (README, "Config").
                v.as_str()
                    .is_some_and(|text| text.contains("globalUserCount"))
            },
        )
        .await;
    let placement = browser
        .js(r#"const input = document.getElementById('f-globalUserCount');
               const error = document.getElementById('e-globalUserCount');
               const gone = document.querySelector('#script-list li[data-name="gone.js"]');
               return { sameField: input.closest('.field') === error.closest('.field'),
                        invalid: input.getAttribute('aria-invalid'),
                        goneError: gone.querySelector('.field-error')?.textContent ?? null,
                        otherScriptErrors: document.querySelectorAll('#script-list li:not([data-name="gone.js"]) .field-error').length,
                        summaryItems: document.getElementById('config-summary').hidden
                          ? 0 : document.querySelectorAll('#config-summary li').length };"#)
        .await;
    assert_eq!(placement["sameField"], true, "{placement}, error {error}");
    assert_eq!(placement["invalid"], "true", "{placement}");
    assert!(
        placement["goneError"]
            .as_str()
            .is_some_and(|text| text.contains("enabledScripts[2]")),
        "{placement}"
    );
    assert_eq!(
        (
            placement["otherScriptErrors"].clone(),
            placement["summaryItems"].clone()
        ),
        (json!(0), json!(2)),
        "{placement}"
    );
    assert_eq!(
        runner.get("/config").await.1["globalUserCount"],
        2,
        "an invalid config must not be stored"
    );

    // Fixed, gone.js removed and long.js moved first: saved, confirmed,
    // and the preview follows.
    browser.type_into("#f-globalUserCount", "3").await;
    browser
        .click("#script-list li[data-name='gone.js'] button[aria-label='Remove gone.js']")
        .await;
    browser.click("button[aria-label='Move long.js up']").await;
    browser.click("#save-button").await;
    browser
        .wait_js("the success message", UI_TIMEOUT, "const s = document.getElementById('config-success'); return s.hidden ? '' : s.textContent", |v| {
            v.as_str().is_some_and(|text| text.starts_with("Saved."))
        })
        .await;
    let (_, saved) = runner.get("/config").await;
    assert_eq!(
        (
            saved["globalUserCount"].clone(),
            saved["enabledScripts"].clone()
        ),
        (json!(3), json!(["long.js", "pass.js"]))
    );
    assert_eq!(
        browser
            .js("return document.getElementById('e-globalUserCount').textContent")
            .await,
        ""
    );
    browser
        .wait_js(
            "the k6_all.sh preview to show the new order",
            UI_TIMEOUT,
            "return document.getElementById('script-preview').textContent",
            |v| {
                v.as_str()
                    .and_then(|text| Some(text.find("long.js")? < text.find("pass.js")?))
                    .unwrap_or(false)
            },
        )
        .await;

    // Start: the controls follow the state, live numbers and charts arrive.
    assert_eq!(
        browser
            .js("return document.getElementById('stop-button').disabled")
            .await,
        true,
        "stop while idle"
    );
    browser.click("#start-button").await;
    browser
        .wait_js(
            "the running state",
            UI_TIMEOUT,
            "return document.getElementById('state-badge').dataset.state",
            |v| *v == "running",
        )
        .await;
    assert_eq!(
        browser.js("return [document.getElementById('start-button').disabled, document.getElementById('stop-button').disabled]").await,
        json!([true, false]),
        "start is disabled and stop enabled while running"
    );
    let read_number = "return Number(document.getElementById(arguments[0]).textContent.replace(/[^0-9.]/g, '')) || 0";
    browser
        .wait_js_with(
            "users above 0",
            K6_TIMEOUT,
            read_number,
            json!(["kpi-users"]),
            |v| v.as_f64().unwrap_or(0.0) > 0.0,
        )
        .await;
    browser
        .wait_js_with(
            "requests per second above 0",
            K6_TIMEOUT,
            read_number,
            json!(["kpi-rps"]),
            |v| v.as_f64().unwrap_or(0.0) > 0.0,
        )
        .await;
    assert_eq!(
        browser
            .js("return document.getElementById('current-script').textContent")
            .await,
        "long.js"
    );
    let points = "return Number(document.getElementById('chart-rps').dataset.points)";
    let first = browser
        .wait_js("the first chart readings", K6_TIMEOUT, points, |v| {
            v.as_u64().unwrap_or(0) > 0
        })
        .await;
    // A few more readings: the chart grows, and the screenshot shows a line.
    let grown = browser
        .wait_js("the chart to grow", UI_TIMEOUT, points, |v| {
            v.as_u64().unwrap_or(0) > first.as_u64().unwrap_or(0) + 2
        })
        .await;
    let canvases = browser
        .js("return document.querySelectorAll('.chart canvas').length")
        .await;
    assert_eq!(canvases, 4, "four uPlot charts are drawn");
    let chart_label = browser
        .js("return document.querySelector('#chart-rps [data-last]').textContent")
        .await;
    assert!(
        chart_label
            .as_str()
            .is_some_and(|label| label.ends_with("req/s")),
        "{chart_label}"
    );
    println!("chart readings: {first} then {grown}");
    browser
        .js("document.activeElement.blur(); window.scrollTo(0, 0); return null")
        .await;
    browser
        .screenshot_to(&artifacts_dir().join("dashboard.png"))
        .await;

    // Reloaded mid-run, the page draws the run so far at once (the kept
    // readings), not from the next live one: the first non-empty chart
    // already holds every reading seen before the reload.
    browser.client().refresh().await.unwrap();
    let reloaded = browser
        .wait_js("the charts after a reload", UI_TIMEOUT, points, |v| {
            v.as_u64().unwrap_or(0) > 0
        })
        .await;
    assert!(
        reloaded.as_u64().unwrap_or(0) >= grown.as_u64().unwrap_or(0),
        "after a reload the chart starts with {reloaded} readings, before it had {grown}"
    );

    // Stop asks first; "Keep running" keeps it running.
    browser.click("#stop-button").await;
    browser
        .wait_js(
            "the stop dialog",
            UI_TIMEOUT,
            "return document.getElementById('stop-dialog').open",
            |v| *v == true,
        )
        .await;
    browser.click("#stop-dialog button[value='cancel']").await;
    browser
        .wait_js(
            "the dialog to close",
            UI_TIMEOUT,
            "return document.getElementById('stop-dialog').open",
            |v| *v == false,
        )
        .await;
    assert_eq!(
        runner.get("/status").await.1["state"],
        "running",
        "cancelling the dialog must not stop the run"
    );
    browser.click("#stop-button").await;
    browser
        .wait_js(
            "the stop dialog",
            UI_TIMEOUT,
            "return document.getElementById('stop-dialog').open",
            |v| *v == true,
        )
        .await;
    browser.click("#stop-confirm").await;
    browser
        .wait_js(
            "the idle state",
            K6_TIMEOUT,
            "return document.getElementById('state-badge').dataset.state",
            |v| *v == "idle",
        )
        .await;
    assert_eq!(
        browser.js("return [document.getElementById('start-button').disabled, document.getElementById('stop-button').disabled]").await,
        json!([false, true]),
        "start is enabled and stop disabled when idle"
    );

    // The results: one row per script with its outcome.
    let outcomes = "return Object.fromEntries([...document.querySelectorAll('#results-body tr[data-script]')]
                      .map((row) => [row.dataset.script, row.querySelector('.outcome').textContent]))";
    let rows = browser
        .wait_js(
            "the results of the stopped run",
            UI_TIMEOUT,
            outcomes,
            |v| v.get("long.js").is_some(),
        )
        .await;
    assert_eq!(rows, json!({"long.js": "stopped", "pass.js": "skipped"}));
    let requests = browser.js("return document.querySelector('#results-body tr[data-script=\"long.js\"] td:nth-child(5)').textContent").await;
    assert!(
        requests
            .as_str()
            .is_some_and(|text| text.replace(',', "").parse::<u64>().is_ok_and(|n| n > 0)),
        "requests: {requests}"
    );
    let log_lines = browser
        .js("return document.querySelectorAll('#log-view .log-line').length")
        .await;
    assert!(
        log_lines.as_u64().unwrap_or(0) > 0,
        "the log view shows the run's lines"
    );
    // The banner also shows any script error of the page itself.
    let banner = browser.js("const b = document.getElementById('control-error'); return b.hidden ? null : b.textContent").await;
    assert!(banner.is_null(), "no error was expected: {banner}");

    browser.close().await;
}

/// With tokens configured, the page asks for one, says so when it is
/// refused, keeps the accepted one for the next visit, and goes live with
/// it (REST and WebSocket).
#[tokio::test]
async fn page_asks_for_a_token_keeps_it_and_goes_live() {
    const TOKEN: &str = "ui-operator-secret-5e8a1c9d";
    let world = World::new().await;
    let tokens = world.tokens_file(&[("alice", "operator", TOKEN)]);
    let runner = Runner::start_with(
        &world,
        Options {
            args: &["--tokens-file", &tokens],
            token: Some(TOKEN),
            ..Options::default()
        },
    );
    let browser = Browser::start(1280, 900).await;
    let page = format!("http://{}/", runner.addr);
    browser.goto(&page).await;
    let dialog_text = "const d = document.getElementById('token-dialog');
                       return d.open ? document.getElementById('token-dialog-text').textContent : null";
    browser
        .wait_js("the token prompt", UI_TIMEOUT, dialog_text, |v| {
            v.is_string()
        })
        .await;

    browser
        .type_into("#token-input", "not-the-token-of-this-runner")
        .await;
    browser.click("#token-dialog button[value='save']").await;
    browser
        .wait_js("the refusal", UI_TIMEOUT, dialog_text, |v| {
            v.as_str().is_some_and(|text| text.contains("refused"))
        })
        .await;

    browser.type_into("#token-input", TOKEN).await;
    browser.click("#token-dialog button[value='save']").await;
    let live = "return [document.getElementById('connection').dataset.connection, document.getElementById('f-globalUserCount').value]";
    browser
        .wait_js("the page to go live", UI_TIMEOUT, live, |v| {
            v[0] == "live" && v[1] != ""
        })
        .await;
    assert_eq!(
        browser
            .js("return localStorage.getItem('k6-runner.token')")
            .await,
        TOKEN
    );

    // The next visit uses the kept token without asking.
    browser.goto(&page).await;
    browser
        .wait_js("the page to go live again", UI_TIMEOUT, live, |v| {
            v[0] == "live" && v[1] != ""
        })
        .await;
    assert_eq!(
        browser
            .js("return document.getElementById('token-dialog').open")
            .await,
        false
    );
    browser.close().await;
}

/// A viewer's token shows the runner live, but starting a run or saving
/// the config is refused with a message that says why, and nothing runs
/// or changes.
#[tokio::test]
async fn viewer_token_sees_the_runner_but_cannot_control_it() {
    const OPERATOR: &str = "ui-operator-secret-7d31b2a4";
    const VIEWER: &str = "ui-viewer-secret-0f9c6e12";
    let world = World::new().await;
    let tokens = world.tokens_file(&[("alice", "operator", OPERATOR), ("carol", "viewer", VIEWER)]);
    let runner = Runner::start_with(
        &world,
        Options {
            args: &["--tokens-file", &tokens],
            token: Some(OPERATOR),
            ..Options::default()
        },
    );
    let (_, config_before) = runner.get("/config").await;
    let browser = Browser::start(1280, 900).await;
    browser.goto(&format!("http://{}/", runner.addr)).await;
    browser.enter_token(VIEWER).await;
    browser
        .wait_js(
            "the page to go live as a viewer",
            UI_TIMEOUT,
            "return [document.getElementById('connection').dataset.connection,
                     document.getElementById('start-button').disabled]",
            |v| v[0] == "live" && v[1] == false,
        )
        .await;

    browser.click("#start-button").await;
    let refusal = browser
        .wait_js(
            "the refusal to start",
            UI_TIMEOUT,
            "const b = document.getElementById('control-error'); return b.hidden ? null : b.textContent",
            Value::is_string,
        )
        .await;
    assert!(
        refusal.as_str().unwrap().contains("may only view"),
        "{refusal}"
    );

    browser.type_into("#f-globalUserCount", "9").await;
    browser.click("#save-button").await;
    let summary = browser
        .wait_js(
            "the refusal to save",
            UI_TIMEOUT,
            "const s = document.getElementById('config-summary'); return s.hidden ? null : s.textContent",
            Value::is_string,
        )
        .await;
    assert!(summary.as_str().unwrap().contains("operator"), "{summary}");

    let (_, status) = runner.get("/status").await;
    assert_eq!(status["isRunning"], false, "nothing started");
    assert!(status["runId"].is_null(), "no run was created: {status}");
    assert_eq!(runner.get("/config").await.1, config_before);
    browser.close().await;
}

/// In a narrow window the sections stack in one column, status first, and
/// nothing is wider than the window. The top bar's parts (mark and title,
/// state and connection, controls) stay apart from 420 px down to 320 px,
/// idle, during a real run, with the longest labels, and while the run
/// stops.
#[tokio::test]
async fn narrow_window_stacks_the_sections_and_keeps_the_top_bar_apart() {
    let world = World::new().await;
    let runner = Runner::start(&world, &[]);
    runner
        .configure(&config(1, "60s", 120, &["long.js"], 0))
        .await;
    let browser = Browser::start(420, 900).await;
    browser.open_idle_page(&runner).await;
    let layout = browser
        .js(r#"const box = (selector) => document.querySelector(selector).getBoundingClientRect();
               const [status, charts, config] = ['.area-status', '.area-charts', '.area-config'].map(box);
               return { sameColumn: status.left === charts.left && charts.left === config.left,
                        stacked: status.bottom <= charts.top && charts.bottom <= config.top,
                        overflow: document.documentElement.scrollWidth > window.innerWidth };"#)
        .await;
    assert_eq!(
        layout,
        json!({"sameColumn": true, "stacked": true, "overflow": false})
    );
    browser.check_top_bar("idle", 320).await;

    runner.start_run().await;
    browser
        .wait_js(
            "the running state, live",
            UI_TIMEOUT,
            "return [document.getElementById('state-badge').dataset.state,
                     document.getElementById('connection').dataset.connection]",
            |v| *v == json!(["running", "live"]),
        )
        .await;
    for width in [420, 360, 320] {
        browser.check_top_bar("running", width).await;
    }
    // The longest labels the bar can show, put in and measured in one
    // script (no status message can come in between), then put back.
    for connection in ["Reconnecting in 18 s…", "Needs an access token"] {
        let bar = browser
            .js_with(
                &format!(
                    r#"const badge = document.getElementById('state-badge');
                       const connection = document.getElementById('connection');
                       const shown = [badge.textContent, badge.dataset.state,
                                      connection.textContent, connection.dataset.connection];
                       badge.textContent = 'Stopping';
                       badge.dataset.state = 'stopping';
                       connection.textContent = arguments[0];
                       connection.dataset.connection = 'reconnecting';
                       try {{ return (() => {{ {TOP_BAR} }})(); }} finally {{
                         [badge.textContent, badge.dataset.state,
                          connection.textContent, connection.dataset.connection] = shown;
                       }}"#
                ),
                json!([connection]),
            )
            .await;
        assert_top_bar_clear(&bar, &format!("\"Stopping\" and {connection:?} at 320 px"));
    }

    // Stopping, then idle again: checked at every poll on the way.
    assert_eq!(runner.post("/stop").await.0, 202);
    browser
        .wait_js(
            "the idle state after the stop",
            K6_TIMEOUT,
            TOP_BAR,
            |bar| {
                assert_top_bar_clear(bar, "the run stops at 320 px");
                bar["state"] == "idle"
            },
        )
        .await;
    browser.close().await;
}

/// Measures the top bar: each of its children's painted extent (its box
/// and its visible content's, which may spill out of a box that shrank)
/// must overlap no other child and stay inside the window, and the page
/// must not scroll sideways. Returns the state, the overlapping pairs, the
/// children outside the window and the extents, for the failure message.
const TOP_BAR: &str = r#"
    const width = document.documentElement.clientWidth;
    const extent = (child) => [child, ...child.querySelectorAll('*')]
      .map((node) => node.getBoundingClientRect())
      // Skip what is not drawn: the title kept for screen readers is a 1 px box.
      .filter((box) => box.width > 1 && box.height > 1)
      .reduce((all, box) => ({ left: Math.min(all.left, box.left), right: Math.max(all.right, box.right),
                                top: Math.min(all.top, box.top), bottom: Math.max(all.bottom, box.bottom) }),
              { left: Infinity, right: -Infinity, top: Infinity, bottom: -Infinity });
    const parts = [...document.querySelector('.topbar').children]
      .map((child) => ({ name: child.className, box: extent(child) }))
      .filter(({ box }) => box.left < box.right);
    const overlaps = [];
    parts.forEach((a, i) => parts.slice(i + 1).forEach((b) => {
      if (a.box.left < b.box.right && b.box.left < a.box.right && a.box.top < b.box.bottom && b.box.top < a.box.bottom) {
        overlaps.push(`${a.name} / ${b.name}`);
      }
    }));
    return { state: document.getElementById('state-badge').dataset.state,
             window: window.innerWidth,
             overlaps,
             outside: parts.filter(({ box }) => box.left < 0 || box.right > width).map(({ name }) => name),
             overflow: document.documentElement.scrollWidth > window.innerWidth,
             parts: parts.map(({ name, box }) => `${name}: ${Math.round(box.left)}-${Math.round(box.right)} x ${Math.round(box.top)}-${Math.round(box.bottom)}`) };"#;

/// Whether a `TOP_BAR` measure shows its parts apart and in the window.
fn top_bar_is_clear(bar: &Value) -> bool {
    bar["overlaps"] == json!([]) && bar["outside"] == json!([]) && bar["overflow"] == false
}

/// Fails unless a `TOP_BAR` measure shows its parts apart and in the window.
fn assert_top_bar_clear(bar: &Value, when: &str) {
    assert!(
        top_bar_is_clear(bar),
        "the top bar's parts collide or spill out ({when}): {bar:#}"
    );
}

/// A config saved elsewhere (here with the API, as curl or another page
/// would) shows on an open page at once; unsaved edits on the page stay.
#[tokio::test]
async fn config_saved_elsewhere_shows_on_the_open_page() {
    let world = World::new().await;
    let runner = Runner::start(&world, &[]);
    let browser = Browser::start(1280, 900).await;
    browser.open_idle_page(&runner).await;
    let field = |id: &str| format!("return document.getElementById('f-{id}').value");

    runner
        .configure(&config(7, "2m", 300, &["pass.js"], 0))
        .await;
    browser
        .wait_js(
            "the users pushed by the other client",
            UI_TIMEOUT,
            &field("globalUserCount"),
            |v| *v == "7",
        )
        .await;
    assert_eq!(browser.js(&field("testDuration")).await, "2m");

    browser.type_into("#f-testDuration", "45s").await;
    runner
        .configure(&config(9, "2m", 300, &["pass.js"], 0))
        .await;
    browser
        .wait_js(
            "the page to take the new saved state",
            UI_TIMEOUT,
            "return document.getElementById('config-dirty').hidden",
            |v| *v == false,
        )
        .await;
    assert_eq!(
        browser.js(&field("testDuration")).await,
        "45s",
        "the unsaved edit stays"
    );
    assert_eq!(browser.js(&field("globalUserCount")).await, "7");
    browser.close().await;
}

/// A tiny k6 script for the layout stories, aimed at the world's target.
/// Its thresholds fill a results row as a real suite would: four pass, and
/// one is crossed on purpose, so the step fails with a reason.
const LAYOUT_SCRIPT: &str = r#"
import http from 'k6/http';
import { check, sleep } from 'k6';
export const options = {
  thresholds: {
    http_req_failed: ['rate<0.01'],
    checks: ['rate>0.99'],
    http_req_duration: ['p(95)<500', 'p(99)<1000'],
    iterations: ['count>1000000'],
  },
};
export default function () {
  check(http.get('TARGET/fast'), { 'status is 200': (r) => r.status === 200 });
  sleep(0.1);
}
"#;

/// Measures the page's layout in the browser: the live-metrics panel's top
/// (page coordinates), the script list's box, the page's height, and what
/// spills sideways: a panel (or, when `arguments[0]`, a table box) whose
/// content is wider than its box, and any element reaching outside its
/// panel that no box of the panel clips.
const LAYOUT: &str = r#"
    const page = document.documentElement;
    const panels = [...document.querySelectorAll('main .panel')];
    const name = (node) => `${node.tagName.toLowerCase()}.${node.getAttribute('class') ?? ''}`;
    const clipped = (node, panel) => {
      for (let up = node.parentElement; up && up !== panel; up = up.parentElement) {
        if (getComputedStyle(up).overflowX !== 'visible') return true;
      }
      return false;
    };
    const outside = [];
    for (const panel of panels) {
      const p = panel.getBoundingClientRect();
      for (const node of panel.querySelectorAll('*')) {
        const b = node.getBoundingClientRect();
        if (b.width <= 1 || b.height <= 1 || clipped(node, panel)) continue;
        if (b.left < p.left - 1 || b.right > p.right + 1) {
          outside.push(`${name(panel)} > ${name(node)}: ${Math.round(b.left)}-${Math.round(b.right)} outside ${Math.round(p.left)}-${Math.round(p.right)}`);
        }
      }
    }
    const boxes = arguments[0] ? [...panels, ...document.querySelectorAll('main .table-wrap')] : panels;
    const list = document.getElementById('script-list');
    return {
      viewport: [window.innerWidth, window.innerHeight],
      chartsTop: Math.round(document.querySelector('.area-charts').getBoundingClientRect().top + window.scrollY),
      scripts: list.children.length,
      list: { scrollHeight: list.scrollHeight, clientHeight: list.clientHeight },
      pageHeight: page.scrollHeight,
      pageWider: page.scrollWidth > window.innerWidth,
      overflowing: boxes.filter((box) => box.scrollWidth > box.clientWidth + 1)
        .map((box) => `${name(box)}: ${box.scrollWidth} > ${box.clientWidth}`),
      outside: outside.slice(0, 12),
      table: (() => { const wrap = document.querySelector('.table-wrap'); return [wrap.scrollWidth, wrap.clientWidth]; })(),
    };"#;

/// Fails unless a `LAYOUT` measure shows nothing spilling sideways.
fn assert_nothing_spills(layout: &Value, when: &str) {
    assert!(
        layout["overflowing"] == json!([])
            && layout["outside"] == json!([])
            && layout["pageWider"] == false,
        "something is wider than its box ({when}): {layout:#}"
    );
}

/// An operator's script folder grows from one script to fifty, and the
/// page keeps its shape at 1280×800: the live metrics start in the first
/// screen either way (the two columns are separate flows, so the long
/// configuration does not push them down), the script list scrolls in its
/// own bounded box instead of growing the page, and no panel is wider than
/// its box, the results with their thresholds included. Narrowed to 320 px
/// the fifty scripts still fit. Screenshots of the first screen:
/// `target/test-artifacts/layout-1-script.png`, `layout-50-scripts.png`.
#[tokio::test]
async fn from_one_script_to_fifty_the_live_metrics_stay_in_the_first_screen() {
    let world = World::new().await;
    // Only the operator's scripts in the folder: the standard ones go.
    for entry in std::fs::read_dir(&world.scripts).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            std::fs::remove_dir_all(path).unwrap();
        } else {
            std::fs::remove_file(path).unwrap();
        }
    }
    let names: Vec<String> = (1..=50)
        .map(|i| format!("checkout-flow-{i:02}.js"))
        .collect();
    world.script(&names[0], LAYOUT_SCRIPT);
    let runner = Runner::start(&world, &[]);
    runner
        .configure(&config(2, "2s", 30, &[names[0].as_str()], 0))
        .await;
    // A real run, so that the results, logs and charts hold what they
    // hold after a run.
    runner.start_run().await;
    let record = runner.wait_for_results().await;
    assert_eq!(
        crate::runner::step(&record, &names[0])["state"],
        "failed",
        "{record:#}"
    );

    let browser = Browser::start(1280, 800).await;
    let mut measured = Vec::new();
    for (count, shot) in [(1, "layout-1-script.png"), (50, "layout-50-scripts.png")] {
        for name in &names[1..count] {
            world.script(name, LAYOUT_SCRIPT);
        }
        let enabled: Vec<&str> = names[..count].iter().map(String::as_str).collect();
        runner.configure(&config(2, "2s", 30, &enabled, 0)).await;
        browser.open_idle_page(&runner).await;
        browser.set_viewport(1280, 800).await;
        browser
            .wait_js_with(
                &format!("{count} scripts, the results, the charts and the preview"),
                UI_TIMEOUT,
                "return [document.querySelectorAll('#script-list li').length,
                         document.querySelectorAll('#results-body tr[data-script]').length,
                         document.querySelectorAll('#results-body .thresholds li').length,
                         Number(document.getElementById('chart-rps').dataset.points) > 0,
                         document.getElementById('script-preview').textContent.includes(arguments[0])]",
                json!([names[count - 1]]),
                |v| *v == json!([count, 1, 5, true, true]),
            )
            .await;
        let layout = browser
            .js_with(
                &format!("document.activeElement.blur(); window.scrollTo(0, 0); {LAYOUT}"),
                json!([true]),
            )
            .await;
        browser.screenshot_to(&artifacts_dir().join(shot)).await;
        println!("{count} script(s): {layout:#}");

        let when = format!("{count} script(s) at 1280×800");
        assert_eq!(layout["viewport"], json!([1280, 800]), "{when}");
        assert!(
            layout["chartsTop"].as_u64().unwrap() < 800,
            "the live metrics start below the first screen ({when}): {layout:#}"
        );
        assert_nothing_spills(&layout, &when);
        let list = &layout["list"];
        let scrolls = list["scrollHeight"].as_u64() > list["clientHeight"].as_u64();
        assert_eq!(
            scrolls,
            count == 50,
            "the script list scrolls only when it must ({when}): {list}"
        );
        assert!(
            list["clientHeight"].as_u64().unwrap() <= 800 * 6 / 10,
            "the script list's box takes more than 60 % of the screen ({when}): {list}"
        );
        measured.push(layout);
    }
    // The 49 scripts more make the page taller by no more than the list's
    // bounded box grew: the rest of them lives in the list's own scroll.
    let height = |layout: &Value| layout["pageHeight"].as_i64().unwrap();
    let list_box = |layout: &Value| layout["list"]["clientHeight"].as_i64().unwrap();
    let (one, fifty) = (&measured[0], &measured[1]);
    assert!(
        height(fifty) <= height(one) + (list_box(fifty) - list_box(one)) + 1,
        "the page grew with the script list: {} px with 1 script, {} px with 50",
        height(one),
        height(fifty)
    );

    // Narrow: the panels stack and nothing is wider than the window; the
    // results table may scroll sideways inside its own box there.
    browser.set_viewport(320, 800).await;
    let narrow = browser.js_with(LAYOUT, json!([false])).await;
    assert_nothing_spills(&narrow, "50 scripts at 320 px");
    browser.close().await;
}

/// Each state of the runner, a run or a script has one label and one
/// colour, from one place (`run-state.js`), also the states the runner
/// does not send yet: green means success and nothing else, a run that
/// finished with failures is red, stopped and skipped are neutral grey
/// (no error colour), and a state the page does not know is neutral too.
#[tokio::test]
async fn each_run_state_has_one_label_and_a_colour_that_says_what_it_is() {
    let world = World::new().await;
    let runner = Runner::start(&world, &[]);
    let browser = Browser::start(1280, 800).await;
    browser.open_idle_page(&runner).await;
    let states = browser
        .js_async(
            r#"const done = arguments[arguments.length - 1];
               // The page's own module, under the URL the page loads it by.
               const url = document.querySelector('link[rel="modulepreload"][href*="run-state.js"]').href;
               import(url).then(({ runState }) => {
                 const colour = (value) => {
                   const probe = document.createElement('span');
                   probe.style.color = value;
                   document.body.append(probe);
                   const rgb = getComputedStyle(probe).color;
                   probe.remove();
                   return rgb;
                 };
                 const tones = Object.fromEntries(['green', 'red', 'amber', 'blue', 'neutral', 'muted', 'faint']
                   .map((tone) => [colour(`var(--${tone})`), tone]));
                 const shown = {};
                 for (const state of ['idle', 'running', 'stopping', 'pending', 'completed', 'finished',
                                      'finishedWithFailures', 'failed', 'interrupted', 'stopped', 'skipped',
                                      'somethingNew']) {
                   const { label, className } = runState(state);
                   const badge = document.createElement('span');
                   badge.className = `badge ${className}`;
                   document.body.append(badge);
                   shown[state] = [label, className, tones[getComputedStyle(badge).color] ?? getComputedStyle(badge).color];
                   badge.remove();
                 }
                 const top = document.getElementById('state-badge');
                 shown.topBar = [top.textContent, top.className, runState('idle').className];
                 done(shown);
               }, (error) => done(String(error)));"#,
        )
        .await;
    let tone = |state: &str| states[state][2].as_str().unwrap_or_default().to_owned();
    for (state, expected) in [
        ("completed", "green"),
        ("finished", "green"),
        ("finishedWithFailures", "red"),
        ("failed", "red"),
        ("interrupted", "red"),
        ("stopped", "neutral"),
        ("skipped", "faint"),
        ("idle", "muted"),
        ("pending", "muted"),
        ("running", "blue"),
        ("stopping", "amber"),
        ("somethingNew", "muted"),
    ] {
        assert_eq!(tone(state), expected, "{state}: {states:#}");
    }
    assert_eq!(
        states["finishedWithFailures"],
        json!(["finished with failures", "badge-failed", "red"])
    );
    assert_eq!(
        states["stopped"],
        json!(["stopped", "badge-stopped", "neutral"])
    );
    assert_eq!(states["somethingNew"][0], "somethingNew", "{states:#}");
    // The top bar's badge comes from the same mapping.
    assert_eq!(
        states["topBar"],
        json!(["idle", "badge badge-idle", "badge-idle"])
    );
    browser.close().await;
}

/// A k6 script with a custom metric, for the results' metric list.
const COUNTER_SCRIPT: &str = r#"
import http from 'k6/http';
import { sleep } from 'k6';
import { Counter } from 'k6/metrics';
const hits = new Counter('ui_custom_hits');
export default function () {
  http.get('TARGET/fast');
  hits.add(1);
  sleep(0.05);
}
"#;

/// Tells which of the theme's colours an element is painted in
/// (`tone(node)`: `green`, `red`, `neutral`…, or the colour itself).
pub(crate) const TONES: &str = r#"
    const colour = (value) => {
      const probe = document.createElement('span');
      probe.style.color = value;
      document.body.append(probe);
      const rgb = getComputedStyle(probe).color;
      probe.remove();
      return rgb;
    };
    const tones = Object.fromEntries(['green', 'red', 'amber', 'blue', 'neutral', 'muted', 'faint']
      .map((tone) => [colour(`var(--${tone})`), tone]));
    const tone = (node) => (node ? tones[getComputedStyle(node).color] ?? getComputedStyle(node).color : null);"#;

/// The suite is a list of entries, not one tick per script: an operator
/// keeps an entry whose env the form does not edit (shown on its row,
/// saved back unchanged), removes another, adds the same script twice from
/// "Add script", gives the second its own users and saves (the stored
/// config is exactly that list). After a real run the Status panel and the
/// Results show each step by position with its own users; the metric list
/// of a step is collapsed until opened and then holds the script's custom
/// Counter; the step's files are links the API serves. A `lagged` notice
/// makes the log view read the lines it misses from the backlog, in order
/// and once each.
#[tokio::test]
async fn the_same_script_twice_with_its_own_users_is_configured_run_and_reported_per_step() {
    let world = World::new().await;
    world.script("counter.js", COUNTER_SCRIPT);
    let runner = Runner::start(&world, &[]);
    let mut start = config(2, "2s", 30, &[], 0);
    start["enabledScripts"] =
        json!([{"script": "counter.js", "env": {"RUN_TAG": "first"}}, "pass.js"]);
    runner.configure(&start).await;
    let browser = Browser::start(1440, 1400).await;
    browser.open_idle_page(&runner).await;
    let rows = "return [...document.querySelectorAll('#script-list li')].map((row) =>
                  [row.dataset.name, row.querySelector('.entry-settings')?.textContent ?? '',
                   row.querySelector('.entry-users input').value,
                   row.querySelector('.entry-users input').getAttribute('aria-label')])";
    let shown = browser
        .wait_js("the two entries", UI_TIMEOUT, rows, |v| {
            v.as_array().is_some_and(|rows| rows.len() == 2)
        })
        .await;
    assert_eq!(
        shown,
        json!([
            [
                "counter.js",
                "env: RUN_TAG=first",
                "",
                "Users for counter.js"
            ],
            ["pass.js", "", "", "Users for pass.js"]
        ])
    );

    browser.click("button[aria-label='Remove pass.js']").await;
    browser.click("#add-script summary").await;
    browser
        .wait_js(
            "the catalogue",
            UI_TIMEOUT,
            "return document.querySelector('#catalogue-list li[data-name=\"counter.js\"] button')?.disabled",
            |v| *v == false,
        )
        .await;
    browser.click("button[aria-label='Add counter.js']").await;
    // The same script twice: its controls now say which step they are for.
    browser
        .type_into("input[aria-label='Users for counter.js (step 2)']", "3")
        .await;
    let shown = browser.js(rows).await;
    assert_eq!(
        shown,
        json!([
            [
                "counter.js",
                "env: RUN_TAG=first",
                "",
                "Users for counter.js (step 1)"
            ],
            ["counter.js", "", "3", "Users for counter.js (step 2)"]
        ])
    );
    assert_eq!(
        browser
            .js("return document.getElementById('config-dirty').hidden")
            .await,
        false
    );
    browser.click("#save-button").await;
    browser
        .wait_js("the success message", UI_TIMEOUT, "const s = document.getElementById('config-success'); return s.hidden ? '' : s.textContent", |v| {
            v.as_str().is_some_and(|text| text.starts_with("Saved."))
        })
        .await;
    let (_, saved) = runner.get("/config").await;
    assert_eq!(
        saved["enabledScripts"],
        json!([
            {"script": "counter.js", "env": {"RUN_TAG": "first"}},
            {"script": "counter.js", "users": 3}
        ])
    );
    assert_eq!(
        browser
            .js("return document.getElementById('config-dirty').hidden")
            .await,
        true,
        "the saved form has no unsaved edits"
    );

    browser.click("#start-button").await;
    runner
        .wait_status(UI_TIMEOUT, "the run to start", |s| s["isRunning"] == true)
        .await;
    let record = runner.wait_for_results().await;
    let users: Vec<Value> = record["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|step| json!([step["step"], step["state"], step["settings"]["users"]]))
        .collect();
    assert_eq!(
        users,
        [json!([1, "completed", 2]), json!([2, "completed", 3])],
        "{record:#}"
    );
    let steps = "return [...document.querySelectorAll('#results-body tr[data-step]')].map((row) =>
                   [row.dataset.step, row.dataset.script, row.querySelector('.outcome').textContent,
                    row.querySelector('.step-load').textContent])";
    let shown = browser
        .wait_js("both steps in the results", UI_TIMEOUT, steps, |v| {
            v.as_array()
                .is_some_and(|rows| rows.len() == 2 && rows.iter().all(|row| row[2] == "completed"))
        })
        .await;
    assert_eq!(
        shown,
        json!([
            ["1", "counter.js", "completed", "step 1 · 2 VUs"],
            ["2", "counter.js", "completed", "step 2 · 3 VUs"]
        ])
    );
    let status_steps = browser
        .js("return [...document.querySelectorAll('#step-list li')].map((chip) => [chip.dataset.step, chip.dataset.state, chip.querySelector('.step-users').textContent])")
        .await;
    assert_eq!(
        status_steps,
        json!([["1", "completed", "2 VUs"], ["2", "completed", "3 VUs"]])
    );

    // Every metric, collapsed until asked for; then the custom one is there.
    let metrics = "const details = document.querySelector('tr.details-row[data-for-step=\"2\"] details.metrics');
                   const row = details.querySelector('tr[data-metric=\"ui_custom_hits\"]');
                   return { open: details.open, summary: details.querySelector('summary').textContent,
                            shown: Boolean(row && row.checkVisibility() && row.getBoundingClientRect().height > 0),
                            row: row ? row.textContent : null,
                            names: [...details.querySelectorAll('tbody tr')].map((r) => r.dataset.metric) };";
    let closed = browser.js(metrics).await;
    assert_eq!(
        (closed["open"].clone(), closed["shown"].clone()),
        (json!(false), json!(false)),
        "{closed:#}"
    );
    let count = record["steps"][1]["summary"]["metrics"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(closed["summary"], format!("All metrics ({count})"));
    browser
        .click("tr.details-row[data-for-step='2'] details.metrics summary")
        .await;
    let open = browser.js(metrics).await;
    assert_eq!(
        (open["open"].clone(), open["shown"].clone()),
        (json!(true), json!(true)),
        "{open:#}"
    );
    let row = open["row"].as_str().unwrap();
    assert!(
        row.starts_with("ui_custom_hitscounter") && row.contains("count"),
        "{open:#}"
    );
    for builtin in ["http_req_duration", "http_reqs", "iterations"] {
        assert!(
            open["names"].as_array().unwrap().contains(&json!(builtin)),
            "{open:#}"
        );
    }
    // The step's files are links to the files API, and it serves them.
    let files = browser
        .js_async(
            r#"const done = arguments[arguments.length - 1];
               const links = [...document.querySelectorAll('tr.details-row[data-for-step="2"] a.file-link')];
               Promise.all(links.map((link) => fetch(link.href).then((r) => [link.dataset.path, r.status])))
                 .then(done, (error) => done(String(error)));"#,
        )
        .await;
    let summary_export = record["steps"][1]["files"][0]["path"].as_str().unwrap();
    assert!(
        files
            .as_array()
            .is_some_and(|files| files.contains(&json!([summary_export, 200]))
                && files.contains(&json!([record["steps"][1]["logFile"], 200]))),
        "{files}"
    );
    browser
        .js("document.querySelector('tr[data-step=\"2\"]').scrollIntoView(); return null")
        .await;
    browser
        .screenshot_to(&artifacts_dir().join("results-per-step.png"))
        .await;

    // Lagged: the lines after the last one seen come from the backlog.
    let caught_up = browser
        .js_async(
            r#"const done = arguments[arguments.length - 1];
               const url = (name) => document.querySelector(`link[rel="modulepreload"][href*="${name}"]`).href;
               Promise.all([import(url('logs.js')), import(url('socket.js'))]).then(([{ logs }, { live }]) => {
                 const view = document.getElementById('log-view');
                 const seqs = () => [...view.children].map((line) => Number(line.dataset.seq));
                 const before = seqs();
                 const keep = before[Math.floor(before.length / 2)];
                 for (const line of [...view.children]) if (Number(line.dataset.seq) > keep) line.remove();
                 logs.lastSeq = keep;
                 live.dispatch(JSON.stringify({ type: 'lagged', data: { missedEvents: 12, lastLogSeq: before.at(-1) } }));
                 const until = Date.now() + 5000;
                 const poll = () => {
                   const now = seqs();
                   if (now.length >= before.length || Date.now() > until) done({ before, now, keep });
                   else setTimeout(poll, 50);
                 };
                 poll();
               }, (error) => done(String(error)));"#,
        )
        .await;
    assert!(
        caught_up["before"].as_array().is_some_and(|b| b.len() > 2),
        "{caught_up}"
    );
    assert_eq!(caught_up["now"], caught_up["before"], "{caught_up}");
    browser.close().await;
}

/// "Add script" offers the catalogue as k6 judged it: a helper module
/// (named exports only) is shown disabled with k6's own reason, and a
/// script that runs only its own scenarios is offered with its own load.
/// A refused entry's field error sits at that entry's field.
#[tokio::test]
async fn add_script_shows_what_k6_cannot_run_and_entry_errors_sit_at_their_row() {
    let world = World::new().await;
    world.script(
        "helpers.js",
        "export function greeting(name) { return `hello ${name}`; }\nexport const ANSWER = 42;\n",
    );
    world.script(
        "scenarios.js",
        r#"
import http from 'k6/http';
export const options = {
  scenarios: { browse: { executor: 'shared-iterations', vus: 1, iterations: 3, exec: 'browse' } },
};
export function browse() { http.get('TARGET/fast'); }
"#,
    );
    let runner = Runner::start(&world, &[]);
    runner
        .configure(&config(2, "2s", 30, &["pass.js"], 0))
        .await;
    let (_, catalogue) = runner.get("/scripts").await;
    let info = |name: &str| {
        catalogue
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {catalogue:#}"))
            .clone()
    };
    let helper = info("helpers.js");
    assert_eq!(helper["runnable"], false, "{helper:#}");
    let reason = helper["test"]["reason"].as_str().unwrap().to_owned();

    let browser = Browser::start(1280, 1000).await;
    browser.open_idle_page(&runner).await;
    browser.click("#add-script summary").await;
    let item = "const item = document.querySelector(`#catalogue-list li[data-name=\"${arguments[0]}\"]`);
                return item && { runnable: item.dataset.runnable,
                         buttons: [...item.querySelectorAll('button')].map((b) => [b.getAttribute('aria-label'), b.disabled]),
                         reason: item.querySelector('.catalogue-reason')?.textContent ?? null,
                         described: item.querySelector('button').getAttribute('aria-describedby') };";
    let shown = browser
        .wait_js_with(
            "the helper module in the catalogue",
            UI_TIMEOUT,
            item,
            json!(["helpers.js"]),
            |v| !v.is_null(),
        )
        .await;
    assert_eq!(shown["runnable"], "false", "{shown:#}");
    assert_eq!(
        shown["buttons"],
        json!([["Add helpers.js", true]]),
        "a helper module cannot be added at all: {shown:#}"
    );
    assert_eq!(shown["reason"], reason.as_str(), "{shown:#}");
    assert!(shown["described"].is_string(), "{shown:#}");
    let pass = browser.js_with(item, json!(["pass.js"])).await;
    assert_eq!(
        (pass["buttons"].clone(), pass["reason"].clone()),
        (json!([["Add pass.js", false]]), Value::Null)
    );
    let scenarios = browser.js_with(item, json!(["scenarios.js"])).await;
    assert_eq!(
        scenarios["buttons"],
        json!([
            ["Add scenarios.js", true],
            ["Add scenarios.js with its own load", false]
        ]),
        "{scenarios:#}"
    );
    browser
        .screenshot_to(&artifacts_dir().join("add-script.png"))
        .await;

    // Added with its own load: no users to give; pass.js gets a bad count.
    browser
        .click("button[aria-label='Add scenarios.js with its own load']")
        .await;
    let own = browser
        .js("const row = document.querySelector('#script-list li[data-name=\"scenarios.js\"]');
             return [row.querySelector('.entry-settings').textContent, row.querySelector('.entry-users input').disabled]")
        .await;
    assert_eq!(own, json!(["load: script", true]));
    browser
        .type_into("input[aria-label='Users for pass.js']", "0")
        .await;
    browser.click("#save-button").await;
    let placed = browser
        .wait_js(
            "the entry's field error",
            UI_TIMEOUT,
            "const rows = [...document.querySelectorAll('#script-list li')];
             const summary = document.getElementById('config-summary');
             return summary.hidden ? null : {
               errors: rows.map((row) => [...row.querySelectorAll('.field-error')].map((e) => e.textContent)),
               invalid: rows.map((row) => row.querySelector('.entry-users input').getAttribute('aria-invalid')),
               described: document.querySelector(\"input[aria-label='Users for pass.js']\").getAttribute('aria-describedby'),
               summary: summary.querySelectorAll('li').length };",
            |v| !v.is_null(),
        )
        .await;
    assert_eq!(placed["summary"], 1, "{placed:#}");
    assert_eq!(placed["invalid"], json!(["true", null]), "{placed:#}");
    assert!(
        placed["errors"][0][0]
            .as_str()
            .is_some_and(|text| text.contains("enabledScripts[0].users")),
        "{placed:#}"
    );
    assert_eq!(placed["errors"][1], json!([]), "{placed:#}");
    assert!(placed["described"].is_string(), "{placed:#}");
    assert_eq!(
        runner.get("/config").await.1["enabledScripts"],
        json!(["pass.js"]),
        "nothing stored"
    );

    // Fixed (empty: the global count), saved as a name and an object.
    browser
        .type_into("input[aria-label='Users for pass.js']", "")
        .await;
    browser.click("#save-button").await;
    browser
        .wait_js("the success message", UI_TIMEOUT, "const s = document.getElementById('config-success'); return s.hidden ? '' : s.textContent", |v| {
            v.as_str().is_some_and(|text| text.starts_with("Saved."))
        })
        .await;
    assert_eq!(
        runner.get("/config").await.1["enabledScripts"],
        json!(["pass.js", {"script": "scenarios.js", "load": "script"}])
    );
    browser.close().await;
}

/// An operator's stop is no failure: afterwards the top badge is idle grey,
/// the run's outcome "stopped" neutral grey in the Status panel and the
/// results, and no "Last error" box shows. A run that went through every
/// step but had one fail is "finished with failures", in red, in both
/// places; its failed step too. Colours as painted, not class names.
#[tokio::test]
async fn a_stopped_run_looks_neutral_and_a_run_with_a_failed_step_looks_failed() {
    let world = World::new().await;
    let runner = Runner::start(&world, &[]);
    runner
        .configure(&config(1, "60s", 120, &["long.js"], 0))
        .await;
    let browser = Browser::start(1280, 900).await;
    browser.open_idle_page(&runner).await;
    runner.start_run().await;
    browser
        .wait_js(
            "the running state",
            UI_TIMEOUT,
            "return document.getElementById('state-badge').dataset.state",
            |v| *v == "running",
        )
        .await;
    assert_eq!(
        browser
            .js("return document.getElementById('run-outcome').hidden")
            .await,
        true,
        "no outcome while it runs"
    );
    assert_eq!(runner.post("/stop").await.0, 202);
    let measure = format!(
        "{TONES}
         const badge = document.getElementById('state-badge');
         const outcome = document.getElementById('run-outcome');
         const result = document.querySelector('#results-meta .outcome');
         return {{ badge: [badge.dataset.state, tone(badge)],
                  outcome: outcome.hidden ? null : [outcome.textContent, tone(outcome)],
                  results: result ? [result.textContent, tone(result)] : null,
                  lastError: document.getElementById('last-error').hidden ? null : document.getElementById('last-error-text').textContent,
                  steps: [...document.querySelectorAll('#step-list li')].map((chip) => [chip.dataset.state, tone(chip)]) }};"
    );
    let stopped = browser
        .wait_js("the stopped run", K6_TIMEOUT, &measure, |v| {
            v["badge"][0] == "idle" && !v["outcome"].is_null() && v["results"][0] == "stopped"
        })
        .await;
    assert_eq!(
        stopped,
        json!({
            "badge": ["idle", "muted"],
            "outcome": ["stopped", "neutral"],
            "results": ["stopped", "neutral"],
            "lastError": null,
            "steps": [["stopped", "neutral"]],
        })
    );
    assert!(runner.get("/status").await.1["lastError"].is_null());

    runner
        .configure(&config(1, "2s", 30, &["pass.js", "fail.js"], 0))
        .await;
    runner.start_run().await;
    runner.wait_for_results().await;
    let failed = browser
        .wait_js("the run with a failed step", K6_TIMEOUT, &measure, |v| {
            v["badge"][0] == "idle" && v["results"][0] == "finished with failures"
        })
        .await;
    assert_eq!(
        failed["outcome"],
        json!(["finished with failures", "red"]),
        "{failed:#}"
    );
    assert_eq!(
        failed["results"],
        json!(["finished with failures", "red"]),
        "{failed:#}"
    );
    assert_eq!(
        failed["steps"],
        json!([["completed", "green"], ["failed", "red"]]),
        "{failed:#}"
    );
    assert!(
        failed["lastError"]
            .as_str()
            .is_some_and(|text| text.contains("fail.js")),
        "a failed step is an error: {failed:#}"
    );
    browser.close().await;
}

/// Where test artefacts go: `target/test-artifacts/` of the workspace
/// (ignored by git).
pub(crate) fn artifacts_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A program on `PATH` (or `$<env>`), or a failure that says how to get it.
fn program(name: &str, env: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(env) {
        return PathBuf::from(path);
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
        .unwrap_or_else(|| {
            panic!("{name} not found on PATH: run `scripts/setup.sh test` (or set {env})")
        })
}

/// ChromeDriver (its own process group, so Chromium goes with it) and a
/// WebDriver session with a fresh profile.
pub(crate) struct Browser {
    client: Option<Client>,
    driver: ProcessGroup,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts ChromeDriver on a free port and a headless Chromium with a
    /// `width`×`height` window.
    pub(crate) async fn start(width: u32, height: u32) -> Self {
        let chromium = program("chromium", "CHROMIUM");
        let mut command = Command::new(program("chromedriver", "CHROMEDRIVER"));
        command
            // Port 0: ChromeDriver takes a free port and prints it, so no
            // other test can take it between our choice and its bind.
            .args(["--port=0", "--allowed-ips=127.0.0.1", "--log-level=WARNING"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut driver =
            ProcessGroup::spawn("chromedriver", &mut command).unwrap_or_else(|e| panic!("{e}"));
        let (_, line) = driver
            .wait_for_line(
                "ChromeDriver was started successfully on port ",
                Duration::from_secs(20),
            )
            .unwrap_or_else(|e| panic!("{e}"));
        let port: u16 = line
            .trim()
            .trim_end_matches('.')
            .parse()
            .expect("chromedriver's port");
        let profile = tempfile::tempdir().unwrap();
        let capabilities = json!({
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--no-first-run",
                    // No network but 127.0.0.1 on these machines: nothing may phone home.
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    format!("--user-data-dir={}", profile.path().display()),
                    format!("--window-size={width},{height}"),
                ],
            },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!("a JSON object")
        };
        // Once driver is owned by the Browser, Drop cleans up whatever fails next.
        let mut browser = Self {
            client: None,
            driver,
            _profile: profile,
        };
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a WebDriver session with headless Chromium");
        browser.client = Some(client);
        browser
    }

    pub(crate) fn client(&self) -> &Client {
        self.client.as_ref().expect("an open session")
    }

    pub(crate) async fn goto(&self, url: &str) {
        self.client().goto(url).await.unwrap();
    }

    /// Opens the runner's page and waits until it shows an idle runner.
    pub(crate) async fn open_idle_page(&self, runner: &Runner) {
        self.goto(&format!("http://{}/", runner.addr)).await;
        self.wait_js(
            "the page to load",
            UI_TIMEOUT,
            "return document.getElementById('state-badge').dataset.state",
            |v| *v == "idle",
        )
        .await;
        self.wait_js(
            "the page to go live",
            UI_TIMEOUT,
            "return document.getElementById('connection').dataset.connection",
            |v| *v == "live",
        )
        .await;
    }

    /// Resizes the window to `width` (the height kept) and checks the top
    /// bar there (`TOP_BAR`), in state `state`.
    pub(crate) async fn check_top_bar(&self, state: &str, width: u32) {
        let (_, height) = self.client().get_window_size().await.unwrap();
        self.client()
            .set_window_size(width, height as u32)
            .await
            .unwrap();
        // The layout after a resize settles over a few frames (the charts
        // follow their panels' new width): what must hold is the settled
        // layout, so the measure is repeated until it is clear, and a
        // timeout shows the last one.
        self.wait_js(
            &format!("a clear top bar in a {width} px window, {state}"),
            UI_TIMEOUT,
            TOP_BAR,
            |bar| bar["window"] == width && bar["state"] == state && top_bar_is_clear(bar),
        )
        .await;
    }

    /// Resizes the window so that the page's viewport is `width`×`height`
    /// (headless Chromium's window includes some browser chrome).
    pub(crate) async fn set_viewport(&self, width: u32, height: u32) {
        let (outer_width, outer_height) = self.client().get_window_size().await.unwrap();
        let inner = self
            .js("return [window.innerWidth, window.innerHeight]")
            .await;
        let chrome = |outer: u64, inner: &Value| outer.saturating_sub(inner.as_u64().unwrap());
        self.client()
            .set_window_size(
                width + chrome(outer_width, &inner[0]) as u32,
                height + chrome(outer_height, &inner[1]) as u32,
            )
            .await
            .unwrap();
        self.wait_js(
            &format!("a {width}×{height} viewport"),
            UI_TIMEOUT,
            "return [window.innerWidth, window.innerHeight]",
            |v| *v == json!([width, height]),
        )
        .await;
    }

    /// Clicks the element `css` names. A live update may re-render it
    /// between finding and clicking (a stale element); a user would click
    /// the new one, so it is found again, a bounded number of times.
    pub(crate) async fn click(&self, css: &str) {
        const ATTEMPTS: usize = 5;
        for attempt in 1..=ATTEMPTS {
            let element = self
                .client()
                .find(Locator::Css(css))
                .await
                .unwrap_or_else(|e| panic!("no {css}: {e}"));
            match element.click().await {
                Ok(_) => return,
                Err(e) if attempt < ATTEMPTS && e.to_string().contains("stale element") => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("clicking {css}: {e}"),
            }
        }
    }

    /// Replaces an input's text as a user would type it.
    /// Waits for the page's token prompt and saves `token` in it.
    pub(crate) async fn enter_token(&self, token: &str) {
        self.wait_js(
            "the token prompt",
            UI_TIMEOUT,
            "return document.getElementById('token-dialog').open",
            |v| *v == true,
        )
        .await;
        self.type_into("#token-input", token).await;
        self.click("#token-dialog button[value='save']").await;
    }

    pub(crate) async fn type_into(&self, css: &str, text: &str) {
        let input = self
            .client()
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"));
        input.clear().await.unwrap();
        input.send_keys(text).await.unwrap();
    }

    /// Runs `script` (a function body) in the page and returns its result.
    pub(crate) async fn js(&self, script: &str) -> Value {
        self.js_with(script, json!([])).await
    }

    pub(crate) async fn js_with(&self, script: &str, args: Value) -> Value {
        let Value::Array(args) = args else {
            panic!("arguments must be a JSON array")
        };
        self.client()
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("running {script}: {e}"))
    }

    /// Runs `script` asynchronously: it calls its last argument with the
    /// result.
    pub(crate) async fn js_async(&self, script: &str) -> Value {
        self.client()
            .execute_async(script, Vec::new())
            .await
            .unwrap_or_else(|e| panic!("running {script}: {e}"))
    }

    /// Polls `script` every 100 ms until `done` holds (at most `timeout`)
    /// and returns the value that satisfied it.
    pub(crate) async fn wait_js(
        &self,
        what: &str,
        timeout: Duration,
        script: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        self.wait_js_with(what, timeout, script, json!([]), done)
            .await
    }

    pub(crate) async fn wait_js_with(
        &self,
        what: &str,
        timeout: Duration,
        script: &str,
        args: Value,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let until = Instant::now() + timeout;
        loop {
            let value = self.js_with(script, args.clone()).await;
            if done(&value) {
                return value;
            }
            assert!(
                Instant::now() < until,
                "timed out after {timeout:?} waiting for {what}; last value: {value}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub(crate) async fn screenshot_to(&self, path: &Path) {
        let png = self.client().screenshot().await.unwrap();
        std::fs::write(path, png).unwrap();
        println!("screenshot: {}", path.display());
    }

    /// Ends the session (Chromium quits), then ChromeDriver, and checks
    /// that no process of its group is left (waiting at most 5 s).
    pub(crate) async fn close(mut self) {
        if let Some(client) = self.client.take() {
            client.close().await.expect("closing the WebDriver session");
        }
        // Dropping the Browser instead kills the group (Chromium with it)
        // without a check: a failed test still takes its browser down.
        self.driver.kill();
        let until = Instant::now() + Duration::from_secs(5);
        while !self.driver.members().is_empty() && Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(
            self.driver.members().is_empty(),
            "left behind by chromedriver: {:?}",
            self.driver.members()
        );
    }
}
