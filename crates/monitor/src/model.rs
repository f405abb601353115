//! What the monitor answers and streams: tasks as a history record merged with their stored
//! result, workers, queue depths, and the live feed's events. Pure data, no Redis.

use layout::{Product, Record};
use serde::Serialize;
use serde_json::Value;
use taskq::{ResultMeta, TaskState};
use ts_rs::TS;

/// The schema of a [`TaskState`]: one of Celery's state names.
pub fn task_state() -> utoipa::openapi::schema::Object {
    web::schema::one_of_names(TaskState::ALL.iter().map(|s| s.as_str()))
}

/// The `state` query parameter's type in the OpenAPI document (one of Celery's state names).
pub struct StateName;

impl utoipa::PartialSchema for StateName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::RefOr::T(task_state().into())
    }
}

impl utoipa::ToSchema for StateName {}

/// A task as the monitor shows it: the history record merged with the stored result.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema, TS)]
#[ts(export_to = "TaskView.ts")]
pub struct TaskView {
    /// The task id.
    pub task_id: String,
    /// The task name.
    pub name: Option<String>,
    /// PENDING, RECEIVED, STARTED, RETRY, SUCCESS, FAILURE or REVOKED.
    #[schema(schema_with = task_state)]
    pub state: TaskState,
    /// Positional arguments: as sent when known (from the message or the result), else read back
    /// from the repr Celery's events carry, else that repr as text (when it was cut or holds
    /// objects).
    #[schema(schema_with = web::schema::any_value)]
    #[ts(type = "unknown")]
    pub args: Value,
    /// The return value (SUCCESS only).
    #[schema(schema_with = web::schema::any_value)]
    #[ts(type = "unknown")]
    pub result: Value,
    /// Why it failed (FAILURE, RETRY, REVOKED).
    pub error: Option<TaskErrorView>,
    /// Retries so far.
    pub retries: u32,
    /// The worker that ran it.
    pub worker: Option<String>,
    /// The product it is about: recorded by the API that sent it, else the `id` of its first
    /// argument when that is an object with a whole-number `id` (the notification task's product).
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
    /// Whether nothing more happens to it (SUCCESS, FAILURE, REVOKED).
    pub finished: bool,
    /// Whether `POST /tasks/{id}/revoke` would take it (it has not finished).
    pub can_revoke: bool,
    /// Whether `POST /tasks/{id}/retry` would send it again: failed or revoked, not retried yet,
    /// its name and arguments known.
    pub can_retry: bool,
}

impl TaskView {
    /// Fills in what the controls may do with it, from its state and record.
    fn with_controls(mut self) -> Self {
        self.finished = self.state.is_ready();
        self.can_revoke = !self.finished;
        self.can_retry = matches!(self.state, TaskState::Failure | TaskState::Revoked)
            && self.retried_as.is_none()
            && self.name.is_some()
            && self.args.is_array();
        self
    }
}

/// An error of a task.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema, TS)]
#[ts(export_to = "TaskErrorView.ts")]
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
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema, TS)]
#[ts(export_to = "StepView.ts")]
pub struct StepView {
    /// The state.
    #[schema(schema_with = task_state)]
    pub state: TaskState,
    /// When (ISO-8601).
    pub at: String,
    /// The worker that reported it.
    pub worker: Option<String>,
    /// RECEIVED only, when the message had one: when it may start (ISO-8601; a retry's countdown
    /// ends then). Absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub eta: Option<String>,
}

/// One page of history, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema, TS)]
#[ts(export_to = "TaskPage.ts")]
pub struct TaskPage {
    /// The tasks.
    pub tasks: Vec<TaskView>,
    /// Pass as `before` to get the next page; null on the last page.
    pub next_before: Option<f64>,
}

/// A worker as the monitor shows it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema, TS)]
#[ts(export_to = "WorkerView.ts")]
pub struct WorkerView {
    /// Its node name.
    pub hostname: String,
    /// Whether it sent a heartbeat recently (and no `worker-offline` since).
    pub online: bool,
    /// Its last event.
    pub last_event: WorkerEventKind,
    /// When (epoch seconds).
    pub last_seen: f64,
    /// Tasks running, per its last heartbeat.
    pub active: u64,
    /// Tasks processed, per its last heartbeat.
    pub processed: u64,
    /// `stackdesk` or `py-celery`.
    pub sw_ident: Option<String>,
    /// Its answer to Celery's `stats` (`prefetch_count`, `pool['max-concurrency']`, …), when online
    /// and answering.
    #[schema(value_type = Option<Object>)]
    #[ts(type = "Record<string, unknown> | null")]
    pub stats: Option<Value>,
}

