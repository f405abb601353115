//! The history's motion: a retry's countdown (the `eta` of its delivery, from our worker's and a
//! Python worker's events) and a redelivery after a worker is gone (STARTED → RECEIVED again).

use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::common::{TestMonitor, product, start_worker, states, worker_settings};

fn epoch(iso: &Value) -> f64 {
    let at = chrono::DateTime::parse_from_rfc3339(iso.as_str().unwrap()).unwrap();
    at.timestamp_micros() as f64 / 1e6
}

fn now() -> f64 {
    chrono::Utc::now().timestamp_micros() as f64 / 1e6
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retry_records_the_eta_its_countdown_ends_at() {
    let app = TestMonitor::start().await;
    app.start_recorder().await;
    let task_id = app.send(product(1, "Phone")).await.id().to_string();
    app.wait_task(&task_id, "the task noticed in the queue", |t| t["state"] == "PENDING").await;
    let settings = worker_settings(
        &app.redis.url(),
        "0.1",
        &[("NOTIFY_FAIL_FIRST_ATTEMPTS", "1"), ("TASK_RETRY_COUNTDOWN_SECS", "2")],
    );
    let (stop, worker) = start_worker(settings, "eta@test");

    // During the countdown: received again at once, with an eta about 2 s after the retry.
    let waiting = app
        .wait_task(&task_id, "the retried message received, with its eta", |t| {
            t["state"] == "RECEIVED" && !t["eta"].is_null()
        })
        .await;
    assert_eq!(states(&waiting), ["PENDING", "RECEIVED", "STARTED", "RETRY", "RECEIVED"]);
    let eta = epoch(&waiting["eta"]);
    assert!(eta > now(), "read during the countdown, the eta is ahead: {waiting}");
    let steps = waiting["timeline"].as_array().unwrap();
    let retried_at = epoch(&steps[3]["at"]);
    assert!((eta - retried_at - 2.0).abs() < 0.5, "eta {eta} is the countdown after the retry at {retried_at}");
    assert_eq!(steps[4]["eta"], waiting["eta"], "the RECEIVED step keeps its delivery's eta");
    assert!(steps[1].get("eta").is_none(), "the first delivery had none: {}", steps[1]);

    // The retried attempt starts at the eta, not before.
    // The result can be stored before its task-succeeded event is recorded: wait for both.
    let done = app
        .wait_task(&task_id, "SUCCESS, recorded", |t| t["state"] == "SUCCESS" && states(t).last() == Some(&"SUCCESS"))
        .await;
    let steps = done["timeline"].as_array().unwrap();
    assert_eq!(states(&done), ["PENDING", "RECEIVED", "STARTED", "RETRY", "RECEIVED", "STARTED", "SUCCESS"]);
    assert!(epoch(&steps[5]["at"]) >= eta - 0.01, "started at the eta: {done}");
    assert_eq!(done["eta"], waiting["eta"], "the latest delivery's eta stays readable");

    // The schema documents it.
    let spec = app.get("/openapi.json").await.json;
    let eta_schema = &spec["components"]["schemas"]["TaskView"]["properties"]["eta"];
    assert!(eta_schema["description"].as_str().unwrap().contains("RETRY"), "{eta_schema}");

    stop.cancel();
    worker.await.unwrap();
    app.stop().await;
}

/// A task event as Celery publishes it.
fn event(kind: &str, task_id: &str, worker: &str, at: f64, extra: Value) -> taskq::Event {
    let mut fields = Map::new();
    fields.insert("uuid".into(), json!(task_id));
    fields.insert("type".into(), json!(kind));
    fields.insert("hostname".into(), json!(worker));
    fields.insert("timestamp".into(), json!(at));
    if let Value::Object(extra) = extra {
        fields.extend(extra);
    }
    taskq::Event { kind: taskq::EventKind::parse(kind), hostname: worker.into(), timestamp: at, clock: 1, fields }
}

#[tokio::test]
async fn python_shaped_received_events_carry_the_eta_too() {
    let app = TestMonitor::start().await;
    let mut conn = app.conn.clone();
    let t = 1_795_501_634.340_68;
    // As captured from Celery 5.7 (`eta=req.eta and req.eta.isoformat()`), and kombu's typed form.
    let received = |at: f64, eta: Value| {
        event(
            "task-received",
            "py-1",
            "wlife@vm",
            at,
            json!({"name": "tasks.notifications.send_tg_notification", "args": "(2, 'Phone', 499.9)", "kwargs": "{}", "retries": 1, "eta": eta, "expires": null}),
        )
    };
    monitor::history::apply_event(&mut conn, &received(t, Value::Null), 100).await.unwrap();
    monitor::history::apply_event(&mut conn, &event("task-started", "py-1", "wlife@vm", t + 0.1, json!({})), 100)
        .await
        .unwrap();
    let retried = json!({"exception": "Retry(...)", "traceback": "Traceback ..."});
    monitor::history::apply_event(&mut conn, &event("task-retried", "py-1", "wlife@vm", t + 0.2, retried), 100)
        .await
        .unwrap();
    monitor::history::apply_event(&mut conn, &received(t + 0.3, json!("2026-11-24T06:25:58.186691+00:00")), 100)
        .await
        .unwrap();
    let task = app.get("/tasks/py-1").await.json;
    assert_eq!(states(&task), ["RECEIVED", "STARTED", "RETRY", "RECEIVED"]);
    assert_eq!(task["eta"], "2026-11-24T06:25:58.186691+00:00", "{task}");
    assert_eq!(task["timeline"][3]["eta"], task["eta"]);

    // Another offset, and kombu's `{"__type__": "datetime"}`: the same instant in UTC.
    let typed = json!({"__type__": "datetime", "__value__": "2026-11-24T09:25:59+03:00"});
    monitor::history::apply_event(&mut conn, &received(t + 0.4, typed), 100).await.unwrap();
    assert_eq!(app.get("/tasks/py-1").await.json["eta"], "2026-11-24T06:25:59+00:00");

    // A later delivery without one: the task's eta is that delivery's (none); the steps keep theirs.
    monitor::history::apply_event(&mut conn, &received(t + 0.5, Value::Null), 100).await.unwrap();
    let task = app.get("/tasks/py-1").await.json;
    assert_eq!(task["eta"], Value::Null);
    assert_eq!(task["timeline"][3]["eta"], "2026-11-24T06:25:58.186691+00:00");
    assert!(task["timeline"][5].get("eta").is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_python_workers_received_event_records_the_eta() {
    let app = TestMonitor::start().await;
    app.start_recorder().await;
    let _python = app.python_worker("py-eta@%h");
    let options = taskq::SendOptions { countdown: Some(Duration::from_secs(1)), ..Default::default() };
    let message = taskq::TaskMessage::new(
        "tasks.notifications.send_tg_notification",
        vec![json!({"id": 5, "name": "Phone", "price": 1.0})],
        Map::new(),
        &options,
    );
    let sent_eta = message.envelope.headers.eta.clone().unwrap();
    taskq::Producer::new(app.broker.clone()).publish(&message).await.unwrap();
    let task = app
        .wait_task(message.id(), "the Python worker's SUCCESS recorded", |t| {
            t["state"] == "SUCCESS" && states(t).contains(&"SUCCESS")
        })
        .await;
    assert!(task["worker"].as_str().unwrap().starts_with("py-eta@"), "{task}");
    let received = task["timeline"].as_array().unwrap().iter().find(|s| s["state"] == "RECEIVED").unwrap();
    assert!(
        (epoch(&received["eta"]) - epoch(&json!(sent_eta))).abs() < 1e-5,
        "the Python worker reported the message's eta {sent_eta}: {task}"
    );
    assert_eq!(task["eta"], received["eta"]);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redelivered_task_moves_from_started_back_to_received() {
    let app = TestMonitor::start().await;
    app.start_recorder().await;
    // The first worker runs a long send and is stopped mid-way: after its shutdown deadline it
    // cuts the task short and puts its message back, as the supervisor does for a dead worker.
    let task_id = app.send(product(1, "Phone")).await.id().to_string();
    app.wait_task(&task_id, "the task noticed in the queue", |t| t["state"] == "PENDING").await;
    let (stop, first) = start_worker(worker_settings(&app.redis.url(), "60", &[]), "first@test");
    app.wait_task(&task_id, "STARTED on the first worker", |t| t["state"] == "STARTED").await;
    stop.cancel();
    tokio::time::timeout(Duration::from_secs(20), first).await.expect("the first worker stops").unwrap();

    let (stop, second) = start_worker(worker_settings(&app.redis.url(), "0.1", &[]), "second@test");
    let done = app
        .wait_task(&task_id, "SUCCESS on the second worker", |t| {
            t["state"] == "SUCCESS" && states(t).contains(&"SUCCESS")
        })
        .await;
    let steps: Vec<(&str, &str)> = done["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["state"].as_str().unwrap(), s["worker"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(
        steps,
        [
            ("PENDING", ""),
            ("RECEIVED", "first@test"),
            ("STARTED", "first@test"),
            ("RECEIVED", "second@test"),
            ("STARTED", "second@test"),
            ("SUCCESS", "second@test"),
        ],
        "{done}"
    );
    stop.cancel();
    second.await.unwrap();
    app.stop().await;
}

#[tokio::test]
async fn redelivery_wins_over_started_and_a_stale_event_does_not() {
    let app = TestMonitor::start().await;
    let conn = app.conn.clone();
    let t = 1_795_501_634.340_68;
    let apply = |event: taskq::Event| {
        let mut conn = conn.clone();
        async move { monitor::history::apply_event(&mut conn, &event, 100).await.unwrap() }
    };
    apply(event("task-received", "r-1", "a@h", t, json!({"eta": null}))).await;
    apply(event("task-started", "r-1", "a@h", t + 1.0, json!({}))).await;
    // Worker a died; b received the message again.
    apply(event("task-received", "r-1", "b@h", t + 3.0, json!({"eta": null}))).await;
    let task = app.get("/tasks/r-1").await.json;
    assert_eq!(task["state"], "RECEIVED", "the newer delivery wins: {task}");
    assert_eq!(task["worker"], "b@h");
    // A late copy of a's STARTED (older than the redelivery) fills nothing in and moves nothing.
    apply(event("task-started", "r-1", "a@h", t + 1.0, json!({}))).await;
    let task = app.get("/tasks/r-1").await.json;
    assert_eq!(task["state"], "RECEIVED");
    assert_eq!(states(&task), ["RECEIVED", "STARTED", "RECEIVED"]);
    // A late event from before the redelivery takes its place in the timeline, not the state.
    apply(event("task-received", "r-1", "a@h", t + 0.5, json!({"eta": null}))).await;
    assert_eq!(app.get("/tasks/r-1").await.json["state"], "RECEIVED");
    apply(event("task-started", "r-1", "b@h", t + 3.1, json!({}))).await;
    let task = app.get("/tasks/r-1").await.json;
    assert_eq!(task["state"], "STARTED");
    assert_eq!(states(&task), ["RECEIVED", "RECEIVED", "STARTED", "RECEIVED", "STARTED"]);
}
