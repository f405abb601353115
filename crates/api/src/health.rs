//! `/health`: whether Redis answers.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::{Value, json};
use web::Detail;

use crate::state::AppState;

/// How long Redis may take to answer PING.
const PING_TIMEOUT: Duration = Duration::from_secs(1);

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new().route("/health", get(health))
}

/// The healthy answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: String,
    /// `ok`.
    pub redis: String,
}

/// 200 when Redis answers PING within a second, 503 with the reason otherwise.
#[utoipa::path(
    get, path = "/health", tag = "health",
    responses(
        (status = 200, description = "Redis answers", body = Health),
        (status = 503, description = "Redis does not answer; the reason is in `detail`", body = Detail),
    )
)]
pub async fn health(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let mut conn = state.store().connection();
    match tokio::time::timeout(PING_TIMEOUT, redis::cmd("PING").query_async::<String>(&mut conn)).await {
        Ok(Ok(_)) => (StatusCode::OK, Json(json!({"status": "ok", "redis": "ok"}))),
        Ok(Err(err)) => {
            (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"detail": format!("Redis is unavailable: {err}")})))
        }
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"detail": format!("Redis did not answer PING within {PING_TIMEOUT:?}")})),
        ),
    }
}
