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
