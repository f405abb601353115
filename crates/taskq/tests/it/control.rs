//! Remote control: the real `celery inspect` / `celery control` (Python, in the test venv) against
//! our worker, and our broadcast client.

use std::process::Command;
use std::time::Duration;

use serde_json::{Map, Value, json};
use taskq::control::ControlClient;
use taskq::{Producer, SendOptions, TaskMessage};
use test_support::python::{Venv, run_ok};
use test_support::redis::RedisServer;

use crate::common::{self, RunningWorker};

/// `celery -A interop_app <args> --json -t 5 -d <hostname>`; returns the parsed JSON answer.
fn celery(url: &str, hostname: &str, args: &[&str]) -> Value {
    let output = run_ok(
        Command::new(Venv::get().bin("celery"))
            .args(["-A", "interop_app"])
            .args(args)
            .args(["--json", "-t", "5", "-d", hostname])
            .env("REDIS_URL", url)
            .current_dir(common::python_dir()),
    );
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with(['{', '[']))
        .unwrap_or_else(|| panic!("no JSON from celery {args:?}: {text}"));
    serde_json::from_str(line).unwrap()
}

async fn celery_async(url: &str, hostname: &str, args: &[&str]) -> Value {
    let (url, hostname) = (url.to_string(), hostname.to_string());
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || celery(&url, &hostname, &args.iter().map(String::as_str).collect::<Vec<_>>()))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn celery_inspect_sees_our_worker() {
    let server = RedisServer::start();
    let config = common::config("inspect");
    let host = config.hostname.clone();
    let worker = RunningWorker::start(&server.url(), common::registry(), config).await;
    let url = server.url();

    let ping = celery_async(&url, &host, &["inspect", "ping"]).await;
    assert_eq!(ping, json!({ host.clone(): {"ok": "pong"} }));

    let stats = celery_async(&url, &host, &["inspect", "stats"]).await;
    let stats = &stats[&host];
    assert_eq!(stats["pool"]["max-concurrency"], 1);
    assert_eq!(stats["prefetch_count"], 4);
    assert_eq!(stats["broker"]["transport"], "redis");
    assert_eq!(stats["pid"], std::process::id());

    let registered = celery_async(&url, &host, &["inspect", "registered"]).await;
    let names: Vec<&str> = registered[&host].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect();
    assert!(names.contains(&"interop.add") && names.contains(&"interop.sleep"), "{names:?}");

    let queues = celery_async(&url, &host, &["inspect", "active_queues"]).await;
    assert_eq!(queues[&host][0]["name"], "celery");
    assert_eq!(queues[&host][0]["routing_key"], "celery");
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn celery_control_revoke_stops_a_waiting_and_a_running_task() {
    let server = RedisServer::start();
    let conn = common::redis(&server.url()).await;
    let config = common::config("revoke");
    let host = config.hostname.clone();
    let worker = RunningWorker::start(&server.url(), common::registry(), config).await;
    let producer = Producer::new(common::broker(&server.url()).await);

    // Waiting for its eta: revoked, it is woken and settled at once.
    let later = TaskMessage::new(
        "interop.add",
        vec![json!(1)],
        Map::new(),
        &SendOptions { countdown: Some(Duration::from_secs(600)), ..SendOptions::default() },
    );
    producer.publish(&later).await.unwrap();
    let client = ControlClient::new(common::broker(&server.url()).await);
    test_support::wait::until("the task to be scheduled", Duration::from_secs(20), || {
        let client = client.clone();
        let host = host.clone();
        async move {
            let replies = client
                .broadcast("scheduled", Map::new(), Some(vec![host]), Duration::from_secs(2), Some(1))
                .await
                .unwrap();
            replies.first().and_then(|(_, r)| r.as_array()).filter(|a| !a.is_empty()).map(|_| ())
        }
    })
    .await;
    // `celery control --json` prints a list of {host: reply}.
    let answer = celery_async(&server.url(), &host, &["control", "revoke", later.id()]).await;
    assert_eq!(answer, json!([{ host.clone(): {"ok": format!("tasks {{'{}'}} flagged as revoked", later.id())} }]));
    let revoked = common::wait_for_status(&conn, later.id(), "REVOKED", Duration::from_secs(20)).await;
    assert_eq!(
        revoked["result"],
        json!({"exc_type": "TaskRevokedError", "exc_message": ["revoked"], "exc_module": "celery.exceptions"})
    );

    // Running: terminate cancels it cooperatively; it ends REVOKED, not FAILURE.
    let running = TaskMessage::new("interop.sleep", vec![json!(600)], Map::new(), &SendOptions::default());
    producer.publish(&running).await.unwrap();
    common::wait_for_status(&conn, running.id(), "STARTED", Duration::from_secs(20)).await;
    let active = client
        .broadcast("active", Map::new(), Some(vec![host.clone()]), Duration::from_secs(2), Some(1))
        .await
        .unwrap();
    assert_eq!(active[0].1[0]["id"], running.id(), "inspect active shows the running task");
    let answer = celery_async(&server.url(), &host, &["control", "terminate", "SIGTERM", running.id()]).await;
    assert_eq!(answer[0][&host]["ok"], format!("terminate: {}", running.id()), "{answer}");
    let terminated = common::wait_for_status(&conn, running.id(), "REVOKED", Duration::from_secs(20)).await;
    assert_eq!(terminated["result"]["exc_message"], json!(["terminated"]));

    // Revoked before it arrives: skipped when its message comes.
    let ghost = TaskMessage::new("interop.add", vec![json!(2)], Map::new(), &SendOptions::default());
    celery_async(&server.url(), &host, &["control", "revoke", ghost.id()]).await;
    producer.publish(&ghost).await.unwrap();
    common::wait_for_status(&conn, ghost.id(), "REVOKED", Duration::from_secs(20)).await;
    let listed = client
        .broadcast("revoked", Map::new(), Some(vec![host.clone()]), Duration::from_secs(2), Some(1))
        .await
        .unwrap();
    let ids: Vec<&str> = listed[0].1.as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert!(ids.contains(&ghost.id()) && ids.contains(&later.id()), "{ids:?}");
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_commands_get_celerys_error_and_shutdown_stops_the_worker() {
    let server = RedisServer::start();
    let config = common::config("unknown");
    let host = config.hostname.clone();
    let worker = RunningWorker::start(&server.url(), common::registry(), config).await;
    let client = ControlClient::new(common::broker(&server.url()).await);
    test_support::wait::until("the worker to answer ping", Duration::from_secs(20), || {
        let client = client.clone();
        async move {
            client
                .broadcast("ping", Map::new(), None, Duration::from_millis(500), Some(1))
                .await
                .ok()
                .filter(|r| !r.is_empty())
        }
    })
    .await;
    let replies = client
        .broadcast("frobnicate", Map::new(), Some(vec![host.clone()]), Duration::from_secs(2), Some(1))
        .await
        .unwrap();
    assert_eq!(replies, [(host.clone(), json!({"error": "KeyError('frobnicate')"}))]);
    let events_off =
        client.broadcast("disable_events", Map::new(), None, Duration::from_secs(2), Some(1)).await.unwrap();
    assert_eq!(events_off[0].1, json!({"ok": "task events disabled"}));
    let events_on = client.broadcast("enable_events", Map::new(), None, Duration::from_secs(2), Some(1)).await.unwrap();
    assert_eq!(events_on[0].1, json!({"ok": "task events enabled"}));
    let other = client
        .broadcast("ping", Map::new(), Some(vec!["someone-else@host".into()]), Duration::from_millis(300), None)
        .await
        .unwrap();
    assert!(other.is_empty(), "a command for another worker is not answered: {other:?}");
    client.broadcast("shutdown", Map::new(), Some(vec![host]), Duration::from_millis(100), None).await.unwrap();
    let summary = worker.stop().await;
    assert_eq!(summary.processed, 0);
}
