//! `/redis`: what Redis holds now, sampled for the Redis-keys diagram, and one key's contents.

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use web::params::{self, Params};
use web::{Detail, FieldError, ValidationErrorBody, WebError, WebResult};

use crate::glance::{self, KeyContents, RedisGlance};
use crate::state::Monitor;

/// The routes of this resource.
pub fn router() -> Router<Monitor> {
    Router::new().route("/redis", get(now)).route("/redis/key", get(key))
}

/// What Redis holds now: the queue, messages in flight, results and our keys, each with its role
/// (one `SCAN`, capped at 20,000 keys).
#[utoipa::path(
    get, path = "/redis", tag = "redis",
    responses((status = 200, description = "A glance at the keys", body = Object), (status = 503, description = "Redis unavailable", body = Detail))
)]
pub async fn now(State(monitor): State<Monitor>) -> WebResult<Json<RedisGlance>> {
    Ok(Json(glance::glance(&monitor.redis()?.db).await?))
}

/// One key's contents (the first elements of a collection, JSON pretty-printed).
#[utoipa::path(
    get, path = "/redis/key", tag = "redis",
    params(("name" = String, Query, description = "The key")),
    responses(
        (status = 200, description = "Its contents", body = Object),
        (status = 422, description = "No name given", body = ValidationErrorBody),
        (status = 503, description = "Redis unavailable", body = Detail),
    )
)]
pub async fn key(
    State(monitor): State<Monitor>,
    Query(params): Query<Vec<(String, String)>>,
) -> WebResult<Json<KeyContents>> {
    let name = name_param(&params)?;
    Ok(Json(glance::contents(&monitor.redis()?.db, name).await?))
}

fn name_param(params: &Params) -> WebResult<&str> {
    params::last(params, "name").ok_or_else(|| {
        WebError::Validation(vec![FieldError::new(
            "missing",
            vec![serde_json::json!("query"), serde_json::json!("name")],
            "Field required",
            serde_json::Value::Null,
        )])
    })
}
