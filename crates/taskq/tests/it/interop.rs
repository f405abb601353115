//! Live round trips with real Python Celery 5.7 (installed into the test venv by test-support).

use std::process::Command;
use std::time::Duration;

use redis::AsyncCommands;
use serde_json::{Map, Value, json};
use taskq::{BrokerOptions, Producer, Restored, SendOptions, TaskMessage};
use test_support::python::{ChildProcess, Venv, run_ok};
use test_support::redis::RedisServer;

use crate::common::{self, RunningWorker};

/// The Python client script with `args`, against `url`.
fn client(url: &str, args: &[&str]) -> Command {
    let mut command = Venv::get().python(&common::python_dir().join("interop_client.py"));
    command.args(args).env("REDIS_URL", url).current_dir(common::python_dir());
    command
}

fn last_json_line(output: &[u8]) -> Value {
    let text = String::from_utf8_lossy(output);
    let line = text.lines().rev().find(|l| l.starts_with('{')).unwrap_or_else(|| panic!("no JSON in {text}"));
    serde_json::from_str(line).unwrap()
}

/// (a) Python `send_task` → our worker → Python `AsyncResult.get()` returns our result.
#[tokio::test(flavor = "multi_thread")]
async fn python_client_gets_our_workers_result() {
    let server = RedisServer::start();
    let worker = RunningWorker::start(&server.url(), common::registry(), common::config("a")).await;
    let url = server.url();
    let output = tokio::task::spawn_blocking(move || {
        run_ok(&mut client(&url, &["send_and_get", "interop.add", "[2, 3.5]", "30"]))
    })
    .await
    .unwrap();
    let answer = last_json_line(&output.stdout);
    assert_eq!(answer["result"], json!(5.5));
    assert_eq!(answer["state"], "SUCCESS");
    worker.stop().await;
}

/// (b) Our producer → a Python `celery worker --pool=solo` runs the same-named task → we read SUCCESS.
#[tokio::test(flavor = "multi_thread")]
async fn python_worker_runs_our_message() {
    let server = RedisServer::start();
    let mut python_worker = test_support::python::celery_worker(
        &common::python_dir(),
        "interop_app",
        &server.url(),
        "py-b@%h",
        &["--without-mingle", "--without-gossip"],
    );
    let broker = common::broker(&server.url()).await;
    let conn = common::redis(&server.url()).await;
    let message = TaskMessage::new("interop.echo", vec![json!("привет")], Map::new(), &SendOptions::default());
    Producer::new(broker.clone()).publish(&message).await.unwrap();
    let meta = common::wait_for_status(&conn, message.id(), "SUCCESS", Duration::from_secs(60)).await;
    assert_eq!(meta["result"], json!({"echo": "привет", "by": "python"}));
    let typed = taskq::ResultBackend::new(broker, None).get(message.id()).await.unwrap().unwrap();
    assert_eq!(typed.status, taskq::TaskState::Success);
    assert!(typed.worker().unwrap().starts_with("py-b@"));
    python_worker.wait_for_output("interop.echo", Duration::from_secs(5)).await;
}

/// (c) A Python `EventReceiver` sees our worker's `worker-online` and `task-succeeded`.
#[tokio::test(flavor = "multi_thread")]
async fn python_event_receiver_sees_our_worker() {
    let server = RedisServer::start();
    let mut receiver = ChildProcess::spawn(
        "event-receiver",
        &mut client(&server.url(), &["events", "worker-online,task-succeeded", "60"]),
    );
    let conn = common::redis(&server.url()).await;
    // Ready when Celery's receiver holds its pattern subscription on the event fanout.
    test_support::wait::until(
        "the Python receiver to subscribe",
        Duration::from_secs(30),
        || {
            let mut conn = conn.clone();
            async move {
                (redis::cmd("PUBSUB")
                    .arg("NUMPAT")
                    .query_async::<i64>(&mut conn)
                    .await
                    .unwrap()
                    > 0)
                .then_some(())
            }
        },
    )
    .await;
    let config = common::config("c");
    let hostname = config.hostname.clone();
    let worker = RunningWorker::start(&server.url(), common::registry(), config).await;
    let message = TaskMessage::new("interop.add", vec![json!(1), json!(1)], Map::new(), &SendOptions::default());
    Producer::new(common::broker(&server.url()).await).publish(&message).await.unwrap();
    let (status, output) = receiver.wait_exit(Duration::from_secs(60)).await;
    assert!(status.success(), "receiver did not see both events:\n{output}");
    let events = last_json_line(output.as_bytes())["events"].as_array().unwrap().clone();
    let online = events.iter().find(|e| e["type"] == "worker-online").unwrap();
    assert_eq!(online["hostname"], hostname.as_str());
    assert_eq!(online["sw_ident"], "stackdesk");
    assert_eq!(online["freq"], 2.0);
    let succeeded = events.iter().find(|e| e["type"] == "task-succeeded").unwrap();
    assert_eq!(succeeded["uuid"], message.id());
    assert_eq!(succeeded["result"], "2.0");
    assert!(succeeded["runtime"].as_f64().unwrap() >= 0.0);
    worker.stop().await;
}

