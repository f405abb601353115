//! Remote control through the API: revoke, retry, purge, and the workers' list.

use std::time::Duration;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header::LOCATION};
use redis::Script;
use serde::Serialize;
use serde_json::{Map, Value, json};
use taskq::control::ControlClient;
use taskq::{SendOptions, TaskMessage};

use crate::error::{ApiError, ApiResult, HttpError};
use crate::history;
use crate::state::AppState;
use crate::store::QUEUE;

/// Known workers, by hostname: their last worker event (JSON).
pub const WORKERS_KEY: &str = "stackdesk:workers";
/// How long a revoke is remembered for workers that start later (Celery's `REVOKE_EXPIRES`).
const REVOKE_KEEP: Duration = Duration::from_secs(3 * 3600);
/// How long the API waits for workers to answer a broadcast.
const REPLY_WINDOW: Duration = Duration::from_millis(500);

/// Revokes a task: no worker will start it; with `terminate=true` a running one is stopped.
#[utoipa::path(
    post, path = "/tasks/{task_id}/revoke", tag = "tasks",
    params(("task_id" = String, Path, description = "The task id"), ("terminate" = Option<bool>, Query, description = "Also stop it if it is running")),
    responses(
        (status = 202, description = "Revoked; the workers' replies", body = Object),
        (status = 404, description = "Never seen", body = HttpError),
        (status = 409, description = "Already finished", body = HttpError),
    )
)]
pub async fn revoke(
    State(state): State<AppState>,
    Path(task_id): Path<String>,
    Query(params): Query<Vec<(String, String)>>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let terminate = params.iter().any(|(k, v)| k == "terminate" && matches!(v.as_str(), "true" | "1" | "yes"));
    let view = history::find(state.store(), &task_id).await?;
    if matches!(view.state.as_str(), "SUCCESS" | "FAILURE" | "REVOKED") {
        return Err(ApiError::Conflict(format!(
            "Task {task_id} already finished ({}); there is nothing to revoke",
            view.state
        )));
    }
    let mut conn = state.store().connection();
    let expires = taskq::time::epoch_now() + REVOKE_KEEP.as_secs_f64();
    state
        .store()
        .call(redis::cmd("ZADD").arg(worker::REVOKED_KEY).arg(expires).arg(&task_id).query_async::<()>(&mut conn))
        .await?;
    let mut args = Map::new();
    args.insert("task_id".into(), json!(task_id));
    args.insert("terminate".into(), json!(terminate));
    let replies =
        ControlClient::new(state.broker().clone()).broadcast("revoke", args, None, REPLY_WINDOW, None).await?;
    if matches!(view.state.as_str(), "PENDING" | "RECEIVED" | "RETRY") {
        // No worker may be listening: the result says REVOKED now either way.
        let error = taskq::ExceptionInfo::new("celery.exceptions", "TaskRevokedError", "revoked");
        let meta = taskq::ResultMeta::new(&task_id, taskq::TaskState::Revoked, json!(error), None, None);
        taskq::ResultBackend::new(state.broker().clone(), None).store(&meta, None).await?;
    }
    let replies: Map<String, Value> = replies.into_iter().collect();
    Ok((StatusCode::ACCEPTED, Json(json!({"task_id": task_id, "terminate": terminate, "replies": replies}))))
}

/// Sends a failed or revoked task again, as a new task with the same arguments, linked to the old.
#[utoipa::path(
    post, path = "/tasks/{task_id}/retry", tag = "tasks",
    params(("task_id" = String, Path, description = "The failed or revoked task")),
    responses(
        (status = 201, description = "The new task", body = Object, headers(("Location" = String, description = "/tasks/{new id}"))),
        (status = 404, description = "Never seen", body = HttpError),
        (status = 409, description = "Not failed or revoked, or its arguments are unknown", body = HttpError),
    )
)]
pub async fn retry(
    State(state): State<AppState>,
    Path(task_id): Path<String>,
) -> ApiResult<(StatusCode, HeaderMap, Json<Value>)> {
    let view = history::find(state.store(), &task_id).await?;
    if !matches!(view.state.as_str(), "FAILURE" | "REVOKED") {
        return Err(ApiError::Conflict(format!(
            "Task {task_id} is {}; only failed or revoked tasks can be retried",
            view.state
        )));
    }
    let (Some(name), Value::Array(args)) = (view.name.clone(), view.args.clone()) else {
        return Err(ApiError::Conflict(format!(
            "Task {task_id}'s name or arguments were not recorded, so it cannot be sent again"
        )));
    };
    let message = TaskMessage::new(&name, args, Map::new(), &SendOptions::default());
    let sent_at = taskq::time::epoch_now();
    let record = history::pending_record(&message, view.product_id, sent_at, Some(&task_id));
    let mut conn = state.store().connection();
    let old: Option<String> =
        state.store().call(redis::cmd("GET").arg(history::record_key(&task_id)).query_async(&mut conn)).await?;
    let mut old: Map<String, Value> = old.and_then(|o| serde_json::from_str(&o).ok()).unwrap_or_default();
    old.insert("task_id".into(), json!(task_id));
    old.insert("retried_as".into(), json!(message.id()));
    let mut pipe = redis::pipe();
    pipe.atomic()
        .set(history::record_key(message.id()), record)
        .ignore()
        .zadd(history::TASKS_KEY, message.id(), sent_at)
        .ignore()
        .set(history::record_key(&task_id), Value::Object(old).to_string())
        .ignore()
        .lpush(message.queue_key(), message.to_json()?)
        .ignore();
    state.store().call(pipe.query_async::<()>(&mut conn)).await?;
    let mut headers = HeaderMap::new();
    headers.insert(
        LOCATION,
        HeaderValue::from_str(&format!("/tasks/{}", message.id())).map_err(|e| ApiError::Internal(e.to_string()))?,
    );
    Ok((StatusCode::CREATED, headers, Json(json!({"task_id": message.id(), "retry_of": task_id}))))
}

