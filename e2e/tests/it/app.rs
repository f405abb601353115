//! The desktop app under Xvfb, through tauri-driver and WebKitWebDriver.

use e2e::{Binaries, Display, Driver};

#[tokio::test(flavor = "multi_thread")]
async fn the_learner_path_in_the_desktop_app() {
    let _turn = e2e::ONE_AT_A_TIME.lock().await;
    let binaries = Binaries::from_env().unwrap();
    let Some(app) = binaries.app.clone() else {
        panic!("STACKDESK_APP is not set: `cargo xtask test` builds the app and sets it");
    };
    // A projector's screen: the presentation checks run full screen at 1280×720.
    let display = Display::with_size(1280, 720).unwrap();
    let home = tempfile::tempdir().unwrap();
    // In Russian, the original course's language (the browser test runs in English).
    let (env, ports) = e2e::stack_env(home.path(), &[("LANG", "ru_RU.UTF-8")]);
    let log = binaries.artifacts.join("app.log");
    let driver = Driver::tauri(&app, &display, &env, home.path(), &log).await.unwrap();
    let mut page = driver.session(&binaries.artifacts, "app").await.unwrap();
    let url = page.client.current_url().await.unwrap().to_string();
    crate::scenario::learner_path(&mut page, &url).await;
    assert_eq!(page.text("nav button[data-tab=tasks]").await, "История задач");
    crate::scenario::every_diagram_draws(&mut page).await;
    let (api, monitor) = (ports.api_url(), ports.monitor_url());
    let redis_port = e2e::redis_port_of(&env).unwrap();
    // The display is a 1280×720 projector: in a presentation the app's window is full screen.
    let stack =
        crate::presenter::Stack { api: &api, monitor: &monitor, redis_port, engine: "webkit", sizes: &[(1280, 720)] };
    crate::presenter::diagrams_hold_up_on_a_projector(&mut page, &stack).await;
    page.close().await.unwrap();
    // Ending the session closes the app, and quitting always stops the stack.
    let health = format!("{api}/health");
    test_support::wait::until("the API to stop with the app", e2e::DEADLINE, || {
        let request = reqwest::get(health.clone());
        async move { request.await.is_err().then_some(()) }
    })
    .await;
}