/// (d) A task failing twice then succeeding shows RETRY then SUCCESS with `retries == 2`, read from Python.
#[tokio::test(flavor = "multi_thread")]
async fn python_sees_retry_then_success() {
    let server = RedisServer::start();
    let worker = RunningWorker::start(&server.url(), common::registry(), common::config("d")).await;
    let url = server.url();
    let output =
        tokio::task::spawn_blocking(move || run_ok(&mut client(&url, &["watch_states", "interop.flaky", "[]", "60"])))
            .await
            .unwrap();
    let answer = last_json_line(&output.stdout);
    let states: Vec<&str> = answer["states"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    assert_eq!(
        states,
        ["STARTED", "RETRY", "STARTED", "RETRY", "STARTED", "SUCCESS"],
        "every state Python was told of"
    );
    let meta = &answer["meta"];
    assert_eq!(meta["status"], "SUCCESS");
    assert_eq!(meta["retries"], 2);
    assert_eq!(meta["result"], json!({"attempts": 3}));
    assert_eq!(meta["parent_id"], answer["id"], "retried messages carry parent_id = self, as Celery's");
    worker.stop().await;
}

/// The worker process the kill -9 test starts: this test binary re-run with only this test.
#[tokio::test]
#[ignore = "run as a child process by kill_9_loses_nothing"]
async fn child_worker_process() {
    let Ok(url) = std::env::var("TASKQ_CHILD_URL") else {
        return;
    };
    let visibility = Duration::from_millis(std::env::var("TASKQ_CHILD_VISIBILITY_MS").unwrap().parse().unwrap());
    let options = BrokerOptions { visibility_timeout: visibility, ..BrokerOptions::default() };
    let broker = taskq::Broker::connect(&url, options).await.unwrap();
    let config = taskq::WorkerConfig {
        hostname: std::env::var("TASKQ_CHILD_NAME").unwrap(),
        restore_interval: Duration::from_millis(200),
        ..common::config("child")
    };
    let shutdown = tokio_util::sync::CancellationToken::new();
    taskq::Worker::new(broker, common::registry(), config).run(shutdown).await.unwrap();
}

fn child_worker(url: &str, name: &str, visibility_ms: u64) -> ChildProcess {
    ChildProcess::spawn(
        name,
        Command::new(std::env::current_exe().unwrap())
            .args(["interop::child_worker_process", "--exact", "--ignored", "--nocapture", "--test-threads=1"])
            .env("TASKQ_CHILD_URL", url)
            .env("TASKQ_CHILD_NAME", format!("{name}@test"))
            .env("TASKQ_CHILD_VISIBILITY_MS", visibility_ms.to_string()),
    )
}

/// (e) Our worker killed with SIGKILL while holding a message: the next worker restores it
/// (kombu's visibility timeout, here 1 s) and completes it; Python reads the result.
#[tokio::test(flavor = "multi_thread")]
async fn kill_9_loses_nothing() {
    let server = RedisServer::start();
    let conn = common::redis(&server.url()).await;
    let mut first = child_worker(&server.url(), "doomed", 1000);
    let url = server.url();
    let sent = tokio::task::spawn_blocking(move || run_ok(&mut client(&url, &["send", "interop.sleep", "[2]"])))
        .await
        .unwrap();
    let id = last_json_line(&sent.stdout)["id"].as_str().unwrap().to_string();
    let started = common::wait_for_status(&conn, &id, "STARTED", Duration::from_secs(30)).await;
    assert_eq!(started["worker"], "doomed@test");
    first.kill();

    let mut raw = conn.clone();
    let held: Vec<String> = raw.hvals("unacked").await.unwrap();
    assert_eq!(held.len(), 1, "the killed worker's message is still in unacked");
    assert!(held[0].contains(&id));

    let second = child_worker(&server.url(), "heir", 1000);
    let url = server.url();
    let got = tokio::task::spawn_blocking(move || run_ok(&mut client(&url, &["get", &id, "60"]))).await.unwrap();
    assert_eq!(last_json_line(&got.stdout)["result"], json!({"slept": 2.0}));
    assert_eq!(raw.hlen::<_, usize>("unacked").await.unwrap(), 0);
    assert_eq!(raw.llen::<_, usize>("celery").await.unwrap(), 0, "run once, not duplicated");
    drop(second);
}

/// The supervisor's path: after a kill, `restore_all` hands the message on at once, without
/// waiting for any visibility timeout (the next worker uses kombu's default of one hour).
#[tokio::test(flavor = "multi_thread")]
async fn restore_all_hands_a_dead_workers_task_on_at_once() {
    let server = RedisServer::start();
    let conn = common::redis(&server.url()).await;
    let broker = common::broker(&server.url()).await;
    let mut first = child_worker(&server.url(), "crashed", 3_600_000);
    let message = TaskMessage::new("interop.sleep", vec![json!(1)], Map::new(), &SendOptions::default());
    Producer::new(broker.clone()).publish(&message).await.unwrap();
    common::wait_for_status(&conn, message.id(), "STARTED", Duration::from_secs(30)).await;
    first.kill();
    assert_eq!(broker.restore_all().await.unwrap(), Restored::Moved(1));
    let _second = child_worker(&server.url(), "restarted", 3_600_000);
    let done = common::wait_for_status(&conn, message.id(), "SUCCESS", Duration::from_secs(30)).await;
    assert_eq!(done["worker"], "restarted@test");
}
