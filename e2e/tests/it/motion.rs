//! Motion you can see on the task lifecycle diagram, in headless Chromium, in one page session:
//! with failure injection on, the RETRY node stays lit for the whole retry countdown (sampled by
//! the page itself) with the time left on it; then the worker is killed mid-task and the task
//! visibly moves STARTED → RECEIVED (the edge flashes, the counts change) and runs again.

use std::time::Duration;

use e2e::{Binaries, Driver, Page, UiServer};
use serde_json::{Value, json};

/// How long a retry waits (TASK_RETRY_COUNTDOWN_SECS).
const COUNTDOWN_SECS: u64 = 3;
/// How far a paint may trail the event it shows (the UI paints at most ten times a second, after
/// the API's live feed delivered the event), ms.
const TOLERANCE_MS: f64 = 400.0;

/// Installs the page's own recorder: on every change of the lifecycle's stage (and every 40 ms, in
/// case nothing changes) it notes the time, each state's count, the RETRY node's text and whether
/// the redelivery edge (STARTED → RECEIVED, `edge6`) is flashing.
const RECORDER: &str = "
  const stage = document.querySelector('#diagram-stage');
  const node = (state) => [...stage.querySelectorAll('g.node')].find(g => new RegExp(`state-${state}-\\\\d+$`).test(g.id));
  const count = (state) => Number(node(state)?.dataset.count ?? -1);
  window.__samples = [];
  window.__sample = () => {
    if (stage.dataset.diagram !== 'lifecycle') return;
    const retry = node('RETRY');
    const edge = stage.querySelector('path[id$=\"edge6\"]');
    window.__samples.push({
      t: Date.now(),
      pending: count('PENDING'), received: count('RECEIVED'), started: count('STARTED'), retry: count('RETRY'),
      success: count('SUCCESS'), lit: Boolean(retry?.classList.contains('live-count')),
      label: retry?.textContent ?? '', flash6: Boolean(edge?.classList.contains('flash')),
    });
  };
  new MutationObserver(window.__sample).observe(stage, { attributes: true, characterData: true, childList: true, subtree: true });
  setInterval(window.__sample, 40);
  return true;";

async fn task(monitor: &str) -> Value {
    let page: Value = reqwest::get(format!("{monitor}/tasks?limit=1")).await.unwrap().json().await.unwrap();
    page["tasks"][0].clone()
}

fn states(task: &Value) -> Vec<String> {
    task["timeline"]
        .as_array()
        .map_or_else(Vec::new, |t| t.iter().map(|s| s["state"].as_str().unwrap_or("").to_string()).collect())
}

/// Waits until the monitor's history of the (only) task satisfies `done`.
async fn wait_history(monitor: &str, what: &str, done: impl Fn(&[String]) -> bool) -> Value {
    test_support::wait::until(what, Duration::from_secs(60), || async {
        let task = task(monitor).await;
        done(&states(&task)).then_some(task)
    })
    .await
}

