//! Task history in Redis, built from the protocol's own artifacts: Celery events (from our
//! workers and from Python workers started with `-E`), messages noticed in the queue, and
//! `celery-task-meta-<id>` results merged in when read. It survives restarts of the monitor, the
//! workers and (with persistence on) Redis, and is bounded: past the cap the oldest are trimmed.
//! Keys: [`layout::keys::TASKS`] and [`layout::keys::task`].

use std::sync::OnceLock;

use layout::keys;
use layout::record::{self, Record, Sent};
use redis::Script;
use redis::aio::ConnectionManager;
use serde_json::{Map, Value};
use taskq::{Event, EventKind, ResultMeta, TaskMessage, TaskState};
use web::{WebError, WebResult};

use crate::model::{TaskPage, TaskView};
use web::Db;

fn event_script() -> &'static Script {
    static SCRIPT: OnceLock<Script> = OnceLock::new();
    SCRIPT.get_or_init(|| Script::new(&layout::record::with_history_trim(include_str!("lua/history_event.lua"))))
}

fn notice_script() -> &'static Script {
    static SCRIPT: OnceLock<Script> = OnceLock::new();
    SCRIPT.get_or_init(|| Script::new(&layout::record::with_history_trim(include_str!("lua/notice.lua"))))
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

/// Applies a task event to the history; returns the updated record (`None` for events that are
/// not about a task).
pub async fn apply_event(
    conn: &mut ConnectionManager,
    event: &Event,
    history_max: usize,
) -> redis::RedisResult<Option<Record>> {
    let (Some(task_id), Some((state, fields))) = (event.uuid(), event_update(event)) else { return Ok(None) };
    let encoded: String = event_script()
        .key(keys::task(task_id))
        .key(keys::TASKS)
        .arg(task_id)
        .arg(state.map_or("", TaskState::as_str))
        .arg(event.timestamp.to_string())
        .arg(Value::Object(fields).to_string())
        .arg(history_max)
        .arg(keys::TASK_PREFIX)
        .invoke_async(conn)
        .await?;
    Ok(serde_json::from_str(&encoded).ok())
}

/// Records queued messages the history does not know yet as PENDING (with their arguments), and
/// fills in the arguments of known tasks that have only their repr; returns the ids it created.
/// `messages` are newest first (the queue's left end): each is dated a microsecond before the
/// one ahead of it, so the history keeps the queue's order.
pub async fn notice(
    conn: &mut ConnectionManager,
    messages: &[TaskMessage],
    seen_at: f64,
    history_max: usize,
) -> redis::RedisResult<Vec<String>> {
    if messages.is_empty() {
        return Ok(Vec::new());
    }
    let mut invocation = notice_script().key(keys::TASKS);
    invocation.arg(keys::TASK_PREFIX).arg(history_max);
    for (age, message) in messages.iter().enumerate() {
        let sent_at = seen_at - age as f64 * 1e-6;
        let sent = Sent {
            task_id: message.id(),
            name: message.task(),
            args: message.args(),
            product_id: None,
            sent_at,
            retry_of: None,
        };
        let args = serde_json::to_string(message.args()).unwrap_or_default();
        invocation.arg(message.id()).arg(record::noticed(&sent)).arg(sent_at).arg(args);
    }
    invocation.invoke_async(conn).await
}

/// Reads task views for `ids` (records and results in one round trip each).
pub async fn views(db: &Db, ids: &[String]) -> WebResult<Vec<Option<TaskView>>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut conn = db.conn();
    let record_keys: Vec<String> = ids.iter().map(|id| keys::task(id)).collect();
    let meta_keys: Vec<String> = ids.iter().map(|id| keys::result(id)).collect();
    let (records, metas): (Vec<Option<String>>, Vec<Option<String>>) =
        db.call(redis::pipe().cmd("MGET").arg(&record_keys).cmd("MGET").arg(&meta_keys).query_async(&mut conn)).await?;
    Ok(ids
        .iter()
        .zip(records.into_iter().zip(metas))
        .map(|(id, (record, meta))| {
            let record: Option<Record> = record.and_then(|r| serde_json::from_str(&r).ok());
            let meta: Option<ResultMeta> = meta.and_then(|m| serde_json::from_str(&m).ok());
            TaskView::merge(id, record, meta.as_ref())
        })
        .collect())
}

/// The view of one task; 404 when it was never seen.
pub async fn find(db: &Db, task_id: &str) -> WebResult<TaskView> {
    views(db, &[task_id.to_string()])
        .await?
        .into_iter()
        .next()
        .flatten()
        .ok_or_else(|| WebError::NotFound(format!("Task {task_id} not found")))
}

/// Tasks sent before `before` (epoch seconds, exclusive), newest first, optionally only in `state`.
pub async fn page(db: &Db, state: Option<TaskState>, limit: usize, before: Option<f64>) -> WebResult<TaskPage> {
    let mut conn = db.conn();
    let mut tasks = Vec::new();
    let mut max = before.map_or_else(|| "+inf".to_string(), |b| format!("({b}"));
    let batch = (limit * 2).clamp(50, 1000);
    loop {
        let rows: Vec<(String, f64)> = db
            .call(
                redis::cmd("ZRANGE")
                    .arg(keys::TASKS)
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
        for ((_, score), view) in rows.iter().zip(views(db, &ids).await?) {
            let Some(view) = view else { continue };
            if state.is_none_or(|s| s == view.state) {
                tasks.push(view);
                if tasks.len() == limit {
                    return Ok(TaskPage { tasks, next_before: Some(*score) });
                }
            }
        }
        match rows.last() {
            Some((_, score)) if !exhausted => max = format!("({score}"),
            _ => return Ok(TaskPage { tasks, next_before: None }),
        }
    }
}
