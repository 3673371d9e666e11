//! The History and Compare views and the regression budgets in a real
//! headless Chromium (see `ui.rs` for the browser harness), against the
//! real runner, a real k6 and its real SQLite history.

use std::time::Duration;

use serde_json::{Value, json};

use crate::history::{run_once, write_script};
use crate::runner::{Options, Runner, World, config};
use crate::ui::{Browser, TONES, UI_TIMEOUT, artifacts_dir};

/// Longest wait for a real k6 run of a few seconds to end and be judged.
const RUN_TIMEOUT: Duration = Duration::from_secs(90);

/// The ids of the runs the History view lists, top to bottom.
const ROWS: &str = "return [...document.querySelectorAll('#history-body tr[data-run]')].map((row) => row.dataset.run)";

/// Fetches the `href` of the link `arguments[0]` names, as the browser
/// would download it, and answers `[status, content type]`.
const FETCH_LINK: &str = r#"const done = arguments[arguments.length - 1];
    const link = document.querySelector(arguments[0]);
    if (!link) { done(['no link', arguments[0]]); return; }
    fetch(link.href).then((r) => done([r.status, r.headers.get('content-type')]), (e) => done([String(e), null]));"#;

/// A newcomer's day with the history, in the browser: a regression budget
/// refused next to its input and then saved; the suite run twice; both
/// runs in History, newest first, with their outcome and a trend per
/// script; the filters (state) and paging (`before`) of the API; the older
/// run set as baseline from the page; Compare, by default the baseline
/// against the newest run, with the deltas per entry and both runs' charts
/// overlaid; the report and JUnit links answering with their files. A
/// third, slower run, started while History is open, appears there
/// "regressed" when it ends, and so it shows on the live page and in
/// Compare as a red p95 delta. The baseline is cleared and a run
/// deleted from the page. Then a viewer's token: the runs and reports,
/// and no operator button.
#[tokio::test]
async fn runs_are_found_in_history_compared_against_a_baseline_set_from_the_page() {
    let world = World::new().await;
    write_script(&world, "fast");
    let runner = Runner::start(&world, &[]);
    runner
        .configure(&config(1, "2s", 30, &["hist.js"], 0))
        .await;
    let browser = Browser::start(1440, 1000).await;
    browser.open_idle_page(&runner).await;

    // The budgets: a value out of range is refused at its input and not
    // stored; a good one is saved with the config.
    let p95_budget = "[id='f-regressionBudgets.latencyP95Percent']";
    browser.type_into(p95_budget, "-5").await;
    browser.click("#save-button").await;
    let error = browser
        .wait_js(
            "the budget's field error",
            UI_TIMEOUT,
            "return document.getElementById('e-regressionBudgets.latencyP95Percent').textContent",
            |v| v.as_str().is_some_and(|t| !t.is_empty()),
        )
        .await;
    assert!(
        error
            .as_str()
            .unwrap()
            .contains("regressionBudgets.latencyP95Percent"),
        "{error}"
    );
    assert_eq!(
        browser
            .js("return document.getElementById('f-regressionBudgets.latencyP95Percent').getAttribute('aria-invalid')")
            .await,
        "true"
    );
    assert!(
        runner
            .get("/config")
            .await
            .1
            .get("regressionBudgets")
            .is_none(),
        "a refused budget must not be stored"
    );
    browser.type_into(p95_budget, "25").await;
    browser.click("#save-button").await;
    browser
        .wait_js(
            "the config to be saved",
            UI_TIMEOUT,
            "const s = document.getElementById('config-success'); return s.hidden ? '' : s.textContent",
            |v| v.as_str().is_some_and(|t| t.starts_with("Saved.")),
        )
        .await;
    let (_, saved) = runner.get("/config").await;
    assert_eq!(
        saved["regressionBudgets"],
        json!({"latencyP95Percent": 25, "errorRatePoints": 0.5, "requestRatePercent": 10}),
        "the typed budget and the defaults of the others: {saved}"
    );

    // Two runs of the suite.
    let first = run_once(&runner).await;
    let second = run_once(&runner).await;

    // History: both, newest first, each passed, and the script's trend
    // over the two.
    browser.click(".view-tabs a[data-view='history']").await;
    let rows = browser
        .wait_js("both runs in History", UI_TIMEOUT, ROWS, |v| {
            v.as_array().is_some_and(|rows| rows.len() == 2)
        })
        .await;
    assert_eq!(rows, json!([second, first]));
    let chips = browser
        .js("return [...document.querySelectorAll('#history-body tr[data-run] td.chips-cell')].map((cell) => cell.textContent.trim())")
        .await;
    assert_eq!(chips, json!(["passed", "passed"]));
    browser
        .wait_js(
            "the trend of hist.js over both runs",
            UI_TIMEOUT,
            "const card = document.querySelector('#trends li[data-script=\"hist.js\"]');
             return card ? [...card.querySelectorAll('svg.sparkline')].map((svg) => svg.dataset.points) : null",
            |v| *v == json!(["2", "2"]),
        )
        .await;

    // The state filter is the API's: no failed run; then every run again.
    let state = browser
        .client()
        .find(fantoccini::Locator::Css("#h-state"))
        .await
        .unwrap();
    state.select_by_value("failed").await.unwrap();
    browser
        .wait_js(
            "no failed run",
            UI_TIMEOUT,
            "return [location.hash, document.querySelectorAll('#history-body tr[data-run]').length,
                     document.querySelector('#history-body tr.empty')?.textContent ?? '']",
            |v| {
                v[0] == "#history?state=failed"
                    && v[1] == 0
                    && v[2] == "No run matches these filters."
            },
        )
        .await;
    state.select_by_value("").await.unwrap();
    browser
        .wait_js("both runs again", UI_TIMEOUT, ROWS, |v| {
            *v == json!([second, first])
        })
        .await;

    // Paging: one run a page, then the older one appended.
    browser
        .goto(&format!("http://{}/#history?limit=1", runner.addr))
        .await;
    browser
        .wait_js("the first page of one run", UI_TIMEOUT, ROWS, |v| {
            *v == json!([second])
        })
        .await;
    browser.click("#history-more").await;
    browser
        .wait_js("the older run appended", UI_TIMEOUT, ROWS, |v| {
            *v == json!([second, first])
        })
        .await;
    browser
        .goto(&format!("http://{}/#history", runner.addr))
        .await;
    browser
        .wait_js("every run", UI_TIMEOUT, ROWS, |v| {
            *v == json!([second, first])
        })
        .await;

    // The older run becomes the baseline, from its row.
    browser
        .click(&format!(
            "#history-body tr[data-run='{first}'] button[data-action='set-baseline']"
        ))
        .await;
    browser
        .wait_js_with(
            "the baseline chip",
            UI_TIMEOUT,
            "const row = document.querySelector(`#history-body tr[data-run='${arguments[0]}']`);
             return row ? [!!row.querySelector('[data-chip=baseline]'), !!row.querySelector('button[data-action=clear-baseline]')] : null",
            json!([first]),
            |v| *v == json!([true, true]),
        )
        .await;
    let (_, page) = runner.get("/runs").await;
    assert_eq!(page["runs"][1]["id"], first.as_str());
    assert_eq!(page["runs"][1]["baseline"], true, "{page}");

    // The reports download with their types.
    let row = format!("#history-body tr[data-run='{first}']");
    let report = browser
        .client()
        .execute_async(FETCH_LINK, vec![json!(format!("{row} a.report-link"))])
        .await
        .unwrap();
    assert_eq!(report[0], 200, "{report}");
    assert!(
        report[1]
            .as_str()
            .is_some_and(|t| t.starts_with("text/html")),
        "{report}"
    );
    let junit = browser
        .client()
        .execute_async(FETCH_LINK, vec![json!(format!("{row} a.junit-link"))])
        .await
        .unwrap();
    assert_eq!(junit[0], 200, "{junit}");
    assert!(
        junit[1]
            .as_str()
            .is_some_and(|t| t.starts_with("application/xml")),
        "{junit}"
    );
    browser
        .js("document.activeElement.blur(); window.scrollTo(0, 0); return null")
        .await;
    browser
        .screenshot_to(&artifacts_dir().join("history.png"))
        .await;

    // Compare: by default the baseline against the newest run, per entry
    // every headline figure, the saved budget applied, both runs charted.
    browser.click(".view-tabs a[data-view='compare']").await;
    let compared = wait_for_comparison(&browser, &first, &second).await;
    assert_eq!(
        compared["figures"],
        json!([
            "requestsPerSecond",
            "latencyP50Ms",
            "latencyP95Ms",
            "latencyP99Ms",
            "errorRate",
            "checksPassed",
            "checksFailed",
            "iterations"
        ]),
        "{compared:#}"
    );
    assert_eq!(compared["p95Budget"], "may rise 25.0 %", "{compared:#}");
    let report = browser
        .client()
        .execute_async(FETCH_LINK, vec![json!("#compare-report a.report-link")])
        .await
        .unwrap();
    assert_eq!(report[0], 200, "{report}");
    assert!(
        report[1]
            .as_str()
            .is_some_and(|t| t.starts_with("text/html")),
        "{report}"
    );

    // A third run, 200 ms slower a request, started from the top bar while
    // History is open: the run shows up there when it ends, regressed, and
    // the live page says so too, naming the crossed budget.
    write_script(&world, "slow");
    browser.click(".view-tabs a[data-view='history']").await;
    browser.click("#start-button").await;
    let third = runner
        .wait_status(UI_TIMEOUT, "the third run to start", |s| {
            s["isRunning"] == true
        })
        .await["runId"]
        .as_str()
        .unwrap()
        .to_owned();
    browser
        .wait_js_with(
            "the third run in History, regressed",
            RUN_TIMEOUT,
            "return !!document.querySelector(`#history-body tr[data-run='${arguments[0]}'] [data-chip=regressed]`)",
            json!([third]),
            |v| *v == true,
        )
        .await;
    browser.click(".view-tabs a[data-view='live']").await;
    let badge = browser
        .wait_js(
            "the regressed badge",
            UI_TIMEOUT,
            "const badge = document.getElementById('run-regressed');
             return [document.getElementById('state-badge').dataset.state, badge.hidden, badge.title]",
            |v| v[0] == "idle" && v[1] == false,
        )
        .await;
    assert!(
        badge[2].as_str().unwrap().contains("latencyP95Ms"),
        "the badge names the crossed budget: {badge}"
    );
    browser
        .js("document.activeElement.blur(); window.scrollTo(0, 0); return null")
        .await;
    browser
        .screenshot_to(&artifacts_dir().join("live-regressed.png"))
        .await;

    // In Compare its p95 delta is red.
    browser.click(".view-tabs a[data-view='compare']").await;
    let compared = wait_for_comparison(&browser, &first, &third).await;
    assert_eq!(compared["verdict"], "regressed", "{compared:#}");
    assert_eq!(compared["p95"], json!(["regressed", "red"]), "{compared:#}");
    browser
        .js("document.activeElement.blur(); window.scrollTo(0, 0); return null")
        .await;
    browser
        .screenshot_to(&artifacts_dir().join("compare.png"))
        .await;

    // The baseline cleared, the second run deleted (after the dialog).
    browser.click(".view-tabs a[data-view='history']").await;
    browser
        .click(&format!(
            "#history-body tr[data-run='{first}'] button[data-action='clear-baseline']"
        ))
        .await;
    browser
        .wait_js_with(
            "the baseline chip to go",
            UI_TIMEOUT,
            "const row = document.querySelector(`#history-body tr[data-run='${arguments[0]}']`);
             return row ? [!!row.querySelector('[data-chip=baseline]'), !!row.querySelector('button[data-action=set-baseline]')] : null",
            json!([first]),
            |v| *v == json!([false, true]),
        )
        .await;
    browser
        .click(&format!(
            "#history-body tr[data-run='{second}'] button[data-action='delete']"
        ))
        .await;
    browser
        .wait_js(
            "the delete dialog",
            UI_TIMEOUT,
            "return document.getElementById('delete-dialog').open",
            |v| *v == true,
        )
        .await;
    browser.click("#delete-confirm").await;
    browser
        .wait_js("the run to go", UI_TIMEOUT, ROWS, |v| {
            *v == json!([third, first])
        })
        .await;
    assert_eq!(runner.get(&format!("/runs/{second}")).await.0, 404);
    let banner = browser.js("const b = document.getElementById('control-error'); return b.hidden ? null : b.textContent").await;
    assert!(banner.is_null(), "no error was expected: {banner}");
    browser.close().await;
    drop(runner);

    // A viewer sees the runs and their reports, and no operator action.
    const OPERATOR: &str = "history-operator-secret-4b1f9e2a";
    const VIEWER: &str = "history-viewer-secret-8c2d7a61";
    let tokens = world.tokens_file(&[("alice", "operator", OPERATOR), ("carol", "viewer", VIEWER)]);
    let runner = Runner::start_with(
        &world,
        Options {
            args: &["--tokens-file", &tokens],
            token: Some(OPERATOR),
            ..Options::default()
        },
    );
    let browser = Browser::start(1280, 900).await;
    browser
        .goto(&format!("http://{}/#history", runner.addr))
        .await;
    browser.enter_token(VIEWER).await;
    browser
        .wait_js("the runs, as a viewer", UI_TIMEOUT, ROWS, |v| {
            *v == json!([third, first])
        })
        .await;
    let offered = browser
        .js(
            "return [document.querySelectorAll('#history-body button[data-action]').length,
                     document.querySelectorAll('#history-body a.report-link').length,
                     document.querySelectorAll('#history-body a[data-action=compare]').length]",
        )
        .await;
    assert_eq!(
        offered,
        json!([0, 2, 2]),
        "a viewer gets reports and Compare, no baseline or delete button"
    );
    browser.close().await;
}

