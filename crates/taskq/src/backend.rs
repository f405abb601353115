//! Celery's Redis result backend: `celery-task-meta-<id>` JSON strings.
//!
//! Writes go through one Lua script (see `lua/store_result.lua`) that keeps Celery's guard (a
//! SUCCESS is never overwritten), sets the TTL (`result_expires`), publishes the same JSON on the
//! key's channel so a waiting `AsyncResult.get()` wakes at once, and can acknowledge the message in
//! the same step.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::broker::Broker;
use crate::error::Result;
use crate::time;

/// The prefix of result keys (and of their pub/sub channels).
pub const RESULT_KEY_PREFIX: &str = "celery-task-meta-";

/// The key holding `task_id`'s result.
pub fn result_key(task_id: &str) -> String {
    format!("{RESULT_KEY_PREFIX}{task_id}")
}

/// Task states, as Celery names them. PENDING is never stored: a missing key means PENDING.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export_to = "TaskState.ts"))]
pub enum TaskState {
    /// Unknown to the backend (not yet received, or expired).
    Pending,
    /// Taken by a worker (known from events; Celery stores no RECEIVED result).
    Received,
    /// Running (stored when `track_started` is on).
    Started,
    /// Failed, and a retry is scheduled.
    Retry,
    /// Finished with a value.
    Success,
    /// Finished with an error, no retries left.
    Failure,
    /// Revoked or expired before running.
    Revoked,
}

impl TaskState {
    /// Every state, in the order a task goes through them.
    pub const ALL: [TaskState; 7] = [
        TaskState::Pending,
        TaskState::Received,
        TaskState::Started,
        TaskState::Retry,
        TaskState::Success,
        TaskState::Failure,
        TaskState::Revoked,
    ];

    /// The state's name as stored (`"SUCCESS"`).
    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::Pending => "PENDING",
            TaskState::Received => "RECEIVED",
            TaskState::Started => "STARTED",
            TaskState::Retry => "RETRY",
            TaskState::Success => "SUCCESS",
            TaskState::Failure => "FAILURE",
            TaskState::Revoked => "REVOKED",
        }
    }

    /// True for states after which nothing more happens (Celery's `READY_STATES`).
    pub fn is_ready(self) -> bool {
        matches!(self, TaskState::Success | TaskState::Failure | TaskState::Revoked)
    }
}

impl std::fmt::Display for TaskState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An exception as Celery's JSON backend stores it (`prepare_exception` for non-pickle serializers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExceptionInfo {
    /// The exception class's `__qualname__`, e.g. `RuntimeError`.
    pub exc_type: String,
    /// `list(exc.args)`.
    pub exc_message: Vec<Value>,
    /// The module of the class, e.g. `builtins`.
    pub exc_module: String,
}

impl ExceptionInfo {
    /// An exception `exc_module.exc_type(message)`.
    pub fn new(exc_module: &str, exc_type: &str, message: impl Into<String>) -> Self {
        Self {
            exc_type: exc_type.into(),
            exc_message: vec![Value::String(message.into())],
            exc_module: exc_module.into(),
        }
    }

    /// A `builtins.RuntimeError(message)`, what the seed raises for Telegram failures.
    pub fn runtime_error(message: impl Into<String>) -> Self {
        Self::new("builtins", "RuntimeError", message)
    }

    /// The first argument as text (what Python's `str(exc)` shows for one-argument exceptions).
    pub fn message(&self) -> String {
        match self.exc_message.first() {
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => String::new(),
        }
    }

    /// Python's `repr(exc)`, e.g. `RuntimeError('boom')`, as events carry it.
    pub fn repr(&self) -> String {
        let args: Vec<String> = self.exc_message.iter().map(crate::repr::repr).collect();
        format!("{}({})", self.exc_type, args.join(", "))
    }

    /// A traceback-shaped text for a failure raised by Rust code (there is no Python stack).
    pub fn traceback(&self, task: &str) -> String {
        format!(
            "Traceback (most recent call last):\n  Rust task {task:?} (stackdesk worker)\n{}: {}\n",
            self.exc_type,
            self.message()
        )
    }
}

/// A `celery-task-meta-<id>` payload, fields in Celery's `_get_result_meta` order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultMeta {
    /// The state.
    pub status: TaskState,
    /// The return value, the exception (as [`ExceptionInfo`] JSON), or `{pid, hostname}` for STARTED.
    pub result: Value,
    /// The traceback text for RETRY / FAILURE.
    pub traceback: Option<String>,
    /// Child results (a retry's own `[[id, null], null]` for RETRY).
    #[serde(default)]
    pub children: Vec<Value>,
    /// ISO time the task finished; null unless SUCCESS / FAILURE / REVOKED.
    pub date_done: Option<String>,
    /// Group of the task, when in one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    /// The publishing task (retried tasks carry their own id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    /// `result_extended` fields (`name`, `args`, `kwargs`, `worker`, `retries`, `queue`) and
    /// anything else, in the order found.
    #[serde(flatten)]
    pub extended: Map<String, Value>,
    /// The task id.
    pub task_id: String,
}

