//! The worker runtime against a real redis-server.

use std::time::Duration;

use redis::AsyncCommands;
use serde_json::{Map, Value, json};
use taskq::{Producer, SendOptions, TaskMessage};
use test_support::redis::RedisServer;

use crate::common::{self, RunningWorker};

#[tokio::test]
async fn a_retry_countdown_does_not_block_other_work() {
    let server = RedisServer::start();
    let broker = common::broker(&server.url()).await;
    let conn = common::redis(&server.url()).await;
    let mut registry = common::registry();
    registry.register(
        "interop.slow_retry",
        taskq::TaskOptions { max_retries: Some(1), default_retry_delay: Duration::from_secs(30) },
        |ctx: taskq::TaskContext| async move {
            if ctx.retries == 0 {
                Err(taskq::TaskError::Retry { after: None, error: taskq::ExceptionInfo::runtime_error("later") })
            } else {
                Ok(json!("done"))
            }
        },
    );
    let worker = RunningWorker::start(&server.url(), registry, common::config("eta")).await;
    let producer = Producer::new(broker);
    let slow = TaskMessage::new("interop.slow_retry", vec![], Map::new(), &SendOptions::default());
    producer.publish(&slow).await.unwrap();
    let retry = common::wait_for_status(&conn, slow.id(), "RETRY", Duration::from_secs(20)).await;
    assert_eq!(retry["children"], json!([[[slow.id(), null], null]]));

    // With concurrency 1 and the retry waiting 30 s for its eta, five more tasks still run now.
    let mut ids = Vec::new();
    for n in 0..5 {
        let message = TaskMessage::new("interop.add", vec![json!(n), json!(1)], Map::new(), &SendOptions::default());
        producer.publish(&message).await.unwrap();
        ids.push(message.id().to_string());
    }
    for id in &ids {
        common::wait_for_status(&conn, id, "SUCCESS", Duration::from_secs(20)).await;
    }
    let mut raw = conn.clone();
    let held: Vec<String> = raw.hvals("unacked").await.unwrap();
    assert_eq!(held.len(), 1);
    let waiting: Value = serde_json::from_str(&held[0]).unwrap();
    assert_eq!(waiting[0]["headers"]["id"], slow.id(), "the retry waits in unacked, safe if the worker dies");
    assert_eq!(waiting[0]["headers"]["retries"], 1);
    assert_eq!(waiting[0]["headers"]["parent_id"], slow.id());

    let summary = worker.stop().await;
    assert_eq!(summary.restored, 1, "the waiting retry goes back to the queue at shutdown");
    let queued: Vec<String> = raw.lrange("celery", 0, -1).await.unwrap();
    assert_eq!(queued.len(), 1);
    assert!(queued[0].contains("\"redelivered\": true"));
}

#[tokio::test]
async fn shutdown_puts_back_running_and_prefetched_messages() {
    let server = RedisServer::start();
    let broker = common::broker(&server.url()).await;
    let conn = common::redis(&server.url()).await;
    let config = taskq::WorkerConfig { shutdown_timeout: Duration::from_millis(300), ..common::config("drain") };
    let worker = RunningWorker::start(&server.url(), common::registry(), config).await;
    let producer = Producer::new(broker);
    let messages: Vec<TaskMessage> = (0..3)
        .map(|_| TaskMessage::new("interop.sleep", vec![json!(60)], Map::new(), &SendOptions::default()))
        .collect();
    for message in &messages {
        producer.publish(message).await.unwrap();
    }
    common::wait_for_status(&conn, messages[0].id(), "STARTED", Duration::from_secs(20)).await;
    test_support::wait::until("all three to be held by the worker", Duration::from_secs(20), || {
        let mut conn = conn.clone();
        async move { (conn.hlen::<_, usize>("unacked").await.unwrap() == 3).then_some(()) }
    })
    .await;

    let summary = worker.stop().await;
    assert_eq!(summary.restored, 3);
    let mut raw = conn.clone();
    assert_eq!(raw.hlen::<_, usize>("unacked").await.unwrap(), 0);
    let queued: Vec<String> = raw.lrange("celery", 0, -1).await.unwrap();
    let mut ids: Vec<String> = queued.iter().map(|q| TaskMessage::decode(q).unwrap().id().to_string()).collect();
    let mut expected: Vec<String> = messages.iter().map(|m| m.id().to_string()).collect();
    ids.sort();
    expected.sort();
    assert_eq!(ids, expected, "nothing lost, nothing duplicated");
}

#[tokio::test]
async fn a_worker_stopped_while_it_mingles_stops_at_once() {
    let server = RedisServer::start();
    let conn = common::redis(&server.url()).await;
    let worker = RunningWorker::start(&server.url(), common::registry(), common::config("mingle")).await;
    // Its `hello` broadcast binds a reply queue, then waits a second for other workers' replies.
    test_support::wait::until("the worker to ask the others hello", Duration::from_secs(20), || {
        let mut conn = conn.clone();
        let binding = format!("_kombu.binding.{}", taskq::control::REPLY_EXCHANGE);
        async move { conn.exists::<_, bool>(binding).await.unwrap().then_some(()) }
    })
    .await;
    let asked = std::time::Instant::now();
    worker.stop().await;
    let took = asked.elapsed();
    // Waiting out the window would take most of its second; a loaded machine's stop takes less.
    assert!(took < Duration::from_millis(800), "stopping waited out the mingle window: {took:?}");
}

