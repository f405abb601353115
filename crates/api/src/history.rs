//! Task history, built from the protocol's own artifacts: Celery events (from our workers and
//! from Python workers started with `-E`) and `celery-task-meta-<id>` results. It lives in Redis,
//! so it survives restarts of the API, the workers and (with persistence on) Redis itself, and is
//! bounded: past `TASK_HISTORY_MAX` tasks the oldest are trimmed.
//!
//! | key | type | holds |
//! |---|---|---|
//! | `stackdesk:tasks` | zset | task ids scored by when they were first seen (sent) |
//! | `stackdesk:task:<id>` | string | the task's record (JSON): state, timeline, worker, errors |

use std::time::Duration;

use redis::Script;
use redis::aio::ConnectionManager;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use taskq::{Event, EventKind, ResultMeta, TaskMessage, TaskState};

use crate::error::ApiResult;
use crate::store::Store;

/// Task ids, scored by first-seen time.
pub const TASKS_KEY: &str = "stackdesk:tasks";
/// Prefix of task records.
pub const RECORD_PREFIX: &str = "stackdesk:task:";

/// The key of task `id`'s record.
pub fn record_key(task_id: &str) -> String {
    format!("{RECORD_PREFIX}{task_id}")
}

fn event_script() -> &'static Script {
    static SCRIPT: std::sync::OnceLock<Script> = std::sync::OnceLock::new();
    SCRIPT.get_or_init(|| Script::new(include_str!("lua/history_event.lua")))
}

/// A task's record as stored (what events told us).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The task id.
    pub task_id: String,
    /// The latest state.
    #[serde(default)]
    pub state: Option<String>,
    /// The task name.
    #[serde(default)]
    pub name: Option<String>,
    /// Positional args as JSON text (known when the API sent the task).
    #[serde(default)]
    pub args_json: Option<String>,
    /// Positional args as Python repr (from `task-received`).
    #[serde(default)]
    pub args_repr: Option<String>,
    /// Retries so far.
    #[serde(default)]
    pub retries: u32,
    /// The last worker that reported on it.
    #[serde(default)]
    pub worker: Option<String>,
    /// The product it notifies about.
    #[serde(default)]
    pub product_id: Option<u64>,
    /// When it was first seen (epoch seconds).
    #[serde(default, deserialize_with = "seconds")]
    pub sent_at: f64,
    /// Run time of the successful attempt (seconds).
    #[serde(default)]
    pub runtime: Option<f64>,
    /// The result's repr (from `task-succeeded`).
    #[serde(default)]
    pub result_repr: Option<String>,
    /// The last exception's repr (from `task-failed` / `task-retried`).
    #[serde(default)]
    pub exception: Option<String>,
    /// The last traceback.
    #[serde(default)]
    pub traceback: Option<String>,
    /// Every state reached, in time order.
    #[serde(default, deserialize_with = "timeline_or_empty")]
    pub timeline: Vec<Step>,
    /// The task this one retries (`POST /tasks/{id}/retry`).
    #[serde(default)]
    pub retry_of: Option<String>,
    /// The task that retried this one.
    #[serde(default)]
    pub retried_as: Option<String>,
}

/// Lua's cjson writes an empty list as `{}`; read that as empty.
fn timeline_or_empty<'de, D: serde::Deserializer<'de>>(de: D) -> Result<Vec<Step>, D::Error> {
    Ok(match Value::deserialize(de)? {
        Value::Array(items) => items.into_iter().filter_map(|i| serde_json::from_value(i).ok()).collect(),
        _ => Vec::new(),
    })
}

/// One state reached.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// The state.
    pub state: String,
    /// When (epoch seconds).
    #[serde(deserialize_with = "seconds")]
    pub at: f64,
    /// The worker that reported it.
    #[serde(default)]
    pub worker: Option<String>,
    /// RECEIVED only: when the delivered message may start (epoch seconds), from the
    /// `task-received` event's `eta`. A retry is received at once and waits in the worker until
    /// then; meanwhile the result backend still says RETRY.
    #[serde(default, deserialize_with = "optional_seconds", skip_serializing_if = "Option::is_none")]
    pub eta: Option<f64>,
}

/// Epoch seconds, stored as a string to keep every digit (see `lua/history_event.lua`); numbers
/// are accepted too.
fn seconds<'de, D: serde::Deserializer<'de>>(de: D) -> Result<f64, D::Error> {
    match Value::deserialize(de)? {
        Value::String(text) => text.parse().map_err(serde::de::Error::custom),
        Value::Number(n) => Ok(n.as_f64().unwrap_or_default()),
        _ => Ok(0.0),
    }
}

