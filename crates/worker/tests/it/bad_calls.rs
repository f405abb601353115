//! A task message the task cannot take ends as Celery ends it: the same message goes to a real
//! Python Celery worker running the original task and to ours, and the outcomes are compared.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use redis::AsyncCommands as _;
use serde_json::{Map, Value, json};
use taskq::{Broker, BrokerOptions, Producer, SendOptions, TaskMessage};
use test_support::python::{ChildProcess, Venv};
use test_support::redis::RedisServer;
use tokio_util::sync::CancellationToken;

fn product() -> Value {
    json!({"id": 7, "name": "Phone", "price": 499.9, "description": null, "created_at": "2026-11-24T06:24:51.987861+00:00"})
}

fn kwargs(pairs: &[(&str, Value)]) -> Map<String, Value> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

/// Calls whose arguments do not fit `send_tg_notification(self, product)`: Celery calls the task
/// and Python raises `TypeError` before its body runs, so the task fails at once.
fn wrong_calls() -> Vec<(&'static str, Vec<Value>, Map<String, Value>)> {
    vec![
        ("three positional arguments", vec![product(), json!(2), json!(3)], Map::new()),
        ("no argument", vec![], Map::new()),
        ("an unexpected keyword", vec![product()], kwargs(&[("urgent", json!(true))])),
        ("the product twice", vec![product()], kwargs(&[("product", product())])),
        // Python looks at the keywords before it counts the positionals.
        ("too many and the product twice", vec![product(), json!(2), json!(3)], kwargs(&[("product", product())])),
        ("too many and an unexpected keyword", vec![product(), json!(2)], kwargs(&[("urgent", json!(true))])),
        // Not wrong: a keyword argument is a call Python accepts.
        ("the product by keyword", vec![], kwargs(&[("product", product())])),
    ]
}

/// Messages a Celery worker refuses before any call (`InvalidTaskError`: rejected, no result).
fn refused() -> Vec<(&'static str, TaskMessage, &'static str)> {
    let mut bad_eta = TaskMessage::new(worker::TASK_NAME, vec![product()], Map::new(), &SendOptions::default());
    bad_eta.envelope.headers.eta = Some("tomorrow at noon".into());
    let mut bad_expires = TaskMessage::new(worker::TASK_NAME, vec![product()], Map::new(), &SendOptions::default());
    bad_expires.envelope.headers.expires = Some("2026-13-45T99:00:00".into());
    vec![
        ("an unparseable eta", bad_eta, "invalid ETA value 'tomorrow at noon'"),
        ("an unparseable expires", bad_expires, "invalid expires value '2026-13-45T99:00:00'"),
    ]
}

/// What a finished task left: its state, and the exception's type and message when it failed.
async fn outcome(conn: &mut redis::aio::MultiplexedConnection, id: &str) -> (String, Value, Value) {
    let key = format!("celery-task-meta-{id}");
    let raw: String = test_support::wait::until("the task's result", Duration::from_secs(30), || {
        let mut conn = conn.clone();
        let key = key.clone();
        async move {
            let raw: Option<String> = conn.get(&key).await.ok().flatten();
            raw.filter(|r| r.contains("\"SUCCESS\"") || r.contains("\"FAILURE\""))
        }
    })
    .await;
    let meta: Value = serde_json::from_str(&raw).unwrap();
    let status = meta["status"].as_str().unwrap().to_string();
    if status == "FAILURE" {
        (status, meta["result"]["exc_type"].clone(), meta["result"]["exc_message"].clone())
    } else {
        (status, Value::Null, Value::Null)
    }
}

