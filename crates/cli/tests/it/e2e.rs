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