/// Waits until the Compare view shows `base` against `run`, and returns
/// what it shows: the pickers, the overall verdict, the first entry's
/// figures, its p95 row's verdict and delta colour and budget, and the
/// readings charted of each run.
async fn wait_for_comparison(browser: &Browser, base: &str, run: &str) -> Value {
    let script = format!(
        "{TONES}
         const entry = document.querySelector('#compare-entries section[data-entry=\"hist.js#1\"]');
         const p95 = entry?.querySelector('tr[data-figure=latencyP95Ms]');
         const chart = document.getElementById('cmp-chart-rps');
         return {{
           base: document.getElementById('c-base').value,
           run: document.getElementById('c-run').value,
           verdict: document.querySelector('#compare-verdict [data-verdict]')?.dataset.verdict ?? null,
           figures: entry ? [...entry.querySelectorAll('tr[data-figure]')].map((row) => row.dataset.figure) : [],
           p95: p95 ? [p95.dataset.verdict, tone(p95.querySelector('.delta'))] : null,
           p95Budget: p95?.querySelector('.budget').textContent ?? null,
           meta: document.getElementById('compare-meta').textContent,
           charted: [Number(chart.dataset.basePoints), Number(chart.dataset.runPoints)],
         }};"
    );
    browser
        .wait_js_with(
            &format!("the comparison of {run} with {base}"),
            UI_TIMEOUT,
            &script,
            json!([]),
            |v| {
                v["base"] == base
                    && v["run"] == run
                    && v["meta"].as_str().is_some_and(|m| m.contains(run))
                    && v["figures"].as_array().is_some_and(|f| !f.is_empty())
                    && v["charted"][0].as_u64().unwrap_or(0) > 0
                    && v["charted"][1].as_u64().unwrap_or(0) > 0
            },
        )
        .await
}
