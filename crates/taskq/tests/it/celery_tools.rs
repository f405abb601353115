//! Our worker among the real Celery tools: Flower lists it and its tasks, and it shares a queue with
//! a Python Celery worker without running anything twice or losing anything.

use std::collections::HashMap;
use std::process::Command;
use std::time::Duration;

use serde_json::{Map, Value, json};
use taskq::{EventKind, EventReceiver, Producer, SendOptions, TaskMessage};
use test_support::python::{ChildProcess, Venv};
use test_support::redis::{RedisServer, free_port};

use crate::common::{self, RunningWorker};

fn python_worker(url: &str, name: &str) -> ChildProcess {
    test_support::python::celery_worker(&common::python_dir(), "interop_app", url, name, &[])
}

#[tokio::test(flavor = "multi_thread")]
async fn flower_lists_our_worker_and_its_tasks() {
    let server = RedisServer::start();
    let config = common::config("flower");
    let host = config.hostname.clone();
    let worker = RunningWorker::start(&server.url(), common::registry(), config).await;
    let port = free_port();
    let _flower = ChildProcess::spawn(
        "flower",
        Command::new(Venv::get().bin("celery"))
            .args(["-A", "interop_app", "flower", &format!("--port={port}"), "--address=127.0.0.1"])
            .env("REDIS_URL", server.url())
            .env("FLOWER_UNAUTHENTICATED_API", "1")
            .current_dir(common::python_dir()),
    );
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let workers = test_support::wait::until("Flower to list our worker", Duration::from_secs(60), || {
        let request = http.get(format!("{base}/api/workers?refresh=1")).send();
        let host = host.clone();
        async move {
            let workers: Value = request.await.ok()?.json().await.ok()?;
            workers.get(&host).is_some().then_some(workers)
        }
    })
    .await;
    let ours = &workers[&host];
    assert_eq!(ours["stats"]["pool"]["max-concurrency"], 1, "{ours}");
    assert!(ours["registered"].as_array().unwrap().iter().any(|t| t == "interop.add"), "{ours}");
    assert_eq!(ours["active_queues"][0]["name"], "celery");

    let producer = Producer::new(common::broker(&server.url()).await);
    let message = TaskMessage::new("interop.add", vec![json!(20), json!(22)], Map::new(), &SendOptions::default());
    producer.publish(&message).await.unwrap();
    let task = test_support::wait::until("Flower to show the task as SUCCESS", Duration::from_secs(60), || {
        let request = http.get(format!("{base}/api/tasks")).send();
        let id = message.id().to_string();
        async move {
            let tasks: Value = request.await.ok()?.json().await.ok()?;
            tasks.get(&id).filter(|t| t["state"] == "SUCCESS").cloned()
        }
    })
    .await;
    assert_eq!(task["worker"], host.as_str());
    assert_eq!(task["name"], "interop.add");
    assert_eq!(task["result"], "42.0");
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mixed_pool_shares_work_without_running_anything_twice() {
    let server = RedisServer::start();
    let broker = common::broker(&server.url()).await;
    let mut events = EventReceiver::connect(&broker).await.unwrap();
    let _python = python_worker(&server.url(), "py-mixed@%h");
    let config = common::config("mixed");
    let ours = config.hostname.clone();
    let worker = RunningWorker::start(&server.url(), common::registry(), config).await;
    // Both announce themselves before any task is sent.
    let mut online = Vec::new();
    tokio::time::timeout(Duration::from_secs(60), async {
        while online.len() < 2 {
            let event = events.next().await.unwrap();
            if event.kind == EventKind::WorkerOnline && !online.contains(&event.hostname) {
                online.push(event.hostname);
            }
        }
    })
    .await
    .expect("both workers online");

    let producer = Producer::new(broker);
    let ids: Vec<String> = {
        let messages: Vec<TaskMessage> = (0..40)
            .map(|_| TaskMessage::new("interop.sleep", vec![json!(0.05)], Map::new(), &SendOptions::default()))
            .collect();
        producer.publish_many(&messages).await.unwrap();
        messages.iter().map(|m| m.id().to_string()).collect()
    };
    let mut succeeded: HashMap<String, Vec<String>> = HashMap::new();
    tokio::time::timeout(Duration::from_secs(90), async {
        while succeeded.len() < ids.len() {
            let event = events.next().await.unwrap();
            if event.kind == EventKind::TaskSucceeded {
                succeeded.entry(event.uuid().unwrap().to_string()).or_default().push(event.hostname.clone());
            }
        }
    })
    .await
    .expect("every task succeeded");
    // Late duplicates would arrive within a moment; drain what is already there.
    while let Ok(Some(event)) = tokio::time::timeout(Duration::from_millis(500), events.next()).await {
        if event.kind == EventKind::TaskSucceeded {
            succeeded.entry(event.uuid().unwrap().to_string()).or_default().push(event.hostname.clone());
        }
    }
    for id in &ids {
        assert_eq!(succeeded.get(id).map(Vec::len), Some(1), "task {id} ran {:?}", succeeded.get(id));
    }
    let by_worker: HashMap<&str, usize> = succeeded.values().flatten().fold(HashMap::new(), |mut counts, host| {
        *counts.entry(host.as_str()).or_default() += 1;
        counts
    });
    assert!(by_worker.get(ours.as_str()).copied().unwrap_or(0) > 0, "ours ran none: {by_worker:?}");
    assert!(by_worker.keys().any(|h| h.starts_with("py-mixed@")), "Python ran none: {by_worker:?}");
    let conn = common::redis(&server.url()).await;
    for id in &ids {
        let meta = common::stored_result(&mut conn.clone(), id).await.unwrap();
        assert_eq!(meta["status"], "SUCCESS");
        assert_eq!(meta["result"], json!({"slept": 0.05}));
    }
    worker.stop().await;
}
