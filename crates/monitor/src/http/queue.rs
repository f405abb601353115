//! `/queue`: emptying it.

use axum::extract::State;
use axum::routing::delete;
use axum::{Json, Router};
use layout::keys;
use serde::Serialize;
use web::{Detail, WebResult};

use crate::actions;
use crate::state::Monitor;

/// The routes of this resource.
pub fn router() -> Router<Monitor> {
    Router::new().route("/queue", delete(purge))
}

/// The answer to emptying the queue.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Purged {
    /// The queue.
    pub queue: String,
    /// How many queued tasks were removed (each is now REVOKED).
    pub purged: usize,
}

/// Empties the queue; the tasks it held are marked REVOKED.
#[utoipa::path(
    delete, path = "/queue", tag = "tasks",
    responses((status = 200, description = "How many queued tasks were removed", body = Purged), (status = 503, description = "Redis unavailable", body = Detail))
)]
pub async fn purge(State(monitor): State<Monitor>) -> WebResult<Json<Purged>> {
    let purged = actions::purge(&monitor).await?;
    Ok(Json(Purged { queue: keys::QUEUE.into(), purged }))
}
