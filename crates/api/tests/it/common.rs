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
    pub router: Router,
    pub conn: ConnectionManager,
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub json: Value,
    pub text: String,
}

impl TestApp {
    pub async fn start() -> Self {
        Self::start_with(ApiOptions::default()).await
    }

    pub async fn start_with(options: ApiOptions) -> Self {
        let redis = RedisServer::start();
        let broker = Broker::connect(&redis.url(), BrokerOptions::default()).await.unwrap();
        let state = AppState::new(&broker, options, CancellationToken::new());
        let router = api::router(state);
        let conn = broker.connection();
        Self { redis, broker, router, conn }
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: impl Into<Body>,
    ) -> Answer {
        let mut builder = Request::builder().method(method).uri(path).header("host", "127.0.0.1:8000");
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
