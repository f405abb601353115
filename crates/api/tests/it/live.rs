//! History and `/events` with a real worker running the notification task (simulated send).

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::TestApp;

fn worker_settings(redis_url: &str, extra: &[(&str, &str)]) -> config::Settings {
    let mut env: HashMap<String, String> = HashMap::from([
        ("REDIS_URL".into(), redis_url.into()),
        ("NOTIFY_SIMULATED_SECS".into(), "0.3".into()),
        ("TASK_RETRY_COUNTDOWN_SECS".into(), "0".into()),
    ]);
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    config::Settings::from_sources(&config::Sources { env, ..Default::default() }).unwrap()
}

/// Reads SSE events from a live `/events` response until `done` says so.
async fn read_events(
    response: &mut reqwest::Response,
    mut done: impl FnMut(&str, &Value) -> bool,
) -> Vec<(String, Value)> {
    let mut buffer = String::new();
    let mut seen = Vec::new();
    loop {
        let chunk = tokio::time::timeout(Duration::from_secs(30), response.chunk())
            .await
            .expect("an event within 30 s")
            .unwrap()
            .expect("stream open");
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let event = block.lines().find_map(|l| l.strip_prefix("event:")).map(|e| e.trim().to_string());
            let data = block
                .lines()
                .find_map(|l| l.strip_prefix("data:"))
                .map(|d| serde_json::from_str(d.trim()).unwrap_or(Value::Null));
            if let (Some(event), Some(data)) = (event, data) {
                let stop = done(&event, &data);
                seen.push((event, data));
                if stop {
                    return seen;
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_task_goes_pending_to_success_in_history_and_on_the_live_feed() {
    let app = TestApp::start().await;
    let tracker = app.start_recorder().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(api::serve(listener, app.state.clone(), app.shutdown.clone()));

    let client = reqwest::Client::new();
    let mut events = client.get(format!("{base}/events")).send().await.unwrap();
    assert_eq!(events.headers()["content-type"], "text/event-stream");
    let settings = worker_settings(&app.redis.url(), &[("NOTIFY_FAIL_FIRST_ATTEMPTS", "1")]);
    let worker_stop = tokio_util::sync::CancellationToken::new();
    let worker = tokio::spawn({
        let stop = worker_stop.clone();
        async move { worker::run(&settings, Some("live-test@test".into()), stop).await }
    });

    let created: Value = client
        .post(format!("{base}/products/"))
        .json(&json!({"name": "Phone", "price": 499.9}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let task_id = created["task_id"].as_str().unwrap().to_string();
    let seen = read_events(&mut events, |event, data| {
        event == "task" && data["task_id"] == task_id.as_str() && data["state"] == "SUCCESS"
    })
    .await;
    assert!(seen.iter().any(|(e, d)| e == "product" && d["id"] == created["id"]), "product creation is on the feed");
    assert!(
        seen.iter().any(|(e, d)| e == "worker" && d["type"] == "worker-online" && d["hostname"] == "live-test@test")
    );
    let states: Vec<&str> = seen
        .iter()
        .filter(|(e, d)| e == "task" && d["task_id"] == task_id.as_str())
        .map(|(_, d)| d["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["RECEIVED", "STARTED", "RETRY", "RECEIVED", "STARTED", "SUCCESS"], "every state change, live");

    let task: Value = client.get(format!("{base}/tasks/{task_id}")).send().await.unwrap().json().await.unwrap();
    assert_eq!(task["state"], "SUCCESS");
    assert_eq!(task["retries"], 1);
    assert_eq!(task["worker"], "live-test@test");
    assert_eq!(task["result"]["status"], "simulated");
    assert_eq!(task["error"], Value::Null);
    let timeline: Vec<&str> =
        task["timeline"].as_array().unwrap().iter().map(|s| s["state"].as_str().unwrap()).collect();
    assert_eq!(timeline, ["PENDING", "RECEIVED", "STARTED", "RETRY", "RECEIVED", "STARTED", "SUCCESS"]);
    assert_eq!(task["args"][0]["id"], created["id"]);

    let page: Value = client.get(format!("{base}/tasks?state=SUCCESS")).send().await.unwrap().json().await.unwrap();
    assert_eq!(page["tasks"].as_array().unwrap().len(), 1);
    let none: Value = client.get(format!("{base}/tasks?state=FAILURE")).send().await.unwrap().json().await.unwrap();
    assert_eq!(none["tasks"], json!([]));

    worker_stop.cancel();
    worker.await.unwrap().unwrap();
    app.shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("graceful shutdown ends live streams")
        .unwrap()
        .unwrap();
    tracker.close();
    tracker.wait().await;
}

#[tokio::test]
async fn history_pages_newest_first_and_is_bounded() {
    let options = api::ApiOptions { history_max: 10, ..api::ApiOptions::default() };
    let app = TestApp::start_with(options).await;
    let mut ids = Vec::new();
    for n in 0..14 {
        let answer = app.post_json("/products/", &json!({"name": format!("p{n}"), "price": 1})).await;
        ids.push(answer.json["task_id"].as_str().unwrap().to_string());
    }
    let first = app.get("/tasks?limit=4").await;
    let page: Vec<&str> =
        first.json["tasks"].as_array().unwrap().iter().map(|t| t["task_id"].as_str().unwrap()).collect();
    assert_eq!(page, ids.iter().rev().take(4).map(String::as_str).collect::<Vec<_>>());
    let mut all: Vec<String> = page.iter().map(|s| s.to_string()).collect();
    let mut before = first.json["next_before"].clone();
    while let Some(cursor) = before.as_f64() {
        let next = app.get(&format!("/tasks?limit=4&before={cursor}")).await;
        all.extend(next.json["tasks"].as_array().unwrap().iter().map(|t| t["task_id"].as_str().unwrap().to_string()));
        before = next.json["next_before"].clone();
    }
    assert_eq!(all, ids.iter().rev().take(10).cloned().collect::<Vec<_>>(), "the 10 newest, each once");
    assert_eq!(app.get(&format!("/tasks/{}", ids[0])).await.status, 404, "the oldest were trimmed");
    let mut conn = app.conn.clone();
    let records: Vec<String> = redis::cmd("KEYS").arg("stackdesk:task:*").query_async(&mut conn).await.unwrap();
    assert_eq!(records.len(), 10, "trimmed records are deleted, not just unlisted");
}

#[tokio::test]
async fn events_microseconds_apart_keep_their_order() {
    let app = TestApp::start().await;
    let mut conn = app.conn.clone();
    // With 14 significant digits the first is stored as ...3407, after the true time of the next two.
    let t = 1_795_501_634.340_68;
    let event = |kind: &str, at: f64| {
        let mut fields = serde_json::Map::new();
        fields.insert("uuid".into(), json!("t-1"));
        fields.insert("type".into(), json!(kind));
        fields.insert("hostname".into(), json!("w@h"));
        fields.insert("timestamp".into(), json!(at));
        taskq::Event { kind: taskq::EventKind::parse(kind), hostname: "w@h".into(), timestamp: at, clock: 1, fields }
    };
    for (kind, at) in [("task-received", t), ("task-started", t + 0.000_005), ("task-succeeded", t + 0.000_01)] {
        api::history::apply_event(&mut conn, &event(kind, at), 100).await.unwrap();
    }
    let task = app.get("/tasks/t-1").await.json;
    assert_eq!(task["state"], "SUCCESS");
    let timeline: Vec<&str> =
        task["timeline"].as_array().unwrap().iter().map(|s| s["state"].as_str().unwrap()).collect();
    assert_eq!(timeline, ["RECEIVED", "STARTED", "SUCCESS"]);
    // A late event never moves a finished task back.
    api::history::apply_event(&mut conn, &event("task-started", t + 0.000_007), 100).await.unwrap();
    assert_eq!(app.get("/tasks/t-1").await.json["state"], "SUCCESS");
}