/// The worker events the monitor follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema, TS)]
#[serde(rename_all = "kebab-case")]
#[ts(export_to = "WorkerEventKind.ts")]
pub enum WorkerEventKind {
    /// `worker-online`.
    WorkerOnline,
    /// `worker-heartbeat`.
    WorkerHeartbeat,
    /// `worker-offline`.
    WorkerOffline,
}

impl WorkerEventKind {
    /// The kind of a Celery event, when it is a worker event.
    pub fn of(kind: &taskq::EventKind) -> Option<Self> {
        match kind {
            taskq::EventKind::WorkerOnline => Some(Self::WorkerOnline),
            taskq::EventKind::WorkerHeartbeat => Some(Self::WorkerHeartbeat),
            taskq::EventKind::WorkerOffline => Some(Self::WorkerOffline),
            _ => None,
        }
    }
}

/// A worker event on the live feed.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export_to = "WorkerEvent.ts")]
pub struct WorkerEvent {
    /// Which event.
    #[serde(rename = "type")]
    pub kind: WorkerEventKind,
    /// The worker's node name.
    pub hostname: String,
    /// Tasks running.
    #[ts(type = "number | null")]
    pub active: Value,
    /// Tasks processed.
    #[ts(type = "number | null")]
    pub processed: Value,
    /// Heartbeat interval, in seconds.
    #[ts(type = "number | null")]
    pub freq: Value,
    /// When (epoch seconds).
    pub timestamp: f64,
    /// `stackdesk` or `py-celery`.
    #[ts(type = "string | null")]
    pub sw_ident: Value,
}

/// The queue's depth, on the live feed when it changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export_to = "QueueDepth.ts")]
pub struct QueueDepth {
    /// The queue.
    pub queue: String,
    /// Messages waiting (every priority).
    pub queued: u64,
    /// Messages taken by workers and not acknowledged yet.
    pub unacked: u64,
}

/// The names of the live feed's events (the SSE `event:` field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export_to = "LiveKind.ts")]
pub enum LiveKind {
    /// A task changed state.
    Task,
    /// A product was created.
    Product,
    /// A worker came online, beat or went offline.
    Worker,
    /// The queue's depth changed.
    Queue,
    /// This subscriber fell behind and missed events: reload.
    Lagged,
}

impl LiveKind {
    /// Every kind.
    pub const ALL: [LiveKind; 5] =
        [LiveKind::Task, LiveKind::Product, LiveKind::Worker, LiveKind::Queue, LiveKind::Lagged];

    /// The SSE event name.
    pub fn as_str(self) -> &'static str {
        match self {
            LiveKind::Task => "task",
            LiveKind::Product => "product",
            LiveKind::Worker => "worker",
            LiveKind::Queue => "queue",
            LiveKind::Lagged => "lagged",
        }
    }
}

/// One message of `/events` as a client reads it, for the OpenAPI document: its `event` name and
/// its `data`, the JSON text of the event (see [`LiveEvent`]).
#[derive(utoipa::ToSchema)]
pub struct SseMessage {
    /// The kind of event.
    #[schema(schema_with = live_kind)]
    pub event: LiveKind,
    /// The event's JSON.
    pub data: String,
}

fn live_kind() -> utoipa::openapi::schema::Object {
    web::schema::one_of_names(LiveKind::ALL.iter().map(|k| k.as_str()))
}

/// One event of the live feed.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(tag = "kind", content = "data", rename_all = "lowercase")]
#[ts(export_to = "LiveEvent.ts")]
pub enum LiveEvent {
    /// A task's view after a state change.
    Task(Box<TaskView>),
    /// A product just created.
    Product(Box<Product>),
    /// A worker event.
    Worker(Box<WorkerEvent>),
    /// The queue's depth.
    Queue(QueueDepth),
    /// Events this subscriber missed.
    Lagged {
        /// How many.
        missed: u64,
    },
}

