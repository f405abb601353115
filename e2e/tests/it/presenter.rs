//! The diagrams as a class sees them on a projector, checked in the page (geometry, contrast,
//! exact live text), not by their classes: every diagram in both languages, both themes and all
//! three looks, at 1280×720 and 1920×1080, in presentation, while the stack runs with tasks in
//! flight; the normal view too. A screenshot of every combination is kept. Then the clicker's
//! keys and read-only. Runs on the stack a scenario already started (one stack per engine).

use e2e::Page;
use fantoccini::key::Key;
use serde_json::{Value, json};

/// Where the page runs: its API, its Redis and a name for the screenshots.
pub struct Stack<'a> {
    /// The API's base URL.
    pub api: &'a str,
    /// The task monitor's base URL.
    pub monitor: &'a str,
    /// The managed Redis's port.
    pub redis_port: u16,
    /// `chromium` or `webkit`, for the screenshots' names.
    pub engine: &'a str,
    /// The viewport sizes to check at (the app's display fixes what its window can be).
    pub sizes: &'a [(u32, u32)],
}

/// A projector and a large monitor.
pub const SIZES: [(u32, u32); 2] = [(1280, 720), (1920, 1080)];

const LOOKS: [&str; 3] = ["normal", "large", "contrast"];
/// The smallest diagram text a class must be able to read, in *Present* with large type at 1280×720.
const READABLE_PX: f64 = 20.0;
/// The smallest diagram text in the normal view at 1280×720 (read at a desk).
const DESK_PX: f64 = 9.5;

/// Sets the language and the theme through the Settings tab, as a person would.
async fn appearance(page: &Page, language: &str, theme: &str) {
    page.js(&format!(
        "document.querySelector('nav button[data-tab=settings]').click();
         const form = document.querySelector('#settings-form');
         form.querySelector('select[name=language]').value = '{language}';
         form.querySelector('select[name=theme]').value = '{theme}';
         return true;"
    ))
    .await
    .unwrap();
    page.click("#settings-save").await;
    page.wait_js(
        &format!("the page in {language}, {theme}"),
        &format!(
            "return document.documentElement.lang === '{language}' && document.documentElement.dataset.theme === '{theme}';"
        ),
    )
    .await;
    page.js("document.querySelector('nav button[data-tab=diagrams]').click(); return true;").await.unwrap();
}

/// Chooses a look in the bar above the diagram.
async fn look(page: &Page, look: &str) {
    page.js(&format!(
        "const select = document.querySelector('#look');
         select.value = '{look}';
         select.dispatchEvent(new Event('change'));
         return true;"
    ))
    .await
    .unwrap();
}

/// Enters or leaves presentation mode. In a browser, the page's request for full screen is
/// refused, as a browser may: headless Chromium's screen is 800×600, and the presentation must
/// be checked at the size under test (the page then fills its window, as it does for a refusal).
async fn presenting(page: &Page, on: bool) {
    page.js(&format!(
        "Element.prototype.requestFullscreen = () => Promise.reject(new Error('full screen refused by the test'));
         if (document.documentElement.classList.contains('presenting') !== {on}) document.querySelector('#present').click();
         return true;"
    ))
    .await
    .unwrap();
    page.wait_js(
        "presentation mode",
        &format!("return document.documentElement.classList.contains('presenting') === {on};"),
    )
    .await;
}

/// Shows diagram `id` and waits until it is drawn, fitted and painted.
async fn show(page: &Page, id: &str) {
    page.js(&format!("document.querySelector('#diagram-list button[data-diagram={id}]').click(); return true;"))
        .await
        .unwrap();
    page.wait_js(
        &format!("diagram {id} drawn"),
        &format!(
            "const stage = document.querySelector('#diagram-stage');
             if (stage.dataset.diagram !== '{id}' || stage.getAttribute('aria-busy') || !stage.querySelector('svg')) return null;
             // Two frames: the live layer has painted what it was asked to.
             return new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(() => done(true))));"
        ),
    )
    .await;
}

