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

    page.start_stack().await;
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
    // The API answers in FastAPI's English; the Russian UI words the error by its type and ctx.
    let russian = page.js("return document.documentElement.lang === 'ru'").await.unwrap() == json!(true);
    let price_error = page.text(".field-error[data-field=price]").await;
    let expected = if russian { "больше 0" } else { "greater than 0" };
    assert!(price_error.contains(expected), "{price_error}");
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

    // Stop the worker from its card while the architecture diagram is shown: the page notes when
    // the card turns stopped and when the worker's node does; the node follows within a second.
    page.click("nav button[data-tab=diagrams]").await;
    page.click("#diagram-list button[data-diagram=architecture]").await;
    wait_node(page, "worker", "live-on").await;
    page.js(
        "const card = document.querySelector('.card[data-process=worker]');
         const node = [...document.querySelectorAll('#diagram-stage g.node')].find(g => /flowchart-worker-\\d+$/.test(g.id));
         window.__cardAt = null; window.__nodeAt = null;
         const seen = () => {
           if (!window.__cardAt && card.dataset.state === 'stopped') window.__cardAt = performance.now();
           if (!window.__nodeAt && node.classList.contains('live-off')) window.__nodeAt = performance.now();
         };
         new MutationObserver(seen).observe(card, { attributes: true });
         new MutationObserver(seen).observe(node, { attributes: true });
         card.querySelector('button[data-action=stop]').click();
         return true;",
    )
    .await
    .unwrap();
    wait_node(page, "worker", "live-off").await;
    let lag = page
        .wait_js(
            "the card and the node to change",
            "return window.__cardAt && window.__nodeAt ? window.__nodeAt - window.__cardAt : null;",
        )
        .await;
    assert!(lag.as_f64().unwrap() < 1000.0, "the node changed {lag} ms after the card");
    wait_node(page, "api", "live-on").await;
    page.screenshot("diagram-worker-stopped").await.unwrap();
    page.click("nav button[data-tab=dashboard]").await;
    wait_card(page, "worker", "stopped").await;
    assert_eq!(card_state(page, "api").await, "running");
    page.screenshot("worker-stopped").await.unwrap();

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

    lifecycle_moves_to_success(page).await;
    export_is_valid_svg(page).await;

    // Settings: a wrong value is named under its field and nothing is saved; a right one that the
    // worker reads at start offers the restart, which brings the stack back.
    page.click("nav button[data-tab=settings]").await;
    page.type_into("#settings-form input[name=WORKER_CONCURRENCY]", "0").await;
    page.click("#settings-save").await;
    page.wait_js(
        "the concurrency's error",
        "const text = document.querySelector('.field-error[data-field=WORKER_CONCURRENCY]').textContent;
         return text.includes(document.documentElement.lang === 'ru' ? 'от 1 до 64' : '1 to 64');",
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
    // The restart answered once the new worker ran; its card shows it from the next paint on.
    let new_worker = format!(
        "const card = document.querySelector('.card[data-process=worker]');
         return card?.dataset.state === 'running' && card.querySelector('dd')?.textContent !== {};",
        json!(old_worker)
    );
    page.wait_js("the card of a new worker process", &new_worker).await;
    for process in ["redis", "api", "worker"] {
        wait_card(page, process, "running").await;
    }
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

/// The count on a lifecycle state's node.
const LIFECYCLE_COUNT: &str =
    "const count = (state) => Number([...document.querySelectorAll('#diagram-stage[data-diagram=lifecycle] g.node')]
       .find(g => new RegExp(`state-${state}-\\\\d+$`).test(g.id))?.dataset.count ?? -1);";

