//! The desktop app under Xvfb, through tauri-driver and WebKitWebDriver.

use e2e::{Binaries, Display, Driver};

#[tokio::test(flavor = "multi_thread")]
async fn the_learner_path_in_the_desktop_app() {
    let _turn = e2e::ONE_AT_A_TIME.lock().await;
    let binaries = Binaries::from_env().unwrap();
    let Some(app) = binaries.app.clone() else {
        panic!("STACKDESK_APP is not set: `cargo xtask test` builds the app and sets it");
    };
    let display = Display::start().unwrap();
    let home = tempfile::tempdir().unwrap();
    // In Russian, the original course's language (the browser test runs in English).
    let (env, api_port) = e2e::stack_env(home.path(), &[("LANG", "ru_RU.UTF-8")]);
    let log = binaries.artifacts.join("app.log");
    let driver = Driver::tauri(&app, &display, &env, home.path(), &log).await.unwrap();
    let mut page = driver.session(&binaries.artifacts, "app").await.unwrap();
    let url = page.client.current_url().await.unwrap().to_string();
    crate::scenario::learner_path(&mut page, &url).await;
    assert_eq!(page.text("nav button[data-tab=tasks]").await, "История задач");
    crate::scenario::every_diagram_draws(&mut page).await;
    page.close().await.unwrap();
    // Ending the session closes the app, and quitting always stops the stack.
    let api = format!("http://127.0.0.1:{api_port}/health");
    test_support::wait::until("the API to stop with the app", e2e::DEADLINE, || {
        let request = reqwest::get(api.clone());
        async move { request.await.is_err().then_some(()) }
    })
    .await;
}