/// Creates a product through the API; returns `(id, task_id)`.
async fn product(api: &str, name: &str) -> (u64, String) {
    let response = reqwest::Client::new()
        .post(format!("{api}/products/"))
        .json(&json!({"name": name, "price": 10}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    (body["id"].as_u64().unwrap(), body["task_id"].as_str().unwrap().to_string())
}

/// How many tasks the monitor knows as finished.
async fn finished(monitor: &str) -> usize {
    let tasks: Value = reqwest::get(format!("{monitor}/tasks?limit=500")).await.unwrap().json().await.unwrap();
    tasks["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| matches!(t["state"].as_str(), Some("SUCCESS" | "FAILURE")))
        .count()
}

/// The lines of an architecture node, read by the page's check.
async fn node_lines(page: &Page, node: &str) -> Vec<String> {
    page.check_diagram().await.unwrap().nodes.get(node).cloned().unwrap_or_default()
}

/// The worker's and Redis's nodes on the architecture say exactly what runs: the task in the
/// worker, the queue, what is in flight and the results.
async fn live_text_is_exact(page: &mut Page, stack: &Stack<'_>) {
    appearance(page, "ru", "light").await;
    look(page, "large").await;
    show(page, "architecture").await;
    let port = stack.api.rsplit(':').next().unwrap().to_string();
    let idle = |results: usize| {
        vec![
            vec!["stackdesk worker".to_string(), "send_tg_notification".into(), "ждёт задач".into()],
            vec![
                format!("Redis, порт {}", stack.redis_port),
                "в очереди 0 · взято 0".into(),
                format!("результатов: {results}"),
            ],
        ]
    };
    // Idle: every task of the scenario has finished.
    let results = finished(stack.monitor).await;
    test_support::wait::until("the idle worker and Redis on the architecture", e2e::DEADLINE, || async {
        let lines = vec![node_lines(page, "worker").await, node_lines(page, "redis").await];
        (lines == idle(results)).then_some(())
    })
    .await;
    assert_eq!(node_lines(page, "api").await, ["stackdesk api".to_string(), format!("axum, порт {port}")]);
    page.screenshot("architecture-idle").await.unwrap();
    // One task running: the worker names it; it is in flight until it is acknowledged.
    let (id, _) = product(stack.api, "Проектор").await;
    let running = vec!["stackdesk worker".to_string(), "send_tg_notification".into(), format!("▶ #{id} Проектор")];
    test_support::wait::until("the worker to show the running task", e2e::DEADLINE, || async {
        (node_lines(page, "worker").await == running).then_some(())
    })
    .await;
    page.screenshot("architecture-running").await.unwrap();
    test_support::wait::until("the task to finish on the architecture", e2e::DEADLINE, || async {
        let lines = vec![node_lines(page, "worker").await, node_lines(page, "redis").await];
        (lines == idle(results + 1)).then_some(())
    })
    .await;
}

/// The demo bar's failure injection: on for this run (the switch shows it), the API and the
/// worker restarted with it; tasks then retry, which puts the widest labels on the lifecycle.
async fn failures_for_this_run(page: &Page) {
    page.js("document.querySelector('#demo-fail').click(); return true;").await.unwrap();
    page.wait_js(
        "failure injection on, and the worker back",
        "const label = document.querySelector('#demo-fail').closest('label');
         const card = (p) => document.querySelector(`.card[data-process=${p}]`)?.dataset.state;
         return document.querySelector('#demo-fail').checked && label.classList.contains('switch-on')
           && card('api') === 'running' && card('worker') === 'running';",
    )
    .await;
}

/// On the lifecycle, follows the newest task (its path and times drawn on the states).
async fn follow_a_task(page: &Page) {
    page.wait_js(
        "a task followed on the lifecycle",
        "const select = document.querySelector('#path-task');
         if (!select || select.options.length < 2) return null;
         if (!select.value) { select.selectedIndex = 1; select.dispatchEvent(new Event('change')); }
         return new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(() => done(true))));",
    )
    .await;
}

/// Every diagram, language, theme, look and size, in presentation with tasks in flight: no
/// label outside its shape, no overlap, no word broken inside, 4.5:1 for every text and
/// control, and large type readable from the back row.
pub async fn diagrams_hold_up_on_a_projector(page: &mut Page, stack: &Stack<'_>) {
    live_text_is_exact(page, stack).await;
    failures_for_this_run(page).await;
    let ids: Vec<String> = serde_json::from_value(
        page.js("return [...document.querySelectorAll('#diagram-list button')].map(b => b.dataset.diagram);")
            .await
            .unwrap(),
    )
    .unwrap();
    let mut problems = Vec::new();
    let mut checked = 0;
    for language in ["ru", "en"] {
        for theme in ["light", "dark"] {
            presenting(page, false).await;
            appearance(page, language, theme).await;
            // Tasks in flight while the live layer paints (each takes a couple of seconds, and
            // its first attempt fails).
            for n in 0..24 {
                product(stack.api, &format!("Demo {n}")).await;
            }
            for &(width, height) in stack.sizes {
                // Sized first: a browser leaves full screen when its window is resized.
                presenting(page, false).await;
                page.set_viewport(width, height).await.unwrap();
                presenting(page, true).await;
                // The app's window goes full screen on the display of this size; GTK resizes
                // it when the X server gets round to it, so wait for the size to hold.
                page.wait_viewport(width, height).await.unwrap();
                for look_name in LOOKS {
                    look(page, look_name).await;
                    for id in &ids {
                        show(page, id).await;
                        if id == "lifecycle" {
                            follow_a_task(page).await;
                        }
                        let report = page.check_diagram().await.unwrap();
                        assert_eq!(report.viewport, (width, height));
                        problems.extend(
                            report
                                .problems()
                                .into_iter()
                                .map(|p| format!("{language}/{theme}/{look_name}/{width}: {p}")),
                        );
                        if look_name != "normal" && (width, height) == (1280, 720) && report.min_px < READABLE_PX {
                            problems.push(format!(
                                "{language}/{theme}/{look_name}: {id}: smallest text {} px ({:?}) in a presentation",
                                report.min_px, report.smallest
                            ));
                        }
                        page.screenshot_as(&format!(
                            "{}-{language}-{theme}-{look_name}-{width}x{height}-{id}",
                            stack.engine
                        ))
                        .await
                        .unwrap();
                        checked += 1;
                    }
                }
            }
        }
    }
    // The normal view at a desk: readable too, and clean.
    presenting(page, false).await;
    appearance(page, "ru", "light").await;
    page.set_viewport(1280, 720).await.unwrap();
    look(page, "normal").await;
    for id in &ids {
        show(page, id).await;
        let report = page.check_diagram().await.unwrap();
        problems.extend(report.problems().into_iter().map(|p| format!("normal view: {p}")));
        if report.min_px < DESK_PX {
            problems.push(format!("normal view: {id}: smallest text {} px ({:?})", report.min_px, report.smallest));
        }
        page.screenshot_as(&format!("{}-desk-{id}", stack.engine)).await.unwrap();
    }
    assert_eq!(checked, ids.len() * 2 * 2 * stack.sizes.len() * LOOKS.len());
    assert!(problems.is_empty(), "{} problems a class would see:\n{}", problems.len(), problems.join("\n"));
    a_clicker_steps_through_the_diagrams(page).await;
    read_only_changes_nothing(page).await;
}

/// The shown diagram's id.
async fn shown(page: &Page) -> String {
    page.js("return document.querySelector('#diagram-stage').dataset.diagram")
        .await
        .unwrap()
        .as_str()
        .unwrap_or_default()
        .into()
}

/// Waits until diagram `id` is shown.
async fn wait_shown(page: &Page, id: &str, after: &str) {
    page.wait_js(
        &format!("diagram {id} after {after}"),
        &format!("return document.querySelector('#diagram-stage').dataset.diagram === '{id}';"),
    )
    .await;
}

/// A clicker's keys step through the diagrams in a presentation, also right after a button of
/// the demo bar was pressed (Space no longer presses it again); a field being typed in keeps its
/// keys until Esc leaves it, and a second Esc leaves the presentation.
pub async fn a_clicker_steps_through_the_diagrams(page: &mut Page) {
    presenting(page, false).await;
    show(page, "architecture").await;
    presenting(page, true).await;
    let order: Vec<String> = serde_json::from_value(
        page.js("return [...document.querySelectorAll('#diagram-list button')].map(b => b.dataset.diagram);")
            .await
            .unwrap(),
    )
    .unwrap();
    page.press(Key::PageDown).await.unwrap();
    wait_shown(page, &order[1], "PageDown").await;
    page.press(Key::PageUp).await.unwrap();
    wait_shown(page, &order[0], "PageUp").await;
    page.press(Key::End).await.unwrap();
    wait_shown(page, order.last().unwrap(), "End").await;
    page.press(Key::Home).await.unwrap();
    wait_shown(page, &order[0], "Home").await;
    // The focus on a demo button: Space steps, it does not press the button again.
    page.js("document.querySelector('#demo-kill').focus(); return true;").await.unwrap();
    let worker_pid = page.text(".card[data-process=worker] dd").await;
    page.press(' ').await.unwrap();
    wait_shown(page, &order[1], "Space on a focused button").await;
    assert_eq!(page.text(".card[data-process=worker] dd").await, worker_pid, "Space pressed the kill button");
    page.press(Key::Right).await.unwrap();
    wait_shown(page, &order[2], "→").await;
    // Typing in the demo's count: the arrows and PageDown are the field's; Esc leaves it.
    page.js("const field = document.querySelector('#demo-count'); field.focus(); field.select(); return true;")
        .await
        .unwrap();
    page.press(Key::Left).await.unwrap();
    page.press(Key::PageDown).await.unwrap();
    assert_eq!(shown(page).await, order[2], "a key was taken from the field being typed in");
    page.press(Key::Escape).await.unwrap();
    page.wait_js("Esc to leave the field", "return document.activeElement !== document.querySelector('#demo-count');")
        .await;
    assert!(page.js("return document.documentElement.classList.contains('presenting')").await.unwrap() == json!(true));
    page.press(Key::Escape).await.unwrap();
    page.wait_js(
        "a second Esc to leave the presentation",
        "return !document.documentElement.classList.contains('presenting');",
    )
    .await;
}

/// Read-only: nothing that changes the system can be used, the demo bar included, until demos
/// are allowed; then only the demo bar.
pub async fn read_only_changes_nothing(page: &mut Page) {
    let usable = "return [...document.querySelectorAll('button, input, select, a.button')]
        .filter(e => e.getClientRects().length > 0 && !e.disabled)
        .map(e => e.id || e.dataset.action || e.textContent.trim())";
    let changing = [
        "start-stop",
        "product-submit",
        "settings-save",
        "purge",
        "retry-all",
        "demo-send",
        "demo-kill",
        "demo-redis",
        "demo-fail",
        "demo-concurrency",
        "demo-count",
        "telegram-test",
        "token-clear",
        "stop",
        "restart",
    ];
    page.js("document.querySelector('#readonly').click(); return true;").await.unwrap();
    for tab in ["dashboard", "products", "tasks", "diagrams", "settings"] {
        page.js(&format!("document.querySelector('nav button[data-tab={tab}]').click(); return true;")).await.unwrap();
        let shown: Vec<String> = serde_json::from_value(page.js(usable).await.unwrap()).unwrap();
        let left: Vec<&String> = shown.iter().filter(|id| changing.contains(&id.as_str())).collect();
        assert!(left.is_empty(), "read-only, tab {tab}: {left:?} can still be used");
    }
    page.screenshot("read-only").await.unwrap();
    page.js("document.querySelector('nav button[data-tab=diagrams]').click(); document.querySelector('#demo-allowed').click(); return true;")
        .await
        .unwrap();
    let shown: Vec<String> = serde_json::from_value(page.js(usable).await.unwrap()).unwrap();
    for demo in ["demo-send", "demo-fail", "demo-kill", "demo-redis"] {
        assert!(shown.iter().any(|id| id == demo), "demos allowed, {demo} is not: {shown:?}");
    }
    assert!(
        !shown.iter().any(|id| id == "start-stop" || id == "stop"),
        "demos allowed, the rest stays read-only: {shown:?}"
    );
    page.js(
        "document.querySelector('#demo-allowed').click(); document.querySelector('#readonly').click(); return true;",
    )
    .await
    .unwrap();
}
