//! `/health`, the same for both services: whether Redis answers PING within a second.

use std::time::Duration;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;

use crate::db::Db;

/// How long Redis may take to answer PING.
pub const PING_TIMEOUT: Duration = Duration::from_secs(1);

/// The healthy answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: &'static str,
    /// `ok`.
    pub redis: &'static str,
}

/// 200 with [`Health`] when Redis answers PING within [`PING_TIMEOUT`], else 503 with the reason.
pub async fn answer(db: Option<&Db>) -> Response {
    let Some(db) = db else {
        return unhealthy("Redis is unavailable: not connected yet");
    };
    let mut conn = db.conn();
    match tokio::time::timeout(PING_TIMEOUT, redis::cmd("PING").query_async::<String>(&mut conn)).await {
        Ok(Ok(_)) => (StatusCode::OK, Json(Health { status: "ok", redis: "ok" })).into_response(),
        Ok(Err(err)) => unhealthy(&format!("Redis is unavailable: {err}")),
        Err(_) => unhealthy(&format!("Redis did not answer PING within {PING_TIMEOUT:?}")),
    }
}

fn unhealthy(detail: &str) -> Response {
    (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "detail": detail }))).into_response()
}
