//! The Russian UI in headless Chromium at a projector's 1280×720: after starting the stack and
//! creating a product, every tab (and every diagram) is walked and its visible text collected; no
//! text may hold an English word outside the glossary's allowlist (`ui/src/glossary.ts`, read
//! here so that both checks share one list). Form errors, numbers and durations are in Russian.

use e2e::{Binaries, Driver, Page, UiServer};
use serde_json::json;

/// The glossary, whose allowlist this test uses.
const GLOSSARY: &str = include_str!("../../../ui/src/glossary.ts");

/// The quoted entries between `// allowlist:begin` and `// allowlist:end`.
fn allowlist() -> Vec<String> {
    let begin = GLOSSARY.find("// allowlist:begin").expect("the glossary marks its allowlist");
    let end = GLOSSARY.find("// allowlist:end").expect("the glossary marks its allowlist's end");
    GLOSSARY[begin..end]
        .lines()
        .skip(1)
        .filter_map(|line| line.trim().strip_prefix('\'')?.strip_suffix("',").map(str::to_string))
        .collect()
}

/// Installs `window.__english(root)`: the visible text nodes (and placeholders) under `root` with
/// English words outside the allowlist, as `[{text, words}]`. The same rules as `englishWordsIn`
/// in glossary.ts; log lines, JSON and ids (`pre`, `.mono`, `#log-lines`) are data, not UI text.
fn scanner(allowed: &[String]) -> String {
    format!(
        r#"const allowed = {allowed};
        const phrases = allowed.filter(a => a.includes(' ')).sort((a, b) => b.length - a.length);
        const words = new Set(allowed.filter(a => !a.includes(' ')));
        const isCode = t => /^[.:][a-z]|[_@/{{}}*=\d]|:\/\/|[A-Za-z0-9]\.[A-Za-z0-9]|[A-Za-z0-9]:[A-Za-z0-9*{{]/.test(t)
          || /^[a-z]+[A-Z]\w*$/.test(t) || /^[a-z]+(-[a-z]+)+$/.test(t) || /^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$/.test(t);
        const englishIn = text => {{
          let rest = text.replace(/`[^`]*`/g, ' ');
          for (const p of phrases) rest = rest.split(p).join(' ');
          return rest.split(/[\s,;()«»"“”'’!?…·→<>|\[\]А-Яа-яЁё—–+]+/)
            .map(raw => raw.replace(/^-+|[-.:]+$/g, ''))
            .filter(t => /[A-Za-z]/.test(t) && !words.has(t) && !isCode(t));
        }};
        const visible = el => el && el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden'
          && !el.closest('[hidden], pre, .mono, #log-lines, script, style');
        window.__english = (root, skip) => {{
          const found = [];
          const shown = el => visible(el) && !(skip && el.closest(skip));
          const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
          const lines = new Set();
          for (let node = walker.nextNode(); node; node = walker.nextNode()) {{
            // A drawing's line is read whole (Mermaid puts each word in a tspan of its own).
            const line = node.parentElement?.closest('tspan.row, svg text');
            if (line && lines.has(line)) continue;
            if (line) lines.add(line);
            const text = (line ?? node).textContent.trim();
            if (!text || !shown(node.parentElement)) continue;
            const english = englishIn(text);
            if (english.length) found.push({{ text, words: english }});
          }}
          for (const el of root.querySelectorAll('[placeholder], [aria-label], [title]')) {{
            if (!shown(el)) continue;
            for (const attr of ['placeholder', 'aria-label', 'title']) {{
              const text = el.getAttribute(attr);
              if (!text) continue;
              const english = englishIn(text);
              if (english.length) found.push({{ text: `${{attr}}=${{text}}`, words: english }});
            }}
          }}
          return found;
        }};
        return true;"#,
        allowed = json!(allowed)
    )
}

/// What `window.__english` finds under `root` (but not under `skip`), each prefixed with `place`.
async fn english_on(page: &Page, place: &str, root: &str, skip: Option<&str>) -> Vec<String> {
    let script = format!("return window.__english(document.querySelector({}), {});", json!(root), json!(skip));
    let found = page.js(&script).await.unwrap();
    found
        .as_array()
        .map(|all| {
            all.iter().map(|f| format!("{place}: {} in «{}»", f["words"], f["text"].as_str().unwrap_or(""))).collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_russian_ui_has_no_stray_english() {
    let _turn = e2e::ONE_AT_A_TIME.lock().await;
    let binaries = Binaries::from_env().unwrap();
    let server = UiServer::start(&binaries, &[("LANG", "ru_RU.UTF-8")]).unwrap();
    let driver = Driver::chromium().await.unwrap();
    let mut page = driver.session(&binaries.artifacts, "russian").await.unwrap();
    page.client.set_window_size(1280, 720).await.unwrap();
    page.client.goto(&server.url).await.unwrap();
    page.wait_for("#start-stop").await;
    assert_eq!(page.js("return document.documentElement.lang").await.unwrap(), "ru", "LANG=ru_RU picks Russian");
    let allowed = allowlist();
    assert!(allowed.iter().any(|a| a == "Redis") && allowed.len() > 20, "{allowed:?}");
    page.js(&scanner(&allowed)).await.unwrap();
    let mut findings = Vec::new();
    findings.extend(english_on(&page, "stopped", "body", None).await);

    // Start: the three cards run.
    page.start_stack().await;

    // An invalid product: the API's English 422, worded in Russian under each field.
    page.click("nav button[data-tab=products]").await;
    page.type_into("#product-form input[name=name]", "   ").await;
    page.type_into("#product-form input[name=price]", "дорого").await;
    page.click("#product-submit").await;
    let errors = page
        .wait_js(
            "the field errors",
            "const e = f => document.querySelector(`.field-error[data-field=${f}]`).textContent;
             return e('name') && e('price') ? [e('name'), e('price')] : null;",
        )
        .await;
    assert_eq!(errors, json!(["Заполните это поле", "Нужно число, например 12,5"]));
    page.type_into("#product-form input[name=price]", "-5").await;
    page.click("#product-submit").await;
    page.wait_js(
        "the price's bound",
        "return document.querySelector('.field-error[data-field=price]').textContent === 'Значение должно быть больше 0';",
    )
    .await;
    findings.extend(english_on(&page, "products (errors)", "main", None).await);
    page.screenshot("product-errors").await.unwrap();

    // A price with a decimal comma is a number.
    page.type_into("#product-form input[name=name]", "Чайник").await;
    page.type_into("#product-form input[name=price]", "12,5").await;
    page.click("#product-submit").await;
    let price = page
        .wait_js(
            "the product in the list",
            "const li = [...document.querySelectorAll('#product-list li')].find(li => li.querySelector('.name')?.textContent === 'Чайник');
             return li ? li.querySelector('.price').textContent : null;",
        )
        .await;
    assert_eq!(price, "12,50");
    let task_id = page.js("return document.querySelector('#product-list li').dataset.taskId").await.unwrap();
    page.click("nav button[data-tab=tasks]").await;
    page.wait_js(
        "the task's SUCCESS",
        &format!(
            "return document.querySelector('#task-rows tr[data-task-id={task_id}]')?.dataset.state === 'SUCCESS';"
        ),
    )
    .await;
    // Durations in Russian: a decimal comma and «с», never "2.0 s".
    let runtime = page.text(&format!("#task-rows tr[data-task-id={task_id}] td.num:nth-of-type(5)")).await;
    assert!(runtime.ends_with("\u{a0}с") && runtime.contains(','), "{runtime:?}");

    // Every tab; the task's drawer; every diagram.
    let tabs: Vec<String> = serde_json::from_value(
        page.js("return [...document.querySelectorAll('nav button[data-tab]')].map(b => b.dataset.tab);")
            .await
            .unwrap(),
    )
    .unwrap();
    assert!(tabs.len() >= 5, "{tabs:?}");
    for tab in &tabs {
        page.click(&format!("nav button[data-tab={tab}]")).await;
        page.wait_js(
            &format!("the {tab} tab"),
            &format!(
                "return document.querySelector('nav button[data-tab={tab}]').getAttribute('aria-selected') === 'true';"
            ),
        )
        .await;
        if tab == "diagrams" {
            continue;
        }
        findings.extend(english_on(&page, tab, "body", None).await);
        page.screenshot(&format!("tab-{tab}")).await.unwrap();
    }
    page.click("nav button[data-tab=tasks]").await;
    page.click(&format!("#task-rows tr[data-task-id={task_id}] td.name")).await;
    page.wait_js("the drawer's timeline", "return document.querySelectorAll('#drawer .timeline li').length >= 3;")
        .await;
    let timeline = page.text("#drawer .timeline").await;
    assert!(timeline.contains("через") && !timeline.contains(" s)") && !timeline.contains(" ms)"), "{timeline}");
    findings.extend(english_on(&page, "task drawer", "#drawer", None).await);
    page.screenshot("task-drawer").await.unwrap();
    page.click("#drawer header button").await;

    page.click("nav button[data-tab=diagrams]").await;
    let ids: Vec<String> = serde_json::from_value(
        page.js("return [...document.querySelectorAll('#diagram-list button')].map(b => b.dataset.diagram);")
            .await
            .unwrap(),
    )
    .unwrap();
    let mut in_diagrams = Vec::new();
    for id in &ids {
        page.click(&format!("#diagram-list button[data-diagram={id}]")).await;
        let script = format!(
            "const s = document.querySelector('#diagram-stage');
             return s.dataset.diagram === '{id}' && s.querySelector('svg') ? true : null;"
        );
        page.wait_js(&format!("diagram {id}"), &script).await;
        // The page around the drawing, and the drawing's own lines.
        findings.extend(english_on(&page, &format!("diagram {id}"), "body", Some("#diagram-stage svg")).await);
        in_diagrams.extend(english_on(&page, &format!("diagram {id} (drawing)"), "#diagram-stage svg", None).await);
        page.screenshot(&format!("diagram-{id}")).await.unwrap();
    }

    // Settings: a wrong value is explained in Russian.
    page.click("nav button[data-tab=settings]").await;
    page.type_into("#settings-form input[name=WORKER_CONCURRENCY]", "0").await;
    page.click("#settings-save").await;
    page.wait_js(
        "the concurrency's error",
        "return document.querySelector('.field-error[data-field=WORKER_CONCURRENCY]').textContent === 'Нужно целое число от 1 до 64';",
    )
    .await;
    findings.extend(english_on(&page, "settings (error)", "main", None).await);
    page.screenshot("settings-error").await.unwrap();
    page.close().await.unwrap();

    findings.extend(in_diagrams);
    assert!(findings.is_empty(), "English outside the allowlist in the Russian UI:\n{}", findings.join("\n"));
}