/// Empties the queue; the tasks it held are marked REVOKED.
#[utoipa::path(
    delete, path = "/queue", tag = "tasks",
    responses((status = 200, description = "How many queued tasks were removed", body = Object), (status = 503, description = "Redis unavailable", body = HttpError))
)]
pub async fn purge(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    static SCRIPT: std::sync::OnceLock<Script> = std::sync::OnceLock::new();
    let script = SCRIPT.get_or_init(|| Script::new(include_str!("lua/purge.lua")));
    let mut invocation = script.prepare_invoke();
    for key in taskq::queue::keys_of(QUEUE) {
        invocation.key(key);
    }
    let mut conn = state.store().connection();
    let taken: Vec<String> = state.store().call(invocation.invoke_async(&mut conn)).await?;
    let error = taskq::ExceptionInfo::new("celery.exceptions", "TaskRevokedError", "purged");
    let mut pipe = redis::pipe();
    for id in taken.iter().filter_map(|payload| TaskMessage::decode(payload).ok()).map(|m| m.id().to_string()) {
        let meta = taskq::ResultMeta::new(&id, taskq::TaskState::Revoked, json!(error), None, None);
        let json = taskq::pyjson::to_string(&meta).map_err(|e| ApiError::Internal(e.to_string()))?;
        pipe.set_ex(taskq::result_key(&id), json, 86_400).ignore();
    }
    if !pipe.is_empty() {
        state.store().call(pipe.query_async::<()>(&mut conn)).await?;
    }
    tracing::info!(purged = taken.len(), "queue purged");
    Ok(Json(json!({"queue": QUEUE, "purged": taken.len()})))
}

/// A worker as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WorkerView {
    /// Its node name.
    pub hostname: String,
    /// Whether it sent a heartbeat recently (and no `worker-offline` since).
    pub online: bool,
    /// Its last event (`worker-online`, `worker-heartbeat`, `worker-offline`).
    pub last_event: String,
    /// When (epoch seconds).
    pub last_seen: f64,
    /// Tasks running, per its last heartbeat.
    pub active: u64,
    /// Tasks processed, per its last heartbeat.
    pub processed: u64,
    /// `stackdesk` or `py-celery`.
    pub sw_ident: Option<String>,
    /// Its answer to `stats` (when online and answering).
    #[schema(value_type = Option<Object>)]
    pub stats: Option<Value>,
}

/// Workers seen on this Redis (ours and Python ones), from their heartbeats and `stats`.
#[utoipa::path(get, path = "/workers", tag = "tasks", responses((status = 200, description = "Workers, by name", body = Vec<WorkerView>)))]
pub async fn workers(State(state): State<AppState>) -> ApiResult<Json<Vec<WorkerView>>> {
    let mut conn = state.store().connection();
    let raw: Vec<(String, String)> =
        state.store().call(redis::cmd("HGETALL").arg(WORKERS_KEY).query_async(&mut conn)).await?;
    let now = taskq::time::epoch_now();
    let mut workers: Vec<WorkerView> = raw
        .into_iter()
        .filter_map(|(hostname, json)| {
            let event: Value = serde_json::from_str(&json).ok()?;
            let last_seen = event["timestamp"].as_f64().unwrap_or_default();
            let freq = event["freq"].as_f64().unwrap_or(2.0).max(1.0);
            let last_event = event["type"].as_str().unwrap_or_default().to_string();
            Some(WorkerView {
                online: last_event != "worker-offline" && now - last_seen < freq * 2.0 + 1.0,
                hostname,
                last_event,
                last_seen,
                active: event["active"].as_u64().unwrap_or_default(),
                processed: event["processed"].as_u64().unwrap_or_default(),
                sw_ident: event["sw_ident"].as_str().map(str::to_string),
                stats: None,
            })
        })
        .collect();
    workers.sort_by(|a, b| a.hostname.cmp(&b.hostname));
    let online: Vec<String> = workers.iter().filter(|w| w.online).map(|w| w.hostname.clone()).collect();
    if !online.is_empty() {
        let count = online.len();
        let replies = ControlClient::new(state.broker().clone())
            .broadcast("stats", Map::new(), Some(online), REPLY_WINDOW, Some(count))
            .await?;
        for (host, stats) in replies {
            if let Some(worker) = workers.iter_mut().find(|w| w.hostname == host) {
                worker.stats = Some(stats);
            }
        }
    }
    Ok(Json(workers))
}