impl LiveEvent {
    /// Its SSE event name.
    pub fn kind(&self) -> LiveKind {
        match self {
            LiveEvent::Task(_) => LiveKind::Task,
            LiveEvent::Product(_) => LiveKind::Product,
            LiveEvent::Worker(_) => LiveKind::Worker,
            LiveEvent::Queue(_) => LiveKind::Queue,
            LiveEvent::Lagged { .. } => LiveKind::Lagged,
        }
    }

    /// Its SSE data: the payload alone, as `/events` has always sent it.
    pub fn data(&self) -> String {
        let value = match self {
            LiveEvent::Task(view) => serde_json::to_value(view),
            LiveEvent::Product(product) => serde_json::to_value(product),
            LiveEvent::Worker(worker) => serde_json::to_value(worker),
            LiveEvent::Queue(depth) => serde_json::to_value(depth),
            LiveEvent::Lagged { missed } => Ok(serde_json::json!({ "missed": missed })),
        };
        value.map(|v| v.to_string()).unwrap_or_default()
    }
}

fn iso(epoch: f64) -> Option<String> {
    let micros = (epoch * 1e6).round() as i64;
    chrono::DateTime::from_timestamp_micros(micros).map(taskq::time::isoformat)
}

/// The product a task is about, when its first argument is an object with a whole-number `id`.
fn product_of(args: &Value) -> Option<u64> {
    args.as_array()?.first()?.as_object()?.get("id")?.as_u64()
}

impl TaskView {
    /// Merges a record and a stored result into the view; `None` when neither exists.
    pub fn merge(task_id: &str, record: Option<Record>, meta: Option<&ResultMeta>) -> Option<TaskView> {
        if record.is_none() && meta.is_none() {
            return None;
        }
        let record = record.unwrap_or_else(|| Record { task_id: task_id.into(), ..Record::default() });
        let history_state = record.state.unwrap_or(TaskState::Pending);
        let state = match &meta {
            // The result is authoritative once it is final, or when events were missed.
            Some(meta) if meta.status.is_ready() || record.state.is_none() || history_state == TaskState::Pending => {
                meta.status
            }
            _ => history_state,
        };
        let args = record
            .args_json
            .as_deref()
            .and_then(|j| serde_json::from_str(j).ok())
            .or_else(|| meta.and_then(|m| m.extended.get("args").cloned()))
            .or_else(|| record.args_repr.as_deref().and_then(taskq::repr::parse))
            .or_else(|| record.args_repr.clone().map(Value::String))
            .unwrap_or(Value::Null);
        let result = match &meta {
            Some(m) if state == TaskState::Success && m.status == TaskState::Success => m.result.clone(),
            _ if state == TaskState::Success => record.result_repr.clone().map_or(Value::Null, Value::String),
            _ => Value::Null,
        };
        let error = if matches!(state, TaskState::Failure | TaskState::Retry | TaskState::Revoked) {
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
        let name = record
            .name
            .clone()
            .or_else(|| meta.as_ref().and_then(|m| m.extended.get("name").and_then(Value::as_str).map(str::to_string)));
        Some(
            TaskView {
                task_id: task_id.into(),
                name,
                state,
                product_id: record.product_id.or_else(|| product_of(&args)),
                args,
                result,
                error,
                retries: record.retries.max(meta_retries),
                worker: meta.and_then(|m| m.worker().map(str::to_string)).or(record.worker.clone()),
                runtime: record.runtime,
                sent_at: (record.sent_at > 0.0).then(|| iso(record.sent_at)).flatten(),
                date_done: meta.and_then(|m| m.date_done.clone()),
                timeline: record
                    .timeline
                    .iter()
                    .filter_map(|s| {
                        Some(StepView {
                            state: s.state,
                            at: iso(s.at)?,
                            worker: s.worker.clone(),
                            eta: s.eta.and_then(iso),
                        })
                    })
                    .collect(),
                eta: record
                    .timeline
                    .iter()
                    .rev()
                    .find(|s| s.state == TaskState::Received)
                    .and_then(|s| s.eta)
                    .and_then(iso),
                retry_of: record.retry_of.clone(),
                retried_as: record.retried_as.clone(),
                finished: false,
                can_revoke: false,
                can_retry: false,
            }
            .with_controls(),
        )
    }
}
