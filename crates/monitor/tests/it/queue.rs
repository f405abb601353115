//! Tasks that reach the history without anyone recording them: noticed in the queue, or from a
//! producer's `task-sent` event; and what the monitor writes is bounded as configured.

use std::time::Duration;

use axum::http::Method;
use redis::AsyncCommands;
use serde_json::{Map, json};

use crate::common::{TASK, TestMonitor, product, states};

#[tokio::test]
async fn a_task_queued_without_any_record_or_event_shows_up_as_pending() {
    let app = TestMonitor::start().await;
    app.start_recorder().await;
    let message = app.send(product(3, "Kettle")).await;
    let task = app.wait_task(message.id(), "the queued task in the history", |t| t["state"] == "PENDING").await;
    assert_eq!(states(&task), ["PENDING"]);
    assert_eq!(task["name"], TASK);
    assert_eq!(task["args"], json!([product(3, "Kettle")]), "the arguments as sent, as JSON");
    let listed = app.get("/tasks").await.json;
    assert_eq!(listed["tasks"][0]["task_id"], message.id());
    app.stop().await;
}

#[tokio::test]
async fn a_producers_task_sent_event_records_the_task_before_any_worker() {
    let app = TestMonitor::start().await;
    app.start_recorder().await;
    // Celery's producer with `task_send_sent_event`: the event alone (the message went elsewhere).
    let mut fields = Map::new();
    fields.insert("uuid".into(), json!("sent-1"));
    fields.insert("name".into(), json!(TASK));
    fields.insert("args".into(), json!("({'id': 4},)"));
    fields.insert("retries".into(), json!(0));
    let dispatcher = taskq::EventDispatcher::start(&app.broker, "gen1@host", true, &app.tracker);
    dispatcher.send("task-sent", fields);
    dispatcher.flush().await;
    drop(dispatcher);
    let task = app.wait_task("sent-1", "the sent task recorded", |t| t["state"] == "PENDING").await;
    assert_eq!(task["args"], json!([{"id": 4}]), "read back from the event's repr");
    app.stop().await;
}

#[tokio::test]
async fn the_revoked_results_a_purge_writes_expire_as_results_do() {
    let options = monitor::MonitorOptions {
        result_expires: Some(Duration::from_secs(123)),
        ..monitor::MonitorOptions::default()
    };
    let app = TestMonitor::start_with(options).await;
    let message = app.send(product(1, "p")).await;
    assert_eq!(app.request(Method::DELETE, "/queue").await.json["purged"], 1);
    let mut conn = app.conn.clone();
    let ttl: i64 = conn.ttl(taskq::result_key(message.id())).await.unwrap();
    assert!((1..=123).contains(&ttl), "RESULT_EXPIRES_SECS, not a literal: {ttl}");
    app.stop().await;
}
