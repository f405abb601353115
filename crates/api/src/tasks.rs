//! `/tasks`: one task, and the history.

use axum::Json;
use axum::extract::{Path, Query, State};
use serde_json::json;

use crate::body::int_param;
use crate::error::{ApiError, ApiResult, FieldError, HttpError, ValidationErrorBody};
use crate::history::{self, TaskPage, TaskView};
use crate::state::AppState;

const STATES: [&str; 7] = ["PENDING", "RECEIVED", "STARTED", "RETRY", "SUCCESS", "FAILURE", "REVOKED"];

/// A task: its state, arguments, result or error, retries, worker and the time of each state
/// reached.
#[utoipa::path(
    get, path = "/tasks/{task_id}", tag = "tasks",
    params(("task_id" = String, Path, description = "The task id")),
    responses(
        (status = 200, description = "The task", body = TaskView),
        (status = 404, description = "Never seen", body = HttpError),
        (status = 503, description = "Redis unavailable", body = HttpError),
    )
)]
pub async fn get(State(state): State<AppState>, Path(task_id): Path<String>) -> ApiResult<Json<TaskView>> {
    history::find(state.store(), &task_id).await.map(Json)
}

/// Task history, newest first.
#[utoipa::path(
    get, path = "/tasks", tag = "tasks",
    params(
        ("state" = Option<String>, Query, description = "Only tasks in this state"),
        ("limit" = Option<u64>, Query, description = "1–500, default 50"),
        ("before" = Option<f64>, Query, description = "Only tasks sent before this time (epoch seconds): `next_before` of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of tasks", body = TaskPage),
        (status = 422, description = "Invalid parameter", body = ValidationErrorBody),
        (status = 503, description = "Redis unavailable", body = HttpError),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    Query(params): Query<Vec<(String, String)>>,
) -> ApiResult<Json<TaskPage>> {
    let mut errors = Vec::new();
    let limit = int_param(&params, "limit", 50, 1, 500).map_err(|e| errors.push(*e)).unwrap_or(50);
    let wanted = params.iter().find(|(k, _)| k == "state").map(|(_, v)| v.trim().to_ascii_uppercase());
    if let Some(wanted) = &wanted
        && !STATES.contains(&wanted.as_str())
    {
        errors.push(
            FieldError::new(
                "enum",
                vec![json!("query"), json!("state")],
                format!("Input should be {}", quoted(&STATES)),
                json!(wanted),
            )
            .with_ctx(json!({"expected": quoted(&STATES)})),
        );
    }
    let before = match params.iter().find(|(k, _)| k == "before") {
        None => None,
        Some((_, raw)) => match raw.trim().parse::<f64>() {
            Ok(v) if v.is_finite() => Some(v),
            _ => {
                errors.push(FieldError::new(
                    "float_parsing",
                    vec![json!("query"), json!("before")],
                    "Input should be a valid number, unable to parse string as a number",
                    json!(raw),
                ));
                None
            }
        },
    };
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    Ok(Json(history::page(state.store(), wanted.as_deref(), limit as usize, before).await?))
}

fn quoted(states: &[&str]) -> String {
    let items: Vec<String> = states.iter().map(|s| format!("'{s}'")).collect();
    match items.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => items.join(""),
    }
}