async fn start_and_show_lifecycle(page: &Page, url: &str) {
    page.client.goto(url).await.unwrap();
    page.wait_for("#start-stop").await;
    page.start_stack().await;
    page.click("nav button[data-tab=diagrams]").await;
    page.click("#diagram-list button[data-diagram=lifecycle]").await;
    page.wait_js(
        "the lifecycle's counts",
        "return [...document.querySelectorAll('#diagram-stage[data-diagram=lifecycle] g.node')].some(g => /state-RETRY-\\d+$/.test(g.id) && g.dataset.count !== undefined);",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retry_stays_lit_for_its_countdown_and_a_killed_workers_task_visibly_comes_back() {
    let _turn = e2e::ONE_AT_A_TIME.lock().await;
    let binaries = Binaries::from_env().unwrap();
    let countdown = COUNTDOWN_SECS.to_string();
    let server = UiServer::start(
        &binaries,
        &[
            ("NOTIFY_FAIL_FIRST_ATTEMPTS", "1"),
            ("TASK_RETRY_COUNTDOWN_SECS", &countdown),
            // Long enough to kill the worker while the retried attempt runs.
            ("NOTIFY_SIMULATED_SECS", "6"),
            ("LANG", "ru_RU.UTF-8"),
        ],
    )
    .unwrap();
    let driver = Driver::chromium().await.unwrap();
    let mut page = driver.session(&binaries.artifacts, "motion").await.unwrap();
    start_and_show_lifecycle(&page, &server.url).await;
    page.js(RECORDER).await.unwrap();
    page.js(
        "document.querySelector('#demo-count').value = '1'; document.querySelector('#demo-send').click(); return true;",
    )
    .await
    .unwrap();

    // (a) The first attempt fails; during the countdown the RETRY node is lit and counts down.
    let label = page
        .wait_js(
            "the countdown on the RETRY node",
            "const s = window.__samples.at(-1); return s && /через \\d+ с/.test(s.label) ? s.label : null;",
        )
        .await;
    let shot = page.screenshot("retry-countdown").await.unwrap();
    eprintln!("countdown: {label} ({})", shot.display());
    let task = wait_history(&server.monitor, "the retried attempt to start", |s| {
        s.iter().filter(|s| *s == "STARTED").count() == 2
    })
    .await;
    let task_id = task["task_id"].as_str().unwrap().to_string();
    assert_eq!(states(&task)[..6], ["PENDING", "RECEIVED", "STARTED", "RETRY", "RECEIVED", "STARTED"], "{task}");
    let retried_at = task["timeline"][3]["at"].clone();
    let restarted_at = task["timeline"][5]["at"].clone();
    // The page shows the retried attempt running, then reads back what it recorded in between.
    page.wait_js("STARTED shown again", "return window.__samples.at(-1)?.started === 1;").await;
    let seen = page
        .js(&format!(
            "const [from, until, tol] = [Date.parse({retried_at}), Date.parse({restarted_at}), {TOLERANCE_MS}];
             const inside = window.__samples.filter(s => s.t >= from + tol && s.t <= until - tol);
             const lit = window.__samples.filter(s => s.lit && s.retry >= 1);
             return {{
               countdown: until - from,
               samples: inside.length,
               unlit: inside.filter(s => !s.lit || s.retry < 1).map(s => [s.t - from, s.retry, s.label]),
               received: inside.filter(s => s.received > 0).map(s => [s.t - from, s.received]),
               firstLit: lit.length ? lit[0].t - from : null,
               lastLit: lit.length ? lit.at(-1).t - until : null,
               labels: [...new Set(inside.map(s => s.label))],
               flash6: window.__samples.some(s => s.flash6),
             }};"
        ))
        .await
        .unwrap();
    eprintln!("countdown as the page saw it: {seen}");
    let countdown_ms = seen["countdown"].as_f64().unwrap();
    assert!(countdown_ms >= COUNTDOWN_SECS as f64 * 1000.0 - 50.0, "the retried attempt waited its countdown: {seen}");
    assert!(seen["samples"].as_u64().unwrap() >= 20, "the page sampled the countdown: {seen}");
    assert_eq!(seen["unlit"], json!([]), "RETRY lit for the whole countdown: {seen}");
    assert_eq!(seen["received"], json!([]), "the countdown is not spent in RECEIVED: {seen}");
    let first_lit = seen["firstLit"].as_f64().unwrap();
    assert!((-50.0..TOLERANCE_MS).contains(&first_lit), "lit {first_lit} ms after the retry: {seen}");
    let last_lit = seen["lastLit"].as_f64().unwrap();
    assert!((-TOLERANCE_MS..TOLERANCE_MS).contains(&last_lit), "RETRY went out {last_lit} ms from the start: {seen}");
    let labels: Vec<String> = serde_json::from_value(seen["labels"].clone()).unwrap();
    assert!(labels.iter().any(|l| l.contains("через 2 с")), "the time left counts down: {labels:?}");
    assert_eq!(seen["flash6"], false, "a retry is no redelivery: {seen}");

    // (b) Kill the worker while the retried attempt runs: its task goes back (STARTED → RECEIVED,
    // the edge flashing, the counts moving) and runs again on the new worker.
    let kill = page
        .js("window.__killAt = Date.now(); document.querySelector('#demo-kill').click(); return window.__killAt;")
        .await
        .unwrap();
    let moved = page
        .wait_js(
            "the redelivery edge to flash and the counts to move",
            "const after = window.__samples.filter(s => s.t >= window.__killAt);
             const flash = after.find(s => s.flash6);
             const back = after.find(s => s.started === 0 && (s.received >= 1 || s.pending >= 1));
             return flash && back ? { flash: flash.t - window.__killAt, back: back.t - window.__killAt, sample: back } : null;",
        )
        .await;
    let shot = page.screenshot("redelivery").await.unwrap();
    eprintln!("after the kill: {moved} ({})", shot.display());
    assert!(moved["flash"].as_f64().unwrap() < 3000.0, "{moved}");
    let before_kill = page
        .js("return window.__samples.filter(s => s.t < window.__killAt && s.t > window.__killAt - 500).at(-1);")
        .await
        .unwrap();
    assert_eq!(before_kill["started"], 1, "STARTED before the kill: {before_kill}");
    assert_eq!(before_kill["flash6"], false);

    // The history agrees: received again by the new worker, started, and done.
    let done =
        wait_history(&server.monitor, "the redelivered task to succeed", |s| s.last().is_some_and(|s| s == "SUCCESS"))
            .await;
    assert_eq!(done["task_id"], task_id.as_str());
    assert_eq!(
        states(&done),
        ["PENDING", "RECEIVED", "STARTED", "RETRY", "RECEIVED", "STARTED", "RECEIVED", "STARTED", "SUCCESS"],
        "{done}"
    );
    let again = page
        .wait_js(
            "the page to show it running again, then done",
            "const after = window.__samples.filter(s => s.t >= window.__killAt);
             const back = after.findIndex(s => s.started === 0 && s.received >= 1);
             const running = after.findIndex((s, i) => i > back && s.started === 1);
             const done = after.findIndex((s, i) => i > running && s.success === 1);
             return back >= 0 && running > back && done > running ? [back, running, done] : null;",
        )
        .await;
    eprintln!("after the kill, sample indexes back/running/done: {again} (kill at {kill})");
    page.screenshot("redelivered-done").await.unwrap();
    page.close().await.unwrap();
}
