//! Start → three cards running → an invalid product shows field errors → a valid one's task
//! reaches SUCCESS → stop the worker from its card → a new task stays PENDING and queued → start
//! the worker → that task completes. A screenshot after each step.

use e2e::Page;
use serde_json::json;

async fn card_state(page: &Page, process: &str) -> String {
    page.js(&format!("return document.querySelector('.card[data-process={process}]')?.dataset.state ?? ''"))
        .await
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

async fn wait_card(page: &Page, process: &str, state: &str) {
    let script =
        format!("return document.querySelector('.card[data-process={process}]')?.dataset.state === '{state}';");
    page.wait_js(&format!("the {process} card to show {state}"), &script).await;
}

/// The live class of a process's node in the architecture diagram.
async fn wait_node(page: &Page, node: &str, class: &str) {
    let script = format!(
        "const n = [...document.querySelectorAll('#diagram-stage[data-diagram=architecture] g.node')].find(g => /flowchart-{node}-\\d+$/.test(g.id));
         return n ? n.classList.contains('{class}') : false;"
    );
    page.wait_js(&format!("the {node} node to be {class}"), &script).await;
}

/// The state chip of a task's row in the history.
async fn wait_task(page: &Page, task_id: &str, state: &str) {
    let script = format!(
        "return document.querySelector('#task-rows tr[data-task-id={}]')?.dataset.state === '{state}';",
        json!(task_id)
    );
    page.wait_js(&format!("task {task_id} to show {state}"), &script).await;
}

/// Creates a product through the form and returns its task id.
async fn create_product(page: &Page, name: &str, price: &str) -> String {
    page.click("nav button[data-tab=products]").await;
    page.type_into("#product-form input[name=name]", name).await;
    page.type_into("#product-form input[name=price]", price).await;
    page.click("#product-submit").await;
    let script = format!(
        "const li = [...document.querySelectorAll('#product-list li')].find(li => li.querySelector('.name')?.textContent === {});
         return li ? li.dataset.taskId : null;",
        json!(name)
    );
    let task_id = page.wait_js(&format!("product {name} in the list"), &script).await;
    task_id.as_str().unwrap_or_default().to_string()
}

pub async fn learner_path(page: &mut Page, url: &str) {
    page.client.goto(url).await.unwrap();
    page.wait_for("#start-stop").await;
    for process in ["redis", "api", "worker"] {
        wait_card(page, process, "stopped").await;
    }
    page.screenshot("stopped").await.unwrap();

    // Start: the three cards go green (or the notice says why not).
    page.click("#start-stop").await;
    let started = page
        .wait_js(
            "the stack to start",
            "const notice = document.querySelector('#notice').textContent;
             if (notice) return 'notice: ' + notice;
             const cards = [...document.querySelectorAll('.card')];
             return cards.length === 3 && cards.every(c => c.dataset.state === 'running') ? 'running' : null;",
        )
        .await;
    assert_eq!(started, "running");
    assert_eq!(page.js("return document.querySelector('#start-stop').dataset.running").await.unwrap(), "true");
    page.wait_js(
        "the Redis log",
        "return document.querySelector('#log-lines').textContent.includes('Ready to accept connections');",
    )
    .await;
    page.screenshot("running").await.unwrap();

    // An invalid product: the API's 422 shows next to each field, and nothing is created.
    page.click("nav button[data-tab=products]").await;
    page.type_into("#product-form input[name=name]", "   ").await;
    page.type_into("#product-form input[name=price]", "-5").await;
    page.click("#product-submit").await;
    page.wait_js(
        "the name's error",
        "return document.querySelector('.field-error[data-field=name]').textContent.length > 0;",
    )
    .await;
    let price_error = page.text(".field-error[data-field=price]").await;
    assert!(price_error.contains("greater than 0"), "{price_error}");
    assert_eq!(page.js("return document.querySelectorAll('#product-list li').length").await.unwrap(), 0);
    page.screenshot("field-errors").await.unwrap();

    // A valid product: its task appears at once and reaches SUCCESS.
    let first = create_product(page, "Чайник", "1990.5").await;
    assert!(!page.text(".form-ok").await.is_empty());
    page.click("nav button[data-tab=tasks]").await;
    page.wait_for(&format!("#task-rows tr[data-task-id={}]", json!(first))).await;
    wait_task(page, &first, "SUCCESS").await;
    page.screenshot("task-success").await.unwrap();

    // The detail drawer shows the timeline.
    page.click(&format!("#task-rows tr[data-task-id={}] td.name", json!(first))).await;
    page.wait_js("the drawer's timeline", "return document.querySelectorAll('#drawer .timeline li').length >= 3;")
        .await;
    page.screenshot("task-detail").await.unwrap();
    page.click("#drawer header button").await;

    // Stop the worker from its card: the card says stopped, the rest runs on.
    page.click("nav button[data-tab=dashboard]").await;
    page.click(".card[data-process=worker] button[data-action=stop]").await;
    wait_card(page, "worker", "stopped").await;
    assert_eq!(card_state(page, "api").await, "running");
    page.screenshot("worker-stopped").await.unwrap();

    // The architecture diagram shows it too: the worker's node is coloured as stopped.
    page.click("nav button[data-tab=diagrams]").await;
    wait_node(page, "worker", "live-off").await;
    wait_node(page, "api", "live-on").await;
    page.screenshot("diagram-worker-stopped").await.unwrap();

    // A new task stays PENDING and queued; the history warns that no worker runs.
    let second = create_product(page, "Queued", "10").await;
    page.click("nav button[data-tab=tasks]").await;
    wait_task(page, &second, "PENDING").await;
    page.wait_js("the no-worker warning", "return !document.querySelector('#no-worker').hidden;").await;
    page.screenshot("queued-no-worker").await.unwrap();

    // Start the worker again: the queued task completes.
    page.click("nav button[data-tab=dashboard]").await;
    page.click(".card[data-process=worker] button[data-action=start]").await;
    wait_card(page, "worker", "running").await;
    page.click("nav button[data-tab=diagrams]").await;
    wait_node(page, "worker", "live-on").await;
    page.click("nav button[data-tab=tasks]").await;
    wait_task(page, &second, "SUCCESS").await;
    page.wait_js("the warning to go", "return document.querySelector('#no-worker').hidden;").await;
    page.screenshot("queued-task-done").await.unwrap();

    // Settings: a wrong value is named under its field and nothing is saved; a right one that the
    // worker reads at start offers the restart, which brings the stack back.
    page.click("nav button[data-tab=settings]").await;
    page.type_into("#settings-form input[name=WORKER_CONCURRENCY]", "0").await;
    page.click("#settings-save").await;
    page.wait_js(
        "the concurrency's error",
        "return document.querySelector('.field-error[data-field=WORKER_CONCURRENCY]').textContent.includes('1 to 64');",
    )
    .await;
    page.type_into("#settings-form input[name=WORKER_CONCURRENCY]", "2").await;
    page.click("#settings-save").await;
    page.wait_for("#restart-now").await;
    assert_eq!(page.text(".field-error[data-field=WORKER_CONCURRENCY]").await, "");
    page.screenshot("settings-restart-offered").await.unwrap();
    let old_worker = page.text(".card[data-process=worker] dd").await;
    page.click("#restart-now").await;
    page.wait_js("the restart to finish", "return document.querySelector('#restart-now') === null;").await;
    page.click("nav button[data-tab=dashboard]").await;
    for process in ["redis", "api", "worker"] {
        wait_card(page, process, "running").await;
    }
    assert_ne!(page.text(".card[data-process=worker] dd").await, old_worker, "a new worker process");
}

/// Every diagram draws: Mermaid accepts its source in the page's language (the browser test runs
/// in English, the app's in Russian).
pub async fn every_diagram_draws(page: &mut Page) {
    page.click("nav button[data-tab=diagrams]").await;
    let ids = page
        .js("return [...document.querySelectorAll('#diagram-list button')].map(b => b.dataset.diagram);")
        .await
        .unwrap();
    let ids: Vec<String> = serde_json::from_value(ids).unwrap();
    assert!(ids.len() >= 9, "{ids:?}");
    for id in &ids {
        page.click(&format!("#diagram-list button[data-diagram={id}]")).await;
        // The stage shows the drawing, or the error Mermaid gave: either ends the wait.
        let script = format!(
            "const s = document.querySelector('#diagram-stage');
             if (s.querySelector('.notice')) return s.textContent;
             if (s.dataset.diagram !== '{id}' || !s.querySelector('svg')) return null;
             return s.textContent.includes('Syntax error') ? s.textContent : 'drawn';"
        );
        let outcome = page.wait_js(&format!("diagram {id}"), &script).await;
        assert_eq!(outcome, "drawn", "diagram {id}");
    }
    page.screenshot("diagram-last").await.unwrap();
}
