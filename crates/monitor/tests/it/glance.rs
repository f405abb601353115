//! What the diagrams read from Redis: the glance and one key's contents, against a real
//! redis-server.

use std::time::Duration;

use layout::KeyRole;
use monitor::glance::RedisType;
use redis::AsyncCommands as _;
use serde_json::{Map, Value, json};
use taskq::{SendOptions, TaskMessage};

use crate::common::{TASK, TestMonitor};

fn message(n: u64) -> TaskMessage {
    TaskMessage::new(TASK, vec![json!({"id": n})], Map::new(), &SendOptions::default())
}

#[tokio::test]
async fn the_glance_shows_queue_in_flight_results_and_our_keys() {
    let app = TestMonitor::start().await;
    let mut conn = app.conn.clone();
    let (first, second, flying) = (message(1), message(2), message(3));
    // Producers LPUSH; the next one served is the rightmost.
    let _: () = conn.lpush("celery", first.to_json().unwrap()).await.unwrap();
    let _: () = conn.lpush("celery", second.to_json().unwrap()).await.unwrap();
    let entry = json!([serde_json::from_str::<Value>(&flying.to_json().unwrap()).unwrap(), "", "celery"]).to_string();
    let _: () = conn.hset("unacked", "tag-1", entry).await.unwrap();
    let _: () = conn.set_ex("celery-task-meta-done", r#"{"status": "SUCCESS", "result": 1}"#, 500).await.unwrap();
    let _: () = conn.zadd("stackdesk:products", "1", 1).await.unwrap();
    let _: () = conn.set("stackdesk:product:1", r#"{"id":1,"name":"Cup"}"#).await.unwrap();

    let glance = monitor::glance::glance(&app.redis_db()).await.unwrap();
    assert_eq!((glance.queued, glance.in_flight, glance.results), (2, 1, 1));
    assert_eq!(glance.queue_head, [first.id(), second.id()], "next to run first");
    assert_eq!(glance.in_flight_ids, [flying.id()]);
    let results = glance.groups.iter().find(|g| g.pattern == "celery-task-meta-*").unwrap();
    let sample = &results.samples[0];
    assert_eq!((sample.key.as_str(), sample.state), ("celery-task-meta-done", Some(taskq::TaskState::Success)));
    assert_eq!((results.role, sample.role), (KeyRole::Result, KeyRole::Result));
    assert!(sample.ttl_ms.is_some_and(|ttl| ttl > 0 && ttl <= 500_000), "{sample:?}");
    let products = glance.our_keys.iter().find(|k| k.key == "stackdesk:products").unwrap();
    assert_eq!((products.kind, products.size, products.ttl_ms), (RedisType::Zset, 1, None));
    assert_eq!(products.role, KeyRole::Products);
    let queue = glance.celery_keys.iter().find(|k| k.key == "celery").unwrap();
    assert_eq!((queue.kind, queue.size, queue.role), (RedisType::List, 2, KeyRole::Queue));
    assert!(!glance.truncated);

    let product = monitor::glance::contents(&app.redis_db(), "stackdesk:product:1").await.unwrap();
    assert_eq!(product.glance.kind, RedisType::String);
    assert!(product.preview.contains("\"name\": \"Cup\""), "pretty JSON: {}", product.preview);
    let unacked = monitor::glance::contents(&app.redis_db(), "unacked").await.unwrap();
    assert!(unacked.preview.starts_with("tag-1 → "), "{}", unacked.preview);
    let missing = monitor::glance::contents(&app.redis_db(), "nope").await.unwrap();
    assert_eq!((missing.glance.kind, missing.preview.as_str()), (RedisType::None, ""));

    // The same over HTTP.
    let answer = app.get("/redis").await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json["queued"], 2);
    assert_eq!(answer.json["our_keys"][0]["role"], "products");
    let answer = app.get("/redis/key?name=celery").await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!((answer.json["kind"].as_str(), answer.json["size"].as_u64()), (Some("list"), Some(2)));
    assert_eq!(app.get("/redis/key").await.status, 422, "a name is required");

    app.redis.raw_command(&["SHUTDOWN", "NOSAVE"]);
    let answer = tokio::time::timeout(Duration::from_secs(10), app.get("/redis")).await.expect("an answer, no hang");
    assert_eq!(answer.status, 503, "{}", answer.text);
}
