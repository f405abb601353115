//! The UI in headless Chromium against `stackdesk ui`.

use e2e::{Binaries, Driver, UiServer};

#[tokio::test(flavor = "multi_thread")]
async fn the_learner_path_in_chromium() {
    let _turn = e2e::ONE_AT_A_TIME.lock().await;
    let binaries = Binaries::from_env().unwrap();
    let mut server = UiServer::start(&binaries, &[]).unwrap();
    let driver = Driver::chromium().await.unwrap();
    let mut page = driver.session(&binaries.artifacts, "browser").await.unwrap();
    crate::scenario::learner_path(&mut page, &server.url).await;

    crate::scenario::every_diagram_draws(&mut page).await;
    let stack = crate::presenter::Stack {
        api: &server.api,
        monitor: &server.monitor,
        redis_port: server.redis_port,
        engine: "chromium",
        sizes: &crate::presenter::SIZES,
    };
    crate::presenter::diagrams_hold_up_on_a_projector(&mut page, &stack).await;

    // A page without the token gets nothing from the control endpoint.
    let without = server.url.split('#').next().unwrap().to_string();
    page.client.goto(&without).await.unwrap();
    page.js("sessionStorage.clear(); location.reload(); return true;").await.unwrap();
    page.wait_js("the no-token notice", "return document.querySelector('#app .notice') !== null;").await;
    page.close().await.unwrap();

    // Ctrl+C (SIGTERM) stops the stack and the UI cleanly.
    let status = e2e::stop_politely(&mut server.child.0, std::time::Duration::from_secs(20)).unwrap();
    assert!(status.success(), "{status}");
    let health = reqwest::Client::new().get(format!("{}/health", server.api)).send().await;
    assert!(health.is_err(), "the API is gone with the UI");
}

#[tokio::test(flavor = "multi_thread")]
async fn with_no_redis_anywhere_the_first_run_screen_explains_the_choices_and_an_existing_one_works() {
    let _turn = e2e::ONE_AT_A_TIME.lock().await;
    let binaries = Binaries::from_env().unwrap();
    // No redis-server on PATH, none bundled, none named: the situation of a fresh Windows machine.
    let server = UiServer::start(&binaries, &[("PATH", "/nonexistent"), ("LANG", "ru_RU.UTF-8")]).unwrap();
    let redis = test_support::redis::RedisServer::start();
    let driver = Driver::chromium().await.unwrap();
    let mut page = driver.session(&binaries.artifacts, "first-run").await.unwrap();
    page.client.goto(&server.url).await.unwrap();

    // Before anyone presses Start, the screen says what Redis is for and where it looked.
    page.wait_for("#first-run").await;
    let choices = page
        .js("return [...document.querySelectorAll('#first-run .choice h3')].map(h => h.textContent)")
        .await
        .unwrap();
    assert_eq!(choices.as_array().map(Vec::len), Some(2), "bundled and an existing Redis on Linux: {choices}");
    let text = page.text("#dialog .dialog").await;
    assert!(text.contains("redis-server on PATH"), "where it looked is missing: {text}");
    page.screenshot("choices").await.unwrap();

    // An existing Redis: its URL, and the stack starts with it (the API and the worker ours).
    page.type_into("#first-run-url", &redis.url()).await;
    page.click("#dialog .buttons button.primary").await;
    let started = page
        .wait_js(
            "the stack to start on the existing Redis",
            "const state = p => document.querySelector(`.card[data-process=${p}]`)?.dataset.state;
             const notice = document.querySelector('#notice').textContent;
             if (notice && !document.querySelector('#notice[data-kind=info]')) return 'notice: ' + notice;
             return state('redis') === 'external' && state('api') === 'running' && state('worker') === 'running' ? 'ok' : null;",
        )
        .await;
    assert_eq!(started, "ok");
    page.screenshot("started-on-existing").await.unwrap();
    page.close().await.unwrap();
}
