//! `/health`: whether the monitor reaches Redis.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use web::Detail;
use web::health::Health;

use crate::state::Monitor;

/// The routes of this resource.
pub fn router() -> Router<Monitor> {
    Router::new().route("/health", get(health))
}

/// 200 when Redis answers PING within a second, 503 with the reason otherwise.
#[utoipa::path(
    get, path = "/health", tag = "health",
    responses(
        (status = 200, description = "Redis answers", body = Health),
        (status = 503, description = "Redis does not answer (or is not connected yet); the reason is in `detail`", body = Detail),
    )
)]
pub async fn health(State(monitor): State<Monitor>) -> Response {
    web::health::answer(monitor.redis().ok().map(|r| &r.db)).await
}