#[tokio::test]
async fn failures_are_stored_once_without_retry() {
    let server = RedisServer::start();
    let broker = common::broker(&server.url()).await;
    let conn = common::redis(&server.url()).await;
    let worker = RunningWorker::start(&server.url(), common::registry(), common::config("fail")).await;
    let message = TaskMessage::new("interop.fail", vec![], Map::new(), &SendOptions::default());
    Producer::new(broker).publish(&message).await.unwrap();
    let failure = common::wait_for_status(&conn, message.id(), "FAILURE", Duration::from_secs(20)).await;
    assert_eq!(
        failure["result"],
        json!({"exc_type": "RuntimeError", "exc_message": ["Telegram API error: Unauthorized"], "exc_module": "builtins"})
    );
    assert_eq!(failure["retries"], 0);
    assert!(failure["traceback"].as_str().unwrap().contains("RuntimeError: Telegram API error: Unauthorized"));
    let mut raw = conn.clone();
    let ttl: i64 = raw.ttl(taskq::result_key(message.id())).await.unwrap();
    assert!((86_000..=86_400).contains(&ttl), "result_expires TTL, got {ttl}");
    worker.stop().await;
    assert_eq!(raw.llen::<_, usize>("celery").await.unwrap(), 0, "no retry was published");
    assert_eq!(raw.hlen::<_, usize>("unacked").await.unwrap(), 0);
}

#[tokio::test]
async fn retries_run_out_into_failure() {
    let server = RedisServer::start();
    let broker = common::broker(&server.url()).await;
    let conn = common::redis(&server.url()).await;
    let worker = RunningWorker::start(&server.url(), common::registry(), common::config("exhaust")).await;
    let message = TaskMessage::new("interop.always_retry", vec![], Map::new(), &SendOptions::default());
    Producer::new(broker).publish(&message).await.unwrap();
    let failure = common::wait_for_status(&conn, message.id(), "FAILURE", Duration::from_secs(30)).await;
    assert_eq!(failure["retries"], 3, "max_retries=3: attempts 0..=3, then FAILURE");
    assert_eq!(failure["parent_id"], message.id());
    assert_eq!(failure["result"]["exc_message"], json!(["still broken"]));
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_result_write_refused_while_redis_loads_its_data_is_written_once_it_has() {
    let mut server = RedisServer::start_with(&["--enable-debug-command", "yes"]);
    // Enough data that loading it back takes a second or two, saved at shutdown: meanwhile Redis
    // answers every command with LOADING (as it does after a crash, reading its AOF).
    server.raw_command(&["DEBUG", "POPULATE", "3000000", "filler", "64"]);
    server.raw_command(&["CONFIG", "SET", "save", "3600 1"]);
    let worker = RunningWorker::start(&server.url(), common::registry(), common::config("loading")).await;
    let producer = Producer::new(common::broker(&server.url()).await);
    let message = TaskMessage::new("interop.sleep", vec![json!(0.5)], Map::new(), &SendOptions::default());
    producer.publish(&message).await.unwrap();
    let conn = common::redis(&server.url()).await;
    common::wait_for_status(&conn, message.id(), "STARTED", Duration::from_secs(20)).await;
    // Restarted while the task runs, with its message saved in `unacked`: its SUCCESS and
    // acknowledgement meet a Redis that is down, then one that is loading.
    server.restart();
    let log = server.log();
    assert!(log.contains("DB loaded from disk"), "Redis loaded its data back:\n{log}");
    // Written by the same worker once Redis can take it: not left in `unacked` for the
    // visibility timeout (an hour), nor run again.
    let conn = common::redis(&server.url()).await;
    let stored = common::wait_for_status(&conn, message.id(), "SUCCESS", Duration::from_secs(15)).await;
    assert_eq!(stored["result"], json!({"slept": 0.5}));
    let mut raw = conn.clone();
    let held: usize = raw.hlen("unacked").await.unwrap();
    assert_eq!(held, 0, "its message is acknowledged");
    let summary = worker.stop().await;
    assert_eq!(summary.restored, 0, "nothing was left to put back at shutdown: {summary:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redis_pause_longer_than_the_clients_timeout_leaves_no_message_behind() {
    let server = RedisServer::start();
    let broker = common::broker(&server.url()).await;
    let conn = common::redis(&server.url()).await;
    let worker = RunningWorker::start(&server.url(), common::registry(), common::config("pause")).await;
    let producer = Producer::new(broker);
    let mut ids = Vec::new();
    for _ in 0..150 {
        let message = TaskMessage::new("interop.sleep", vec![json!(0.02)], Map::new(), &SendOptions::default());
        producer.publish(&message).await.unwrap();
        ids.push(message.id().to_string());
    }
    common::wait_for_status(&conn, &ids[0], "SUCCESS", Duration::from_secs(20)).await;
    // Frozen for longer than a receive may wait (the poll interval + the response timeout): the
    // worker gives up on the receive it sent, and Redis runs that receive when it resumes.
    server.pause();
    tokio::time::sleep(Duration::from_secs(7)).await;
    server.resume();
    for id in &ids {
        common::wait_for_status(&conn, id, "SUCCESS", Duration::from_secs(60)).await;
    }
    let mut raw = conn.clone();
    let held: usize = raw.hlen("unacked").await.unwrap();
    assert_eq!(held, 0, "nothing sits in unacked waiting for the visibility timeout");
    worker.stop().await;
}
