//! What the diagrams read from Redis (a real redis-server), and exported diagrams on disk.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use desk::control::{self, ControlState};
use desk::{Stack, StackOptions};
use http_body_util::BodyExt as _;
use redis::AsyncCommands as _;
use serde_json::{Map, Value, json};
use taskq::{SendOptions, TaskMessage};
use test_support::redis::RedisServer;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt as _;

const PORT: u16 = 47322;
const TOKEN: &str = "glance-token-0123456789";

fn message(n: u64) -> TaskMessage {
    TaskMessage::new(worker::TASK_NAME, vec![json!({"id": n})], Map::new(), &SendOptions::default())
}

/// The control endpoint over a stack with `env` as its environment.
fn endpoint(env: &[(&str, String)]) -> (tempfile::TempDir, axum::Router) {
    let dirs = tempfile::tempdir().unwrap();
    let mut options = StackOptions::new(dirs.path().join("config"), dirs.path().join("data"), "/nonexistent".into());
    options.env = env.iter().map(|(k, v)| ((*k).to_string(), v.clone())).collect();
    let stack = Arc::new(Stack::new(options).unwrap());
    let ui = dirs.path().join("ui");
    std::fs::create_dir_all(&ui).unwrap();
    std::fs::write(ui.join("index.html"), "<!doctype html>").unwrap();
    let assets = Arc::new(desk::assets::DirAssets::new(&ui).unwrap());
    (dirs, control::router(ControlState::new(stack, assets, TOKEN, PORT, CancellationToken::new())))
}

async fn call(router: &axum::Router, method: Method, uri: &str, body: Body) -> (StatusCode, Value) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header("host", format!("127.0.0.1:{PORT}"))
        .header("authorization", format!("Bearer {TOKEN}"))
        .body(body)
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_glance_shows_queue_in_flight_results_and_our_keys() {
    let redis = RedisServer::start();
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let (first, second, flying) = (message(1), message(2), message(3));
    // Producers LPUSH; the next one served is the rightmost.
    let _: () = conn.lpush("celery", first.to_json().unwrap()).await.unwrap();
    let _: () = conn.lpush("celery", second.to_json().unwrap()).await.unwrap();
    let entry = json!([serde_json::from_str::<Value>(&flying.to_json().unwrap()).unwrap(), "", "celery"]).to_string();
    let _: () = conn.hset("unacked", "tag-1", entry).await.unwrap();
    let _: () = conn.set_ex("celery-task-meta-done", r#"{"status": "SUCCESS", "result": 1}"#, 500).await.unwrap();
    let _: () = conn.zadd("stackdesk:products", "1", 1).await.unwrap();
    let _: () = conn.set("stackdesk:product:1", r#"{"id":1,"name":"Cup"}"#).await.unwrap();

    let glance = desk::glance::glance(&redis.url()).await.unwrap();
    assert_eq!((glance.queued, glance.in_flight, glance.results), (2, 1, 1));
    assert_eq!(glance.queue_head, [first.id(), second.id()], "next to run first");
    assert_eq!(glance.in_flight_ids, [flying.id()]);
    let results = glance.groups.iter().find(|g| g.pattern == "celery-task-meta-*").unwrap();
    let sample = &results.samples[0];
    assert_eq!((sample.key.as_str(), sample.note.as_deref()), ("celery-task-meta-done", Some("SUCCESS")));
    assert!(sample.ttl_ms.is_some_and(|ttl| ttl > 0 && ttl <= 500_000), "{sample:?}");
    let products = glance.our_keys.iter().find(|k| k.key == "stackdesk:products").unwrap();
    assert_eq!((products.kind.as_str(), products.size, products.ttl_ms), ("zset", 1, None));
    let queue = glance.celery_keys.iter().find(|k| k.key == "celery").unwrap();
    assert_eq!((queue.kind.as_str(), queue.size), ("list", 2));
    assert!(!glance.truncated);

    let product = desk::glance::contents(&redis.url(), "stackdesk:product:1").await.unwrap();
    assert_eq!(product.glance.kind, "string");
    assert!(product.preview.contains("\"name\": \"Cup\""), "pretty JSON: {}", product.preview);
    let unacked = desk::glance::contents(&redis.url(), "unacked").await.unwrap();
    assert!(unacked.preview.starts_with("tag-1 → "), "{}", unacked.preview);
    let missing = desk::glance::contents(&redis.url(), "nope").await.unwrap();
    assert_eq!((missing.glance.kind.as_str(), missing.preview.as_str()), ("none", ""));

    // The same through the control endpoint, with the stack's Redis URL from its settings.
    let (_dirs, router) = endpoint(&[("REDIS_URL", redis.url())]);
    let (status, body) = call(&router, Method::GET, "/api/redis", Body::empty()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["queued"], 2);
    let (status, body) = call(&router, Method::GET, "/api/redis/key?name=celery", Body::empty()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!((body["kind"].as_str(), body["size"].as_u64()), (Some("list"), Some(2)));

    drop(redis);
    let (status, body) = call(&router, Method::GET, "/api/redis", Body::empty()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"]["kind"], "redis_unavailable");
}

#[tokio::test]
async fn exports_are_saved_under_the_data_folder_and_bad_names_refused() {
    let (dirs, router) = endpoint(&[]);
    let svg = "<svg xmlns=\"http://www.w3.org/2000/svg\"/>";
    let (status, body) = call(&router, Method::PUT, "/api/exports/lifecycle.svg", Body::from(svg)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let path = std::path::PathBuf::from(body["path"].as_str().unwrap());
    assert_eq!(path, dirs.path().join("data/exports/lifecycle.svg"));
    assert_eq!(std::fs::read_to_string(path).unwrap(), svg);
    let (status, body) = call(&router, Method::PUT, "/api/exports/..%2Fevil.svg", Body::from(svg)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["kind"], "bad_export_name");
}
