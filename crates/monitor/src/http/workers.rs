//! `/workers`: the workers seen on this Redis.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use web::{Detail, WebResult};

use crate::actions;
use crate::model::WorkerView;
use crate::state::Monitor;

/// The routes of this resource.
pub fn router() -> Router<Monitor> {
    Router::new().route("/workers", get(list))
}

/// Workers seen on this Redis (ours and Python ones), from their heartbeats and `stats`.
#[utoipa::path(
    get, path = "/workers", tag = "workers",
    responses((status = 200, description = "Workers, by name", body = Vec<WorkerView>), (status = 503, description = "Redis unavailable", body = Detail))
)]
pub async fn list(State(monitor): State<Monitor>) -> WebResult<Json<Vec<WorkerView>>> {
    Ok(Json(actions::workers(&monitor).await?))
}
