//! The original system's flow with real processes: POST a product, the worker runs its
//! notification, the monitor shows SUCCESS and streams it; the history survives restarts of the
//! API, the worker, the monitor and Redis (with AOF persistence on).

use std::time::Duration;

use serde_json::{Value, json};
use test_support::redis::RedisServer;

use crate::process;

async fn task_state(client: &reqwest::Client, base: &str, task_id: &str) -> Option<Value> {
    let response = client.get(format!("{base}/tasks/{task_id}")).send().await.ok()?;
    response.json().await.ok()
}

#[tokio::test(flavor = "multi_thread")]
async fn post_to_success_then_history_survives_restarts() {
    let mut redis = RedisServer::start_with(&["--appendonly", "yes", "--appendfsync", "always"]);
    let env = [("NOTIFY_SIMULATED_SECS", "0.5")];
    let (mut api, base) = process::api(&redis.url(), &env).await;
    let (mut monitor, monitor_base) = process::monitor(&redis.url()).await;
    let mut worker = process::worker(&redis.url(), &env);
    let client = reqwest::Client::new();

    let mut events = client.get(format!("{monitor_base}/events")).send().await.unwrap();
    let created = client
        .post(format!("{base}/products/"))
        .json(&json!({"name": "Чайник", "price": 1999.0}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    assert_eq!(created.headers()["location"], "/products/1");
    let product: Value = created.json().await.unwrap();
    let task_id = product["task_id"].as_str().unwrap().to_string();

    let done = test_support::wait::until("the task to reach SUCCESS", Duration::from_secs(60), || {
        let (client, base, id) = (client.clone(), monitor_base.clone(), task_id.clone());
        async move {
            // SUCCESS in the result and in the recorded events (they can arrive a moment apart).
            let recorded =
                |t: &Value| t["timeline"].as_array().is_some_and(|s| s.iter().any(|s| s["state"] == "SUCCESS"));
            task_state(&client, &base, &id).await.filter(|t| t["state"] == "SUCCESS" && recorded(t))
        }
    })
    .await;
    assert_eq!(done["worker"], "e2e@test");
    assert_eq!(done["result"]["status"], "simulated");
    assert_eq!(done["result"]["text"], "New product #1: Чайник \u{2014} 1999.0");

    // The live feed carried the same story.
    let mut feed = String::new();
    while !feed.contains("\"state\":\"SUCCESS\"") {
        let chunk =
            tokio::time::timeout(Duration::from_secs(30), events.chunk()).await.expect("live events").unwrap().unwrap();
        feed.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(feed.contains("event: product"), "{feed}");
    assert!(feed.contains(&task_id), "{feed}");
    drop(events);

    process::stop(&mut worker).await;
    process::stop(&mut monitor).await;
    process::stop(&mut api).await;
    redis.restart();
    let (mut api, base) = process::api(&redis.url(), &env).await;
    let (mut monitor, monitor_base) = process::monitor(&redis.url()).await;
    let after = task_state(&client, &monitor_base, &task_id).await.expect("the task is still known after restarts");
    assert_eq!(after["state"], "SUCCESS");
    assert_eq!(after["timeline"], done["timeline"], "the whole timeline survived");
    let products: Value = client.get(format!("{base}/products/")).send().await.unwrap().json().await.unwrap();
    assert_eq!(products[0]["task_id"], task_id.as_str());
    let page: Value = client.get(format!("{monitor_base}/tasks")).send().await.unwrap().json().await.unwrap();
    assert_eq!(page["tasks"][0]["task_id"], task_id.as_str());
    process::stop(&mut monitor).await;
    process::stop(&mut api).await;
}

/// `stackdesk up` on free ports, with its data in `data`; returns the process and its
/// `(api, monitor, redis port)` once it says it is ready.
async fn up(data: &std::path::Path) -> (test_support::python::ChildProcess, String, String, u16) {
    let (redis_port, api_port, monitor_port) =
        (test_support::redis::free_port(), test_support::redis::free_port(), test_support::redis::free_port());
    let mut command = process::stackdesk();
    command
        .arg("up")
        .env("STACKDESK_DATA_DIR", data)
        .env("REDIS_URL", format!("redis://127.0.0.1:{redis_port}/0"))
        .env("API_PORT", api_port.to_string())
        .env("MONITOR_PORT", monitor_port.to_string())
        .env("NOTIFY_SIMULATED_SECS", "0.2");
    let mut child = test_support::python::ChildProcess::spawn("stackdesk-up", &mut command);
    child.wait_for_output("ready: API on", Duration::from_secs(60)).await;
    (child, format!("http://127.0.0.1:{api_port}"), format!("http://127.0.0.1:{monitor_port}"), redis_port)
}

/// The `(task id, state)` pairs of the `task` events in an SSE text.
fn task_states(feed: &str) -> Vec<(String, String)> {
    feed.split("\n\n")
        .filter(|block| block.contains("event: task"))
        .filter_map(|block| block.lines().find_map(|l| l.strip_prefix("data:")))
        .filter_map(|data| serde_json::from_str::<Value>(data.trim()).ok())
        .map(|t| (t["task_id"].as_str().unwrap_or("").to_string(), t["state"].as_str().unwrap_or("").to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn up_runs_one_monitor_that_every_open_ui_shares() {
    let data = tempfile::tempdir().unwrap();
    let (mut up, api, monitor, redis_port) = up(data.path()).await;
    let client = reqwest::Client::new();
    // Two UIs open at once, each following the live feed.
    let mut first = client.get(format!("{monitor}/events")).send().await.unwrap();
    let mut second = client.get(format!("{monitor}/events")).send().await.unwrap();
    let mut ids = Vec::new();
    for name in ["один", "два", "три"] {
        let created: Value = client
            .post(format!("{api}/products/"))
            .json(&json!({"name": name, "price": 1}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        ids.push(created["task_id"].as_str().unwrap().to_string());
    }
    let mut feeds = [String::new(), String::new()];
    for (feed, events) in feeds.iter_mut().zip([&mut first, &mut second]) {
        while task_states(feed).iter().filter(|(_, state)| state == "SUCCESS").count() < ids.len() {
            let chunk = tokio::time::timeout(Duration::from_secs(30), events.chunk())
                .await
                .expect("live events")
                .unwrap()
                .unwrap();
            feed.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
    assert_eq!(task_states(&feeds[0]), task_states(&feeds[1]), "both UIs are told the same story");
    // One recorder: each state reached once in each task's timeline.
    for id in &ids {
        let task: Value = client.get(format!("{monitor}/tasks/{id}")).send().await.unwrap().json().await.unwrap();
        let timeline: Vec<&str> =
            task["timeline"].as_array().unwrap().iter().map(|s| s["state"].as_str().unwrap()).collect();
        assert_eq!(timeline, ["PENDING", "RECEIVED", "STARTED", "SUCCESS"], "{task}");
    }
    // One follower of Celery's events on the stack's Redis, the monitor: the clients with a
    // pattern subscription are it and the worker's remote control (the API records nothing, the
    // supervisor's start-up probes are gone).
    let clients = test_support::redis::raw_command_on(redis_port, &["CLIENT", "LIST"]);
    let following: Vec<&str> =
        clients.lines().filter(|c| c.split(' ').any(|f| f.starts_with("psub=") && f != "psub=0")).collect();
    assert_eq!(following.len(), 2, "{following:#?}");
    // The API has no task endpoints of its own.
    assert_eq!(client.get(format!("{api}/tasks")).send().await.unwrap().status(), 404);
    process::stop(&mut up).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_taken_monitor_port_stops_up_before_anything_runs() {
    let data = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let monitor_port = taken.local_addr().unwrap().port();
    let redis_port = test_support::redis::free_port();
    let mut command = process::stackdesk();
    command
        .arg("up")
        .env("STACKDESK_DATA_DIR", data.path())
        .env("REDIS_URL", format!("redis://127.0.0.1:{redis_port}/0"))
        .env("API_PORT", test_support::redis::free_port().to_string())
        .env("MONITOR_PORT", monitor_port.to_string());
    let mut child = test_support::python::ChildProcess::spawn("stackdesk-up", &mut command);
    let (status, output) = child.wait_exit(Duration::from_secs(30)).await;
    assert!(!status.success(), "{output}");
    assert!(output.contains(&format!("port {monitor_port}, needed by the task monitor")), "{output}");
    assert!(output.contains("MONITOR_PORT"), "it says which setting to change: {output}");
    assert!(std::net::TcpStream::connect(("127.0.0.1", redis_port)).is_err(), "no Redis was started");
}
