//! `/health`: whether Redis answers.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use web::Detail;
use web::health::Health;

use crate::state::AppState;

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new().route("/health", get(health))
}

/// 200 when Redis answers PING within a second, 503 with the reason otherwise.
#[utoipa::path(
    get, path = "/health", tag = "health",
    responses(
        (status = 200, description = "Redis answers", body = Health),
        (status = 503, description = "Redis does not answer; the reason is in `detail`", body = Detail),
    )
)]
pub async fn health(State(state): State<AppState>) -> Response {
    web::health::answer(Some(state.store().db())).await
}
