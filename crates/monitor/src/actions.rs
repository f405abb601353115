//! What the monitor's controls do: revoke a task, send a finished one again, empty the queue, and
//! list the workers with their own `stats`.

use std::sync::OnceLock;

use layout::keys;
use layout::record::{self, Sent};
use redis::Script;
use serde_json::{Map, Value, json};
use taskq::control::ControlClient;
use taskq::{ResultMeta, SendOptions, TaskMessage, TaskState};
use web::{WebError, WebResult};

use crate::history;
use crate::model::{WorkerEventKind, WorkerView};
use crate::state::Monitor;

/// The workers' answers to a revoke.
pub type Replies = Map<String, Value>;

/// Revokes a task: no worker will start it (also those that start later); with `terminate` a
/// running one is stopped. A task not started yet is REVOKED at once, whether or not a worker
/// listens. 409 when it already finished.
pub async fn revoke(monitor: &Monitor, task_id: &str, terminate: bool) -> WebResult<Replies> {
    let redis = monitor.redis()?;
    let view = history::find(&redis.db, task_id).await?;
    if !view.can_revoke {
        return Err(WebError::Conflict(format!(
            "Task {task_id} already finished ({}); there is nothing to revoke",
            view.state
        )));
    }
    let mut conn = redis.db.conn();
    let expires = taskq::time::epoch_now() + monitor.options().revoke_keep.as_secs_f64();
    redis.db.call(redis::cmd("ZADD").arg(keys::REVOKED).arg(expires).arg(task_id).query_async::<()>(&mut conn)).await?;
    let mut args = Map::new();
    args.insert("task_id".into(), json!(task_id));
    args.insert("terminate".into(), json!(terminate));
    let window = monitor.options().reply_window;
    let replies = ControlClient::new(redis.broker.clone()).broadcast("revoke", args, None, window, None).await?;
    if matches!(view.state, TaskState::Pending | TaskState::Received | TaskState::Retry) {
        // No worker may be listening: the result says REVOKED now either way.
        let meta = ResultMeta::revoked(task_id, "revoked");
        taskq::ResultBackend::new(redis.broker.clone(), monitor.options().result_expires).store(&meta, None).await?;
    }
    Ok(replies.into_iter().collect())
}

fn retry_script() -> &'static Script {
    static SCRIPT: OnceLock<Script> = OnceLock::new();
    SCRIPT.get_or_init(|| Script::new(&layout::record::with_history_trim(include_str!("lua/retry.lua"))))
}

/// Sends a failed or revoked task again, as a new task with the same arguments, linked to the
/// old both ways; returns the new task's id. A task is retried once: 409 names the retry when it
/// already was.
pub async fn retry(monitor: &Monitor, task_id: &str) -> WebResult<String> {
    let redis = monitor.redis()?;
    let view = history::find(&redis.db, task_id).await?;
    if !matches!(view.state, TaskState::Failure | TaskState::Revoked) {
        return Err(WebError::Conflict(format!(
            "Task {task_id} is {}; only failed or revoked tasks can be retried",
            view.state
        )));
    }
    if let Some(retry) = &view.retried_as {
        return Err(WebError::Conflict(format!("Task {task_id} was already retried as {retry}")));
    }
    let (Some(name), Value::Array(args)) = (view.name.clone(), view.args.clone()) else {
        return Err(WebError::Conflict(format!(
            "Task {task_id}'s name or arguments were not recorded, so it cannot be sent again"
        )));
    };
    let message = TaskMessage::new(&name, args, Map::new(), &SendOptions::default());
    let sent_at = taskq::time::epoch_now();
    let sent = Sent {
        task_id: message.id(),
        name: &name,
        args: message.args(),
        product_id: view.product_id,
        sent_at,
        retry_of: Some(task_id),
    };
    let mut invocation = retry_script().prepare_invoke();
    invocation
        .key(keys::task(task_id))
        .key(keys::task(message.id()))
        .key(keys::TASKS)
        .key(message.queue_key())
        .arg(task_id)
        .arg(message.id())
        .arg(record::pending(&sent))
        .arg(sent_at)
        .arg(message.to_json()?)
        .arg(monitor.options().history_max)
        .arg(keys::TASK_PREFIX);
    let mut conn = redis.db.conn();
    let (sent, id): (i64, String) = redis.db.call(invocation.invoke_async(&mut conn)).await?;
    if sent == 0 {
        return Err(WebError::Conflict(format!("Task {task_id} was already retried as {id}")));
    }
    tracing::info!(task_id, retry = %id, "task sent again");
    Ok(id)
}

fn purge_script() -> &'static Script {
    static SCRIPT: OnceLock<Script> = OnceLock::new();
    SCRIPT.get_or_init(|| Script::new(include_str!("lua/purge.lua")))
}

/// Empties the queue; the tasks it held are marked REVOKED. Returns how many were removed.
pub async fn purge(monitor: &Monitor) -> WebResult<usize> {
    let redis = monitor.redis()?;
    let mut invocation = purge_script().prepare_invoke();
    for key in taskq::queue::keys_of(keys::QUEUE) {
        invocation.key(key);
    }
    let mut conn = redis.db.conn();
    let taken: Vec<String> = redis.db.call(invocation.invoke_async(&mut conn)).await?;
    // Stored as Celery stores any result: its TTL, the SUCCESS guard, and published for waiters.
    let backend = taskq::ResultBackend::new(redis.broker.clone(), monitor.options().result_expires);
    for id in taken.iter().filter_map(|payload| TaskMessage::decode(payload).ok()).map(|m| m.id().to_string()) {
        let revoked = ResultMeta::revoked(&id, "purged");
        let stored = backend.store(&revoked, None);
        let deadline = monitor.options().redis_timeout;
        tokio::time::timeout(deadline, stored)
            .await
            .map_err(|_| WebError::Unavailable(format!("no answer within {deadline:?}")))??;
    }
    tracing::info!(purged = taken.len(), "queue purged");
    Ok(taken.len())
}

/// Workers seen on this Redis (ours and Python ones), from their heartbeats and `stats`.
pub async fn workers(monitor: &Monitor) -> WebResult<Vec<WorkerView>> {
    let redis = monitor.redis()?;
    let mut conn = redis.db.conn();
    let raw: Vec<(String, String)> =
        redis.db.call(redis::cmd("HGETALL").arg(keys::WORKERS).query_async(&mut conn)).await?;
    let now = taskq::time::epoch_now();
    let mut workers: Vec<WorkerView> = raw
        .into_iter()
        .filter_map(|(hostname, json)| {
            let event: Value = serde_json::from_str(&json).ok()?;
            let last_event: WorkerEventKind = serde_json::from_value(event["type"].clone()).ok()?;
            let last_seen = event["timestamp"].as_f64().unwrap_or_default();
            let freq = event["freq"].as_f64().unwrap_or(2.0).max(1.0);
            Some(WorkerView {
                online: last_event != WorkerEventKind::WorkerOffline && now - last_seen < freq * 2.0 + 1.0,
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
        let window = monitor.options().reply_window;
        let replies = ControlClient::new(redis.broker.clone())
            .broadcast("stats", Map::new(), Some(online), window, Some(count))
            .await?;
        for (host, stats) in replies {
            if let Some(worker) = workers.iter_mut().find(|w| w.hostname == host) {
                worker.stats = Some(stats);
            }
        }
    }
    Ok(workers)
}