impl ResultMeta {
    /// The exception of a RETRY / FAILURE / REVOKED result.
    pub fn exception(&self) -> Option<ExceptionInfo> {
        serde_json::from_value(self.result.clone()).ok()
    }

    /// `retries` from the extended fields.
    pub fn retries(&self) -> Option<u64> {
        self.extended.get("retries").and_then(Value::as_u64)
    }

    /// `worker` (the host name) from the extended fields.
    pub fn worker(&self) -> Option<&str> {
        self.extended.get("worker").and_then(Value::as_str)
    }

    /// A REVOKED result, as Celery's `mark_as_revoked` stores it: `TaskRevokedError(reason)`.
    pub fn revoked(task_id: &str, reason: &str) -> Self {
        Self::revoked_with(task_id, reason, None)
    }

    /// [`ResultMeta::revoked`], with the request's extended fields.
    pub fn revoked_with(task_id: &str, reason: &str, request: Option<&RequestInfo<'_>>) -> Self {
        let error = ExceptionInfo::new("celery.exceptions", "TaskRevokedError", reason);
        Self::new(task_id, TaskState::Revoked, serde_json::json!(error), None, request)
    }
}

/// The task request fields `result_extended` adds to every stored result.
#[derive(Debug, Clone)]
pub struct RequestInfo<'a> {
    /// Task name.
    pub name: &'a str,
    /// Positional args.
    pub args: &'a [Value],
    /// Keyword args.
    pub kwargs: &'a Map<String, Value>,
    /// Worker host name.
    pub worker: &'a str,
    /// Retry count of this attempt.
    pub retries: u32,
    /// Queue (routing key).
    pub queue: &'a str,
    /// Parent task id.
    pub parent_id: Option<&'a str>,
    /// Group id.
    pub group_id: Option<&'a str>,
}

impl ResultMeta {
    /// A result for `task_id` in `status`, built as Celery's `_get_result_meta` does; `request`
    /// adds the extended fields.
    pub fn new(
        task_id: &str,
        status: TaskState,
        result: Value,
        traceback: Option<String>,
        request: Option<&RequestInfo<'_>>,
    ) -> Self {
        let mut extended = Map::new();
        if let Some(r) = request {
            extended.insert("name".into(), Value::String(r.name.into()));
            extended.insert("args".into(), Value::Array(r.args.to_vec()));
            extended.insert("kwargs".into(), Value::Object(r.kwargs.clone()));
            extended.insert("worker".into(), Value::String(r.worker.into()));
            extended.insert("retries".into(), Value::from(r.retries));
            extended.insert("queue".into(), Value::String(r.queue.into()));
        }
        Self {
            status,
            result,
            traceback,
            children: Vec::new(),
            date_done: status.is_ready().then(|| time::isoformat(chrono::Utc::now())),
            group_id: request.and_then(|r| r.group_id.map(str::to_string)),
            parent_id: request.and_then(|r| r.parent_id.map(str::to_string)),
            extended,
            task_id: task_id.into(),
        }
    }
}

/// One write of `lua/store_result.lua`: `meta_json` for `task_id` (nothing when empty), and the
/// acknowledgement of `ack`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StoreWrite<'a> {
    pub(crate) task_id: &'a str,
    pub(crate) meta_json: &'a str,
    pub(crate) ack: Option<&'a str>,
}

/// The call of `lua/store_result.lua` that applies `writes` in order, in one step; it answers one
/// 1 (stored) or 0 (a SUCCESS was there) per write.
pub(crate) fn store_invocation<'a>(
    broker: &'a Broker,
    writes: &[StoreWrite<'_>],
    ttl: Option<Duration>,
) -> redis::ScriptInvocation<'a> {
    let mut invocation = broker.scripts().store_result.prepare_invoke();
    invocation
        .key(crate::broker::UNACKED_KEY)
        .key(crate::broker::UNACKED_INDEX_KEY)
        .arg(ttl.map_or(0, |t| t.as_secs().max(1)));
    for write in writes {
        invocation.key(result_key(write.task_id)).arg(write.meta_json).arg(write.ack.unwrap_or(""));
    }
    invocation
}

/// Reads and writes results.
#[derive(Debug, Clone)]
pub struct ResultBackend {
    broker: Broker,
    /// `result_expires`: the TTL of stored results; `None` stores without expiry.
    expires: Option<Duration>,
}