/// Optional epoch seconds (see [`seconds`]); anything else is none.
fn optional_seconds<'de, D: serde::Deserializer<'de>>(de: D) -> Result<Option<f64>, D::Error> {
    Ok(match Value::deserialize(de)? {
        Value::String(text) => text.parse().ok(),
        Value::Number(n) => n.as_f64(),
        _ => None,
    })
}

/// A `task-received` event's `eta` as epoch seconds. Ours and Python Celery's send ISO-8601 text
/// (`req.eta.isoformat()`, with its offset); kombu's JSON writes a bare `datetime` as
/// `{"__type__": "datetime", "__value__": "<ISO>"}`, which is read too.
pub fn eta_seconds(value: &Value) -> Option<f64> {
    let text = match value {
        Value::String(text) => text.as_str(),
        Value::Object(map) if map.get("__type__").and_then(Value::as_str) == Some("datetime") => {
            map.get("__value__")?.as_str()?
        }
        _ => return None,
    };
    let at = taskq::time::parse_iso(text)?;
    Some(at.timestamp_micros() as f64 / 1e6)
}

/// The record written when the API sends a task: PENDING, with the args as JSON.
pub fn pending_record(message: &TaskMessage, product_id: Option<u64>, sent_at: f64, retry_of: Option<&str>) -> String {
    json!({
        "retry_of": retry_of,
        "task_id": message.id(),
        "state": "PENDING",
        "state_at": sent_at.to_string(),
        "name": message.task(),
        "args_json": serde_json::to_string(message.args()).unwrap_or_default(),
        "retries": 0,
        "product_id": product_id,
        "sent_at": sent_at.to_string(),
        "timeline": [{"state": "PENDING", "at": sent_at.to_string()}],
    })
    .to_string()
}

/// The state and fields a task event contributes, or `None` for events that are not about tasks.
pub fn event_update(event: &Event) -> Option<(Option<TaskState>, Map<String, Value>)> {
    let mut fields = Map::new();
    let mut copy = |from: &str, to: &str| {
        if let Some(value) = event.get(from).filter(|v| !v.is_null()) {
            fields.insert(to.into(), value.clone());
        }
    };
    let state = match event.kind {
        EventKind::TaskSent => {
            copy("name", "name");
            copy("args", "args_repr");
            copy("retries", "retries");
            Some(TaskState::Pending)
        }
        EventKind::TaskReceived => {
            copy("name", "name");
            copy("args", "args_repr");
            copy("retries", "retries");
            // Always present, so that the script knows a delivery without one (null).
            let eta = event.get("eta").and_then(eta_seconds);
            fields.insert("eta".into(), eta.map_or(Value::Null, |at| Value::String(at.to_string())));
            Some(TaskState::Received)
        }
        EventKind::TaskStarted => Some(TaskState::Started),
        EventKind::TaskSucceeded => {
            copy("result", "result_repr");
            copy("runtime", "runtime");
            Some(TaskState::Success)
        }
        EventKind::TaskFailed => {
            copy("exception", "exception");
            copy("traceback", "traceback");
            Some(TaskState::Failure)
        }
        EventKind::TaskRetried => {
            copy("exception", "exception");
            copy("traceback", "traceback");
            Some(TaskState::Retry)
        }
        EventKind::TaskRevoked => Some(TaskState::Revoked),
        EventKind::TaskRejected => None,
        _ => return None,
    };
    if event.kind != EventKind::TaskSent {
        fields.insert("worker".into(), Value::String(event.hostname.clone()));
    }
    Some((state, fields))
}

/// Applies a task event to the history; returns the updated record.
pub async fn apply_event(
    conn: &mut ConnectionManager,
    event: &Event,
    history_max: usize,
) -> redis::RedisResult<Option<Record>> {
    let (Some(task_id), Some((state, fields))) = (event.uuid(), event_update(event)) else { return Ok(None) };
    let encoded: String = event_script()
        .key(record_key(task_id))
        .key(TASKS_KEY)
        .arg(task_id)
        .arg(state.map_or("", TaskState::as_str))
        .arg(event.timestamp.to_string())
        .arg(Value::Object(fields).to_string())
        .arg(history_max)
        .arg(RECORD_PREFIX)
        .invoke_async(conn)
        .await?;
    Ok(serde_json::from_str(&encoded).ok())
}

