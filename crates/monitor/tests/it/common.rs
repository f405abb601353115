//! The monitor over a fresh redis-server, called without a socket, and a producer that records
//! nothing (as a Python API's `.delay()` would).

use std::collections::HashMap;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt as _;
use monitor::{Monitor, MonitorOptions};
use redis::aio::ConnectionManager;
use serde_json::{Map, Value};
use taskq::{Broker, BrokerOptions, Producer, SendOptions, TaskMessage};
use test_support::redis::RedisServer;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt as _;

/// The notification task's name, as every producer here sends it.
pub const TASK: &str = "tasks.notifications.send_tg_notification";

pub struct TestMonitor {
    pub redis: RedisServer,
    pub broker: Broker,
    pub monitor: Monitor,
    pub router: Router,
    pub conn: ConnectionManager,
    pub shutdown: CancellationToken,
    pub tracker: TaskTracker,
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub json: Value,
    pub text: String,
}

impl TestMonitor {
    pub async fn start() -> Self {
        Self::start_with(MonitorOptions::default()).await
    }

    pub async fn start_with(options: MonitorOptions) -> Self {
        let redis = RedisServer::start();
        let broker = Broker::connect(&redis.url(), BrokerOptions::default()).await.unwrap();
        let shutdown = CancellationToken::new();
        let monitor = Monitor::connected(&broker, options, shutdown.clone());
        let router = monitor::router(monitor.clone());
        let conn = broker.connection();
        Self { redis, broker, monitor, router, conn, shutdown, tracker: TaskTracker::new() }
    }

    /// Starts the recorder, the queue watcher and the product relay, and waits until they follow
    /// Celery's event fanout and the product channel (so nothing sent afterwards is missed).
    pub async fn start_recorder(&self) {
        monitor::spawn_recorder(&self.monitor, &self.broker, &self.tracker);
        let conn = self.conn.clone();
        test_support::wait::until("the recorder to subscribe", Duration::from_secs(10), || {
            let mut conn = conn.clone();
            async move {
                let patterns: i64 = redis::cmd("PUBSUB").arg("NUMPAT").query_async(&mut conn).await.unwrap();
                let (_, products): (String, i64) = redis::cmd("PUBSUB")
                    .arg("NUMSUB")
                    .arg(layout::keys::PRODUCT_CHANNEL)
                    .query_async(&mut conn)
                    .await
                    .unwrap();
                (patterns > 0 && products > 0).then_some(())
            }
        })
        .await;
    }

    /// Sends `send_tg_notification(product)` as a bare producer does: the message alone, no
    /// history record, no `task-sent` event.
    pub async fn send(&self, product: Value) -> TaskMessage {
        let message = TaskMessage::new(TASK, vec![product], Map::new(), &SendOptions::default());
        Producer::new(self.broker.clone()).publish(&message).await.unwrap();
        message
    }

    /// The monitor's connection with its deadline.
    pub fn redis_db(&self) -> web::Db {
        self.monitor.redis().unwrap().db.clone()
    }

    pub async fn request(&self, method: Method, path: &str) -> Answer {
        let request =
            Request::builder().method(method).uri(path).header("host", "127.0.0.1:5555").body(Body::empty()).unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        Answer { status, headers, json: serde_json::from_slice(&bytes).unwrap_or(Value::Null), text }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.request(Method::GET, path).await
    }

    pub async fn post(&self, path: &str) -> Answer {
        self.request(Method::POST, path).await
    }

    /// Waits until `GET /tasks/{id}` satisfies `done`; returns that view.
    pub async fn wait_task(&self, id: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        test_support::wait::until(what, Duration::from_secs(30), || {
            let path = format!("/tasks/{id}");
            let done = &done;
            async move {
                let task = self.get(&path).await;
                (task.status == 200 && done(&task.json)).then_some(task.json)
            }
        })
        .await
    }

    /// A Python Celery worker with events on (`-E`, the `notifications` test app) on this
    /// monitor's Redis, named `name`; killed when dropped.
    pub fn python_worker(&self, name: &str) -> test_support::python::ChildProcess {
        test_support::python::celery_worker(
            &python_dir(),
            "notifications",
            &self.redis.url(),
            name,
            &["--without-mingle", "--without-gossip"],
        )
    }

    /// Stops what the monitor started and waits for it.
    pub async fn stop(self) {
        self.shutdown.cancel();
        self.tracker.close();
        self.tracker.wait().await;
    }
}

/// The Python test apps' folder.
pub fn python_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python")
}

/// Settings for our worker on `redis_url` (simulated send of `secs`), with `extra` keys.
pub fn worker_settings(redis_url: &str, secs: &str, extra: &[(&str, &str)]) -> config::Settings {
    let mut env: HashMap<String, String> = HashMap::from([
        ("REDIS_URL".into(), redis_url.into()),
        ("NOTIFY_SIMULATED_SECS".into(), secs.into()),
        ("TASK_RETRY_COUNTDOWN_SECS".into(), "0".into()),
    ]);
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    config::Settings::from_sources(&config::Sources { env, ..Default::default() }).unwrap()
}

/// Our worker on `settings`, named `name`, until the token fires.
pub fn start_worker(settings: config::Settings, name: &str) -> (CancellationToken, tokio::task::JoinHandle<()>) {
    let stop = CancellationToken::new();
    let (token, name) = (stop.clone(), name.to_string());
    let handle = tokio::spawn(async move {
        worker::run(&settings, Some(name), token).await.unwrap();
    });
    (stop, handle)
}

/// The states of a task's timeline.
pub fn states(task: &Value) -> Vec<&str> {
    task["timeline"].as_array().unwrap().iter().map(|s| s["state"].as_str().unwrap()).collect()
}

/// A product as the notification task receives it.
pub fn product(id: u64, name: &str) -> Value {
    serde_json::json!({"id": id, "name": name, "price": 1.0, "description": null, "created_at": "2026-12-01T10:00:00"})
}
