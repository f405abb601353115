//! The history shows tasks run by a Python Celery worker started with `-E`: it is built from
//! Celery's events and results, not from anything only our worker does.

use std::time::Duration;

use serde_json::json;

use crate::common::TestApp;

#[tokio::test(flavor = "multi_thread")]
async fn a_python_workers_task_appears_in_the_history() {
    let app = TestApp::start().await;
    let tracker = app.start_recorder().await;
    let _python = app.python_worker("py-history@%h");
    let created = app.post_json("/products/", &json!({"name": "Phone", "price": 1})).await;
    let task_id = created.json["task_id"].as_str().unwrap().to_string();
    let task = test_support::wait::until(
        "the Python worker's SUCCESS recorded in the history",
        Duration::from_secs(60),
        || {
            let path = format!("/tasks/{task_id}");
            let app = &app;
            // Python's worker batches its task events: the result can be visible before they are
            // recorded, so wait for the recorded SUCCESS step, not only the result.
            async move {
                let task = app.get(&path).await.json;
                let recorded = task["timeline"].as_array().is_some_and(|t| t.iter().any(|s| s["state"] == "SUCCESS"));
                (task["state"] == "SUCCESS" && recorded).then_some(task)
            }
        },
    )
    .await;
    assert_eq!(task["result"], json!({"status": "simulated", "product_id": 1, "by": "python"}));
    assert!(task["worker"].as_str().unwrap().starts_with("py-history@"), "{task}");
    let timeline: Vec<&str> =
        task["timeline"].as_array().unwrap().iter().map(|s| s["state"].as_str().unwrap()).collect();
    assert_eq!(timeline, ["PENDING", "RECEIVED", "STARTED", "SUCCESS"], "from the Python worker's events");
    app.shutdown.cancel();
    tracker.close();
    tracker.wait().await;
}