impl ResultBackend {
    /// A backend on the broker's Redis (Celery's `result_backend` = `broker_url` setup).
    pub fn new(broker: Broker, expires: Option<Duration>) -> Self {
        Self { broker, expires }
    }

    /// Stores `meta` unless a SUCCESS is already stored; acknowledges `ack` in the same step.
    /// Returns whether it was stored.
    pub async fn store(&self, meta: &ResultMeta, ack: Option<&str>) -> Result<bool> {
        let json = crate::pyjson::to_string(meta)?;
        let mut conn = self.broker.connection();
        let write = StoreWrite { task_id: &meta.task_id, meta_json: &json, ack };
        let stored: Vec<i64> = store_invocation(&self.broker, &[write], self.expires).invoke_async(&mut conn).await?;
        Ok(stored == [1])
    }

    /// `result_expires`.
    pub fn expires(&self) -> Option<Duration> {
        self.expires
    }

    /// The stored result, or `None` (PENDING).
    pub async fn get(&self, task_id: &str) -> Result<Option<ResultMeta>> {
        let mut conn = self.broker.connection();
        let raw: Option<String> = redis::cmd("GET").arg(result_key(task_id)).query_async(&mut conn).await?;
        raw.map(|r| serde_json::from_str(&r).map_err(Into::into)).transpose()
    }

    /// The state of `task_id` (PENDING when nothing is stored).
    pub async fn state(&self, task_id: &str) -> Result<TaskState> {
        Ok(self.get(task_id).await?.map_or(TaskState::Pending, |m| m.status))
    }
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;
    use serde_json::json;
    use test_support::redis::RedisServer;

    use super::*;
    use crate::BrokerOptions;

    fn meta_json(task_id: &str, status: TaskState, result: Value) -> String {
        crate::pyjson::to_string(&ResultMeta::new(task_id, status, result, None, None)).unwrap()
    }

    /// A quick task's STARTED and SUCCESS in one call: a client on the result's channel is told
    /// of both, in order, but only SUCCESS is written; called again (a redelivery), the SUCCESS
    /// stays and nothing more is told.
    #[tokio::test]
    async fn a_state_the_same_call_replaces_is_announced_but_not_stored() {
        let server = RedisServer::start();
        let broker = Broker::connect(&server.url(), BrokerOptions::default()).await.unwrap();
        let client = redis::Client::open(server.url()).unwrap();
        let mut pubsub = client.get_async_pubsub().await.unwrap();
        pubsub.subscribe(result_key("t1")).await.unwrap();
        let mut told = pubsub.on_message();
        let started = meta_json("t1", TaskState::Started, json!({"pid": 1, "hostname": "w@h"}));
        let succeeded = meta_json("t1", TaskState::Success, json!(2.0));
        let writes = [
            StoreWrite { task_id: "t1", meta_json: &started, ack: None },
            StoreWrite { task_id: "t1", meta_json: &succeeded, ack: Some("tag-1") },
        ];
        let ttl = Some(Duration::from_secs(60));
        let mut conn = broker.connection();
        let setex_before = server.calls("setex");

        let stored: Vec<i64> = store_invocation(&broker, &writes, ttl).invoke_async(&mut conn).await.unwrap();
        assert_eq!(stored, [1, 1]);
        let mut heard = Vec::new();
        for _ in 0..2 {
            let message = tokio::time::timeout(Duration::from_secs(5), told.next()).await.unwrap().unwrap();
            heard.push(message.get_payload::<String>().unwrap());
        }
        assert_eq!(heard, [started.clone(), succeeded.clone()], "told of every state, in order");
        assert_eq!(server.calls("setex") - setex_before, 1, "only the final state is written");
        let key = result_key("t1");
        let (now, left): (String, i64) = redis::pipe().get(&key).ttl(&key).query_async(&mut conn).await.unwrap();
        assert_eq!(now, succeeded);
        assert!((1..=60).contains(&left), "the result keeps its TTL: {left}");

        let again: Vec<i64> = store_invocation(&broker, &writes, ttl).invoke_async(&mut conn).await.unwrap();
        assert_eq!(again, [0, 0], "a SUCCESS is never overwritten, not even by this call's own STARTED");
        assert_eq!(server.calls("setex") - setex_before, 1);
        // A marker published after the call: the next message the channel brings.
        let _: i64 = redis::cmd("PUBLISH").arg(&key).arg("marker").query_async(&mut conn).await.unwrap();
        let next = tokio::time::timeout(Duration::from_secs(5), told.next()).await.unwrap().unwrap();
        assert_eq!(next.get_payload::<String>().unwrap(), "marker", "nothing is told of writes that were skipped");
    }
}
