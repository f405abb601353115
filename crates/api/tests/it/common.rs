//! The app over a fresh redis-server, called without a socket.

use api::{ApiOptions, AppState};
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt as _;
use redis::aio::ConnectionManager;
use serde_json::Value;
use taskq::{Broker, BrokerOptions};
use test_support::redis::RedisServer;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt as _;

pub struct TestApp {
    pub redis: RedisServer,
    pub broker: Broker,
    pub state: AppState,
    pub router: Router,
    pub conn: ConnectionManager,
    pub shutdown: CancellationToken,
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub json: Value,
    pub text: String,
}

impl TestApp {
    /// A Python Celery worker with events on (`-E`, the `notifications` test app) on this app's
    /// Redis, named `name`; killed when dropped.
    pub fn python_worker(&self, name: &str) -> test_support::python::ChildProcess {
        test_support::python::celery_worker(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python"),
            "notifications",
            &self.redis.url(),
            name,
            &["--without-mingle", "--without-gossip"],
        )
    }

    pub async fn start() -> Self {
        Self::start_with(ApiOptions::default()).await
    }

    pub async fn start_with(options: ApiOptions) -> Self {
        let redis = RedisServer::start();
        let broker = Broker::connect(&redis.url(), BrokerOptions::default()).await.unwrap();
        let shutdown = CancellationToken::new();
        let state = AppState::new(&broker, options, shutdown.clone());
        let router = api::router(state.clone());
        let conn = broker.connection();
        Self { redis, broker, state, router, conn, shutdown }
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: impl Into<Body>,
    ) -> Answer {
        let mut builder = Request::builder().method(method).uri(path);
        if let Some(content_type) = content_type {
            builder = builder.header("content-type", content_type);
        }
        let response = self.router.clone().oneshot(builder.body(body.into()).unwrap()).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        Answer { status, headers, json: serde_json::from_slice(&bytes).unwrap_or(Value::Null), text }
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Answer {
        self.request(Method::POST, path, Some("application/json"), body.to_string()).await
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.request(Method::GET, path, None, Body::empty()).await
    }

    /// Starts the event recorder and queue sampler, and waits until the recorder follows Celery's
    /// event fanout (so no event of a worker started afterwards is missed).
    pub async fn start_recorder(&self) -> tokio_util::task::TaskTracker {
        let tracker = tokio_util::task::TaskTracker::new();
        api::spawn_background(&self.state, &self.broker, &tracker, &self.shutdown);
        let conn = self.conn.clone();
        test_support::wait::until("the recorder to subscribe", std::time::Duration::from_secs(10), || {
            let mut conn = conn.clone();
            async move {
                (redis::cmd("PUBSUB").arg("NUMPAT").query_async::<i64>(&mut conn).await.unwrap() > 0).then_some(())
            }
        })
        .await;
        tracker
    }

    /// Every key in Redis with its type and content, to compare before and after a request.
    pub async fn snapshot(&self) -> Vec<(String, String)> {
        let mut conn = self.conn.clone();
        let mut keys: Vec<String> = redis::cmd("KEYS").arg("*").query_async(&mut conn).await.unwrap();
        keys.sort();
        let mut out = Vec::new();
        for key in keys {
            let dump: Option<Vec<u8>> = redis::cmd("DUMP").arg(&key).query_async(&mut conn).await.unwrap();
            out.push((key, format!("{dump:?}")));
        }
        out
    }
}
