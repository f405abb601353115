//! `/tasks`: the history, one task, and the controls on one task (revoke, retry).

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header::LOCATION};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use serde_json::{Value, json};
use taskq::TaskState;
use web::params::{self, Params};
use web::{Detail, FieldError, ValidationErrorBody, WebError, WebResult};

use crate::actions;
use crate::history;
use crate::model::{StateName, TaskPage, TaskView};
use crate::state::Monitor;

/// The routes of this resource.
pub fn router() -> Router<Monitor> {
    Router::new()
        .route("/tasks", get(list))
        .route("/tasks/", get(list))
        .route("/tasks/{task_id}", get(one))
        .route("/tasks/{task_id}/revoke", post(revoke))
        .route("/tasks/{task_id}/retry", post(retry))
}

/// A task: its state, arguments, result or error, retries, worker and the time of each state
/// reached.
#[utoipa::path(
    get, path = "/tasks/{task_id}", tag = "tasks",
    params(("task_id" = String, Path, description = "The task id")),
    responses(
        (status = 200, description = "The task", body = TaskView),
        (status = 404, description = "Never seen", body = Detail),
        (status = 503, description = "Redis unavailable", body = Detail),
    )
)]
pub async fn one(State(monitor): State<Monitor>, Path(task_id): Path<String>) -> WebResult<Json<TaskView>> {
    history::find(&monitor.redis()?.db, &task_id).await.map(Json)
}

/// The states a task can be in, as Celery names them.
fn state_names() -> Vec<&'static str> {
    TaskState::ALL.iter().map(|s| s.as_str()).collect()
}

/// The `state` filter: one of Celery's states, exactly (as FastAPI takes an `Enum` parameter).
fn state_param(params: &Params) -> Result<Option<TaskState>, Box<FieldError>> {
    let Some(raw) = params::last(params, "state") else { return Ok(None) };
    let wanted = raw.to_string();
    serde_json::from_value(Value::String(wanted.clone())).map(Some).map_err(|_| {
        let expected = params::expected(&state_names());
        Box::new(
            FieldError::new(
                "enum",
                vec![json!("query"), json!("state")],
                format!("Input should be {expected}"),
                json!(wanted),
            )
            .with_ctx(json!({ "expected": expected })),
        )
    })
}

/// Task history, newest first.
#[utoipa::path(
    get, path = "/tasks", tag = "tasks",
    params(
        ("state" = Option<StateName>, Query, description = "Only tasks in this state"),
        ("limit" = Option<u64>, Query, minimum = 1, maximum = 500, description = "1–500, default 50"),
        ("before" = Option<f64>, Query, description = "Only tasks sent before this time (epoch seconds): `next_before` of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of tasks", body = TaskPage),
        (status = 422, description = "Invalid parameter", body = ValidationErrorBody),
        (status = 503, description = "Redis unavailable", body = Detail),
    )
)]
pub async fn list(
    State(monitor): State<Monitor>,
    Query(params): Query<Vec<(String, String)>>,
) -> WebResult<Json<TaskPage>> {
    let limit = params::int_param(&params, "limit", 50, 1, 500);
    let state = state_param(&params);
    let before = params::float_param(&params, "before");
    let mut errors = Vec::new();
    if let Err(e) = &limit {
        errors.push((**e).clone());
    }
    if let Err(e) = &state {
        errors.push((**e).clone());
    }
    if let Err(e) = &before {
        errors.push((**e).clone());
    }
    match (limit, state, before) {
        (Ok(limit), Ok(state), Ok(before)) if errors.is_empty() => {
            Ok(Json(history::page(&monitor.redis()?.db, state, limit as usize, before).await?))
        }
        _ => Err(WebError::Validation(errors)),
    }
}

/// The answer to a revoke.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Revoked {
    /// The task.
    pub task_id: String,
    /// Whether a running task was asked to stop too.
    pub terminate: bool,
    /// Each worker's reply, by name.
    #[schema(value_type = Object)]
    pub replies: Value,
}

/// Revokes a task: no worker will start it (remembered for workers that start later); with
/// `terminate=true` a running one is stopped.
#[utoipa::path(
    post, path = "/tasks/{task_id}/revoke", tag = "tasks",
    params(("task_id" = String, Path, description = "The task id"), ("terminate" = Option<bool>, Query, description = "Also stop it if it is running")),
    responses(
        (status = 202, description = "Revoked; the workers' replies", body = Revoked),
        (status = 404, description = "Never seen", body = Detail),
        (status = 422, description = "`terminate` is not a boolean", body = ValidationErrorBody),
        (status = 409, description = "Already finished", body = Detail),
        (status = 503, description = "Redis unavailable", body = Detail),
    )
)]
pub async fn revoke(
    State(monitor): State<Monitor>,
    Path(task_id): Path<String>,
    Query(params): Query<Vec<(String, String)>>,
) -> WebResult<(StatusCode, Json<Revoked>)> {
    let terminate = params::flag(&params, "terminate").map_err(|e| WebError::Validation(vec![*e]))?;
    let replies = actions::revoke(&monitor, &task_id, terminate).await?;
    Ok((StatusCode::ACCEPTED, Json(Revoked { task_id, terminate, replies: Value::Object(replies) })))
}

/// The answer to a retry.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Retried {
    /// The new task.
    pub task_id: String,
    /// The task it retries.
    pub retry_of: String,
}

/// Sends a failed or revoked task again, once, as a new task with the same arguments, linked to
/// the old both ways.
#[utoipa::path(
    post, path = "/tasks/{task_id}/retry", tag = "tasks",
    params(("task_id" = String, Path, description = "The failed or revoked task")),
    responses(
        (status = 201, description = "The new task", body = Retried, headers(("Location" = String, description = "/tasks/{new id}"))),
        (status = 404, description = "Never seen", body = Detail),
        (status = 409, description = "Not failed or revoked, already retried, or its arguments are unknown", body = Detail),
        (status = 503, description = "Redis unavailable", body = Detail),
    )
)]
pub async fn retry(
    State(monitor): State<Monitor>,
    Path(task_id): Path<String>,
) -> WebResult<(StatusCode, HeaderMap, Json<Retried>)> {
    let new_id = actions::retry(&monitor, &task_id).await?;
    let mut headers = HeaderMap::new();
    let location = HeaderValue::from_str(&format!("/tasks/{new_id}")).map_err(|e| WebError::Internal(e.to_string()))?;
    headers.insert(LOCATION, location);
    Ok((StatusCode::CREATED, headers, Json(Retried { task_id: new_id, retry_of: task_id })))
}