/// A task as the API shows it: the history record merged with the stored result.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TaskView {
    /// The task id.
    pub task_id: String,
    /// The task name.
    pub name: Option<String>,
    /// PENDING, RECEIVED, STARTED, RETRY, SUCCESS, FAILURE or REVOKED.
    pub state: String,
    /// Positional arguments (JSON when known, else Python's repr).
    #[schema(value_type = Object)]
    pub args: Value,
    /// The return value (SUCCESS only).
    #[schema(value_type = Object)]
    pub result: Value,
    /// Why it failed (FAILURE, RETRY, REVOKED).
    pub error: Option<TaskErrorView>,
    /// Retries so far.
    pub retries: u32,
    /// The worker that ran it.
    pub worker: Option<String>,
    /// The product it is about.
    pub product_id: Option<u64>,
    /// Run time of the successful attempt, in seconds.
    pub runtime: Option<f64>,
    /// When it was sent (ISO-8601).
    pub sent_at: Option<String>,
    /// When it finished (ISO-8601), from the result.
    pub date_done: Option<String>,
    /// Every state reached, in order, with its time.
    pub timeline: Vec<StepView>,
    /// When the latest delivery may start (ISO-8601), from its `task-received` event: a retry's
    /// message is received at once and waits in the worker until then (its countdown), while the
    /// result backend still says RETRY. Null when that delivery had no `eta`.
    pub eta: Option<String>,
    /// The task this one retries.
    pub retry_of: Option<String>,
    /// The task that retried this one.
    pub retried_as: Option<String>,
}

/// An error of a task.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TaskErrorView {
    /// The exception type, e.g. `RuntimeError`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The message.
    pub message: String,
    /// The traceback text.
    pub traceback: Option<String>,
}

/// A state reached.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct StepView {
    /// The state.
    pub state: String,
    /// When (ISO-8601).
    pub at: String,
    /// The worker that reported it.
    pub worker: Option<String>,
    /// RECEIVED only, when the message had one: when it may start (ISO-8601; a retry's countdown
    /// ends then). Absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eta: Option<String>,
}

fn iso(epoch: f64) -> Option<String> {
    let micros = (epoch * 1e6).round() as i64;
    chrono::DateTime::from_timestamp_micros(micros).map(taskq::time::isoformat)
}

/// Merges a record and a stored result into the view; `None` when neither exists.
pub fn view(task_id: &str, record: Option<Record>, meta: Option<&ResultMeta>) -> Option<TaskView> {
    if record.is_none() && meta.is_none() {
        return None;
    }
    let record = record.unwrap_or_else(|| Record { task_id: task_id.into(), ..Record::default() });
    let history_state = record.state.clone().unwrap_or_else(|| "PENDING".into());
    let history_ready = matches!(history_state.as_str(), "SUCCESS" | "FAILURE" | "REVOKED");
    let state = match &meta {
        // The result is authoritative once it is final, or when events were missed.
        Some(meta)
            if meta.status.is_ready() || record.state.is_none() || (!history_ready && history_state == "PENDING") =>
        {
            meta.status.as_str().to_string()
        }
        _ => history_state,
    };
    let args = record
        .args_json
        .as_deref()
        .and_then(|j| serde_json::from_str(j).ok())
        .or_else(|| meta.and_then(|m| m.extended.get("args").cloned()))
        .or_else(|| record.args_repr.clone().map(Value::String))
        .unwrap_or(Value::Null);
    let result = match &meta {
        Some(m) if state == "SUCCESS" && m.status == TaskState::Success => m.result.clone(),
        _ if state == "SUCCESS" => record.result_repr.clone().map_or(Value::Null, Value::String),
        _ => Value::Null,
    };
    let error = if matches!(state.as_str(), "FAILURE" | "RETRY" | "REVOKED") {
        let from_meta = meta.and_then(|m| m.exception().map(|e| (e, m.traceback.clone())));
        match from_meta {
            Some((exception, traceback)) => {
                Some(TaskErrorView { kind: exception.exc_type.clone(), message: exception.message(), traceback })
            }
            None => record.exception.clone().map(|repr| TaskErrorView {
                kind: repr.split('(').next().unwrap_or("Error").to_string(),
                message: repr,
                traceback: record.traceback.clone(),
            }),
        }
    } else {
        None
    };
    let meta_retries = meta.and_then(ResultMeta::retries).unwrap_or(0) as u32;
    Some(TaskView {
        task_id: task_id.into(),
        name: record
            .name
            .clone()
            .or_else(|| meta.as_ref().and_then(|m| m.extended.get("name").and_then(Value::as_str).map(str::to_string))),
        state,
        args,
        result,
        error,
        retries: record.retries.max(meta_retries),
        worker: meta.and_then(|m| m.worker().map(str::to_string)).or(record.worker.clone()),
        product_id: record.product_id,
        runtime: record.runtime,
        sent_at: (record.sent_at > 0.0).then(|| iso(record.sent_at)).flatten(),
        date_done: meta.and_then(|m| m.date_done.clone()),
        timeline: record
            .timeline
            .iter()
            .filter_map(|s| {
                Some(StepView {
                    state: s.state.clone(),
                    at: iso(s.at)?,
                    worker: s.worker.clone(),
                    eta: s.eta.and_then(iso),
                })
            })
            .collect(),
        eta: record.timeline.iter().rev().find(|s| s.state == "RECEIVED").and_then(|s| s.eta).and_then(iso),
        retry_of: record.retry_of.clone(),
        retried_as: record.retried_as.clone(),
    })
}