/// Sends every case to the worker on `redis`; returns each wrong call's outcome and leaves the
/// refused ones to be looked at.
async fn send_all(redis: &RedisServer) -> (Vec<(String, Value, Value)>, Vec<String>) {
    let broker = Broker::connect(&redis.url(), BrokerOptions::default()).await.unwrap();
    let producer = Producer::new(broker);
    let mut ids = Vec::new();
    for (_, args, kwargs) in wrong_calls() {
        let message = TaskMessage::new(worker::TASK_NAME, args, kwargs, &SendOptions::default());
        producer.publish(&message).await.unwrap();
        ids.push(message.id().to_string());
    }
    let mut refused_ids = Vec::new();
    for (_, message, _) in refused() {
        producer.publish(&message).await.unwrap();
        refused_ids.push(message.id().to_string());
    }
    let mut conn = redis::Client::open(redis.url()).unwrap().get_multiplexed_async_connection().await.unwrap();
    let mut outcomes = Vec::new();
    for id in &ids {
        outcomes.push(outcome(&mut conn, id).await);
    }
    // A last good task: once it is done, the worker has seen every message before it.
    let last = TaskMessage::new(worker::TASK_NAME, vec![product()], Map::new(), &SendOptions::default());
    producer.publish(&last).await.unwrap();
    assert_eq!(outcome(&mut conn, last.id()).await.0, "SUCCESS");
    (outcomes, refused_ids)
}

async fn nothing_left(redis: &RedisServer, refused_ids: &[String]) {
    let mut conn = redis::Client::open(redis.url()).unwrap().get_multiplexed_async_connection().await.unwrap();
    for id in refused_ids {
        let meta: Option<String> = conn.get(format!("celery-task-meta-{id}")).await.unwrap();
        assert_eq!(meta, None, "a refused message never runs, so it has no result");
    }
    let queued: usize = conn.llen("celery").await.unwrap();
    let held: usize = conn.hlen("unacked").await.unwrap();
    assert_eq!((queued, held), (0, 0), "refused messages are not left in the queue or unacked");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_message_the_task_cannot_take_ends_as_it_ends_on_celery() {
    // Celery with the original task.
    let celery_redis = RedisServer::start();
    let original = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../bench/python/original");
    let mut celery = ChildProcess::spawn(
        "celery-worker",
        Command::new(Venv::get().bin("celery"))
            .args(["-A", "tasks", "worker", "--pool=solo", "-n", "original@%h", "-l", "INFO"])
            .args(["--without-mingle", "--without-gossip"])
            .env("REDIS_URL", celery_redis.url())
            .env("NOTIFY_SIMULATED_SECS", "0")
            .current_dir(&original),
    );
    celery.wait_for_output("ready.", Duration::from_secs(60)).await;
    let (celery_outcomes, celery_refused) = send_all(&celery_redis).await;
    nothing_left(&celery_redis, &celery_refused).await;
    let celery_log = celery.output();
    for (kind, _, says) in refused() {
        assert!(celery_log.contains(says), "Celery refuses {kind} saying {says:?}:\n{celery_log}");
    }
    celery.terminate();

    // Ours, with the same messages.
    let redis = RedisServer::start();
    let env: HashMap<String, String> =
        HashMap::from([("REDIS_URL".into(), redis.url()), ("NOTIFY_SIMULATED_SECS".into(), "0".into())]);
    let settings = config::Settings::from_sources(&config::Sources { env, ..Default::default() }).unwrap();
    let shutdown = CancellationToken::new();
    let running = tokio::spawn({
        let shutdown = shutdown.clone();
        async move { worker::run(&settings, Some("bad-calls@test".into()), shutdown).await }
    });
    let (ours, our_refused) = send_all(&redis).await;
    nothing_left(&redis, &our_refused).await;
    for ((kind, _, _), (celery, ours)) in wrong_calls().iter().zip(celery_outcomes.iter().zip(&ours)) {
        assert_eq!(ours, celery, "{kind}: ours ended as {ours:?}, Celery's as {celery:?}");
    }
    assert_eq!(ours.last().map(|o| o.0.as_str()), Some("SUCCESS"), "a keyword call is fine: {ours:?}");
    assert!(ours[..4].iter().all(|o| o.0 == "FAILURE" && o.1 == "TypeError"), "{ours:?}");
    // Where Celery drops a refused message, ours keeps it in the dead-letter list, with Celery's words.
    let mut conn = redis::Client::open(redis.url()).unwrap().get_multiplexed_async_connection().await.unwrap();
    let dead: Vec<String> = conn.lrange(taskq::DEFAULT_DEAD_LETTER_KEY, 0, -1).await.unwrap();
    for (kind, _, says) in refused() {
        assert!(dead.iter().any(|d| d.contains(says)), "{kind}: no dead letter saying {says:?}: {dead:#?}");
    }
    shutdown.cancel();
    running.await.unwrap().unwrap();
}