/// A product sent from the demo bar moves the lifecycle's counts: STARTED, then SUCCESS one up.
/// The page records every count it shows, so no paint in between is missed.
async fn lifecycle_moves_to_success(page: &mut Page) {
    page.click("nav button[data-tab=diagrams]").await;
    page.click("#diagram-list button[data-diagram=lifecycle]").await;
    let before = page
        .wait_js(
            "the lifecycle's counts",
            &format!("{LIFECYCLE_COUNT} const n = count('SUCCESS'); return n >= 0 ? n : null;"),
        )
        .await;
    let before = before.as_i64().unwrap();
    page.js(&format!(
        "{LIFECYCLE_COUNT}
         window.__counts = [];
         const note = () => window.__counts.push([count('PENDING'), count('RECEIVED'), count('STARTED'), count('SUCCESS')]);
         new MutationObserver(note).observe(document.querySelector('#diagram-stage'), {{ attributes: true, subtree: true, attributeFilter: ['data-count'] }});
         document.querySelector('#demo-count').value = '1';
         document.querySelector('#demo-send').click();
         return true;"
    ))
    .await
    .unwrap();
    // Mid-task: the task is running; the path of the selected task is highlighted.
    page.wait_js("a task to show as STARTED", &format!("{LIFECYCLE_COUNT} return count('STARTED') >= 1;")).await;
    page.js("const select = document.querySelector('#path-task');
         select.selectedIndex = 1; select.dispatchEvent(new Event('change'));
         return true;")
        .await
        .unwrap();
    page.wait_js("the path", "return document.querySelectorAll('#diagram-stage g.node.live-path').length >= 2;").await;
    page.screenshot("diagram-lifecycle-mid-task").await.unwrap();
    let counts = page
        .wait_js(
            "the SUCCESS count to go up",
            &format!("{LIFECYCLE_COUNT} return count('SUCCESS') === {} ? window.__counts : null;", before + 1),
        )
        .await;
    let counts: Vec<[i64; 4]> = serde_json::from_value(counts).unwrap();
    let started_at = counts.iter().position(|c| c[2] >= 1).expect("STARTED was shown");
    let done_at = counts.iter().position(|c| c[3] == before + 1).expect("SUCCESS went up");
    assert!(started_at < done_at, "STARTED before SUCCESS: {counts:?}");
    page.screenshot("diagram-lifecycle-success").await.unwrap();
}

/// Export SVG writes a file that is a well-formed SVG document with the diagram's nodes.
async fn export_is_valid_svg(page: &mut Page) {
    page.click("#export-svg").await;
    let path = page
        .wait_js(
            "the export's notice",
            "return document.querySelector('#notice [data-export-path]')?.dataset.exportPath ?? null;",
        )
        .await;
    let text = std::fs::read_to_string(path.as_str().unwrap()).unwrap();
    let mut reader = quick_xml::Reader::from_str(&text);
    let (mut root, mut nodes, mut depth) = (None, 0, 0i32);
    loop {
        match reader.read_event().unwrap_or_else(|e| panic!("not well-formed XML: {e}")) {
            quick_xml::events::Event::Start(tag) => {
                depth += 1;
                let name = tag.name().as_ref().to_string();
                root.get_or_insert(name);
                let class = tag.try_get_attribute("class").unwrap().map(|a| a.value.to_string());
                if class.is_some_and(|c| c.split(' ').any(|c| c == "node")) {
                    nodes += 1;
                }
            }
            quick_xml::events::Event::End(_) => depth -= 1,
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(depth, 0, "every element closed");
    assert_eq!(root.as_deref(), Some("svg"));
    assert!(text.contains("xmlns=\"http://www.w3.org/2000/svg\""), "a standalone SVG");
    assert!(nodes >= 5, "the lifecycle's states are in the export ({nodes} nodes)");
}

/// The shortest useful path, for an installed app: Start → three cards running → a product's
/// task reaches SUCCESS.
pub async fn start_and_run_a_task(page: &mut Page, url: &str) {
    page.client.goto(url).await.unwrap();
    page.wait_for("#start-stop").await;
    page.start_stack().await;
    page.screenshot("running").await.unwrap();
    let task_id = create_product(page, "Чайник", "1990.5").await;
    page.click("nav button[data-tab=tasks]").await;
    wait_task(page, &task_id, "SUCCESS").await;
    page.screenshot("task-success").await.unwrap();
}
