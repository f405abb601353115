//! A stack where neither the API nor the worker is ours: Python Celery's `send_task` produces
//! (no history record, no `task-sent` event) and a Python Celery worker started with `-E` runs
//! the tasks. The history, the live feed, revoke, retry and `/workers` all work.

use std::time::Duration;

use serde_json::json;

use crate::common::{TestMonitor, python_dir, states};
use crate::feed::{read_events, serve};

/// Runs the Python producer: `(product id, countdown)` pairs; returns the task ids it sent.
fn python_send(app: &TestMonitor, tasks: &[(u64, f64)]) -> Vec<String> {
    let venv = test_support::python::Venv::get();
    let mut command = venv.python(&python_dir().join("producer.py"));
    for (id, countdown) in tasks {
        command.arg(id.to_string()).arg(countdown.to_string());
    }
    let output = test_support::python::run_ok(command.env("REDIS_URL", app.redis.url()));
    String::from_utf8_lossy(&output.stdout).lines().map(str::to_string).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_monitor_works_with_a_python_producer_and_a_python_worker() {
    let app = TestMonitor::start().await;
    app.start_recorder().await;
    let (base, _server) = serve(&app).await;
    let mut events = reqwest::Client::new().get(format!("{base}/events")).send().await.unwrap();

    // No worker yet: the monitor notices the Python-sent task in the queue.
    let first = python_send(&app, &[(1, 0.0)]).remove(0);
    let pending = app.wait_task(&first, "the Python-sent task noticed as PENDING", |t| t["state"] == "PENDING").await;
    assert_eq!(pending["args"][0]["name"], "Python 1");
    assert_eq!(pending["name"], "tasks.notifications.send_tg_notification");

    let _worker = app.python_worker("py-monitor@%h");
    let done = app
        .wait_task(&first, "the Python worker's SUCCESS recorded", |t| {
            t["state"] == "SUCCESS" && states(t).contains(&"SUCCESS")
        })
        .await;
    assert_eq!(states(&done), ["PENDING", "RECEIVED", "STARTED", "SUCCESS"]);
    assert_eq!(done["result"], json!({"status": "simulated", "product_id": 1, "by": "python"}));
    assert!(done["worker"].as_str().unwrap().starts_with("py-monitor@"), "{done}");
    // Live too (Python batches its task events, so the views may all be past STARTED already).
    read_events(&mut events, |event, data| {
        event == "task" && data["task_id"] == first.as_str() && data["state"] == "SUCCESS"
    })
    .await;

    // /workers: the Python worker, with its own stats.
    let listed = test_support::wait::until("the Python worker listed with stats", Duration::from_secs(20), || {
        let app = &app;
        async move {
            let workers = app.get("/workers").await.json;
            workers.as_array()?.iter().find(|w| w["online"] == true && w["stats"].is_object()).cloned()
        }
    })
    .await;
    assert_eq!(listed["sw_ident"], "py-celery", "{listed}");
    assert!(listed["stats"]["pool"].is_object(), "{listed}");

    // Revoke a task the Python worker holds for its countdown; retry it; the retry runs.
    let waiting = python_send(&app, &[(2, 60.0)]).remove(0);
    app.wait_task(&waiting, "the Python worker received the delayed task", |t| t["state"] == "RECEIVED").await;
    let revoked = app.post(&format!("/tasks/{waiting}/revoke")).await;
    assert_eq!(revoked.status, 202, "{}", revoked.text);
    assert!(
        revoked.json["replies"].as_object().unwrap().keys().any(|k| k.starts_with("py-monitor@")),
        "the Python worker acknowledged the revoke: {}",
        revoked.text
    );
    app.wait_task(&waiting, "REVOKED", |t| t["state"] == "REVOKED").await;
    let retried = app.post(&format!("/tasks/{waiting}/retry")).await;
    assert_eq!(retried.status, 201, "{}", retried.text);
    let retry = retried.json["task_id"].as_str().unwrap().to_string();
    let done = app
        .wait_task(&retry, "the retry's SUCCESS on the Python worker", |t| {
            t["state"] == "SUCCESS" && states(t).contains(&"SUCCESS")
        })
        .await;
    assert_eq!(done["retry_of"], waiting.as_str());
    assert_eq!(done["result"]["product_id"], 2);
    app.stop().await;
}
