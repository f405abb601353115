//! Malformed messages never stop the worker: each lands in the dead-letter list with its reason.

use std::time::Duration;

use base64::Engine as _;
use redis::AsyncCommands;
use serde_json::{Map, Value, json};
use taskq::{DEFAULT_DEAD_LETTER_KEY, Producer, SendOptions, TaskMessage};
use test_support::redis::RedisServer;

use crate::common::{self, RunningWorker};

fn envelope_with(mutate: impl FnOnce(&mut Value)) -> String {
    let message = TaskMessage::new("interop.add", vec![json!(1)], Map::new(), &SendOptions::default());
    let mut value: Value = serde_json::from_str(&message.to_json().unwrap()).unwrap();
    mutate(&mut value);
    value.to_string()
}

#[tokio::test]
async fn each_malformed_kind_is_dead_lettered_and_the_worker_keeps_serving() {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let unregistered = TaskMessage::new("no.such.task", vec![], Map::new(), &SendOptions::default());
    let table: Vec<(&str, String, &str)> = vec![
        ("not JSON", "{not json".into(), "payload is not JSON"),
        ("JSON but not an envelope", "[1, 2, 3]".into(), "no properties.delivery_tag"),
        (
            "no delivery tag",
            envelope_with(|v| v["properties"].as_object_mut().unwrap().retain(|k, _| k != "delivery_tag")),
            "no properties.delivery_tag",
        ),
        (
            "pickle content type",
            envelope_with(|v| v["content-type"] = json!("application/x-python-serialize")),
            "unsupported content type",
        ),
        ("body not base64", envelope_with(|v| v["body"] = json!("%%%")), "the body is not base64"),
        ("empty task id", envelope_with(|v| v["headers"]["id"] = json!("")), "headers.id is empty"),
        (
            "unparseable eta (Celery: InvalidTaskError)",
            envelope_with(|v| v["headers"]["eta"] = json!("soon")),
            "invalid ETA value 'soon'",
        ),
        (
            "unparseable expires (Celery: InvalidTaskError)",
            envelope_with(|v| v["headers"]["expires"] = json!("never")),
            "invalid expires value 'never'",
        ),
        ("eta of the wrong type", envelope_with(|v| v["headers"]["eta"] = json!(12)), "not a kombu envelope"),
        (
            "body not [args, kwargs, embed]",
            envelope_with(|v| v["body"] = json!(b64("{\"a\": 1}"))),
            "body is not [args, kwargs, embed]",
        ),
        (
            "protocol v1 (no headers.task)",
            envelope_with(|v| v["headers"] = json!({})),
            "protocol v2 needs headers.task",
        ),
        ("unregistered task", unregistered.to_json().unwrap(), "is not registered"),
    ];

    let server = RedisServer::start();
    let broker = common::broker(&server.url()).await;
    let conn = common::redis(&server.url()).await;
    let mut raw = conn.clone();
    for (_, payload, _) in &table {
        let _: () = raw.lpush("celery", payload).await.unwrap();
    }
    let good = TaskMessage::new("interop.add", vec![json!(2), json!(3)], Map::new(), &SendOptions::default());
    Producer::new(broker.clone()).publish(&good).await.unwrap();

    let worker = RunningWorker::start(&server.url(), common::registry(), common::config("bad")).await;
    let success = common::wait_for_status(&conn, good.id(), "SUCCESS", Duration::from_secs(20)).await;
    assert_eq!(success["result"], json!(5.0), "the valid task after all the bad ones still runs");

    let dead: Vec<String> = raw.lrange(DEFAULT_DEAD_LETTER_KEY, 0, -1).await.unwrap();
    assert_eq!(dead.len(), table.len(), "every malformed message is dead-lettered: {dead:#?}");
    // LPUSHed in arrival order, so the oldest is last.
    for ((kind, payload, reason), record) in table.iter().zip(dead.iter().rev()) {
        let record: Value = serde_json::from_str(record).unwrap();
        assert!(
            record["reason"].as_str().unwrap().contains(reason),
            "{kind}: reason {:?} lacks {reason:?}",
            record["reason"]
        );
        assert_eq!(record["payload"].as_str().unwrap(), payload, "{kind}: the payload is kept as it was");
        assert_eq!(record["queue"], "celery", "{kind}");
    }
    let failure =
        common::stored_result(&mut raw, unregistered.id()).await.expect("unregistered task gets a FAILURE result");
    assert_eq!(failure["status"], "FAILURE");
    assert_eq!(
        failure["result"],
        json!({"exc_type": "NotRegistered", "exc_message": ["no.such.task"], "exc_module": "celery.exceptions"})
    );
    assert_eq!(raw.hlen::<_, usize>("unacked").await.unwrap(), 0, "nothing stays in flight");
    assert_eq!(raw.llen::<_, usize>("celery").await.unwrap(), 0);
    assert_eq!(broker.dead_letters(100).await.unwrap().len(), table.len());
    worker.stop().await;
}