/// Reads task views for `ids` (records and results in one round trip each).
pub async fn views(store: &Store, ids: &[String]) -> ApiResult<Vec<Option<TaskView>>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut conn = store.connection();
    let record_keys: Vec<String> = ids.iter().map(|id| record_key(id)).collect();
    let meta_keys: Vec<String> = ids.iter().map(|id| taskq::result_key(id)).collect();
    let (records, metas): (Vec<Option<String>>, Vec<Option<String>>) = store
        .call(redis::pipe().cmd("MGET").arg(&record_keys).cmd("MGET").arg(&meta_keys).query_async(&mut conn))
        .await?;
    Ok(ids
        .iter()
        .zip(records.into_iter().zip(metas))
        .map(|(id, (record, meta))| {
            let record = record.and_then(|r| serde_json::from_str(&r).ok());
            let meta: Option<ResultMeta> = meta.and_then(|m| serde_json::from_str(&m).ok());
            view(id, record, meta.as_ref())
        })
        .collect())
}

/// The view of one task; 404 when it was never seen.
pub async fn find(store: &Store, task_id: &str) -> ApiResult<TaskView> {
    views(store, &[task_id.to_string()])
        .await?
        .into_iter()
        .next()
        .flatten()
        .ok_or_else(|| crate::error::ApiError::NotFound(format!("Task {task_id} not found")))
}

/// One page of history, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TaskPage {
    /// The tasks.
    pub tasks: Vec<TaskView>,
    /// Pass as `before` to get the next page; null on the last page.
    pub next_before: Option<f64>,
}

/// Tasks sent before `before` (epoch seconds, exclusive), newest first, optionally only in `state`.
pub async fn page(store: &Store, state: Option<&str>, limit: usize, before: Option<f64>) -> ApiResult<TaskPage> {
    let mut conn = store.connection();
    let mut tasks = Vec::new();
    let mut max = before.map_or_else(|| "+inf".to_string(), |b| format!("({b}"));
    let batch = (limit * 2).clamp(50, 1000);
    loop {
        let rows: Vec<(String, f64)> = store
            .call(
                redis::cmd("ZRANGE")
                    .arg(TASKS_KEY)
                    .arg(&max)
                    .arg("-inf")
                    .arg("BYSCORE")
                    .arg("REV")
                    .arg("LIMIT")
                    .arg(0)
                    .arg(batch)
                    .arg("WITHSCORES")
                    .query_async(&mut conn),
            )
            .await?;
        let exhausted = rows.len() < batch;
        let ids: Vec<String> = rows.iter().map(|(id, _)| id.clone()).collect();
        for ((_, score), view) in rows.iter().zip(views(store, &ids).await?) {
            let Some(view) = view else { continue };
            if state.is_none_or(|s| s == view.state) {
                tasks.push((view, *score));
                if tasks.len() == limit {
                    let next = Some(*score);
                    return Ok(TaskPage { tasks: tasks.into_iter().map(|(v, _)| v).collect(), next_before: next });
                }
            }
        }
        match rows.last() {
            Some((_, score)) if !exhausted => max = format!("({score}"),
            _ => return Ok(TaskPage { tasks: tasks.into_iter().map(|(v, _)| v).collect(), next_before: None }),
        }
    }
}

/// How long the recorder waits before reconnecting after losing the event stream.
pub const RECONNECT_DELAY: Duration = Duration::from_secs(1);
