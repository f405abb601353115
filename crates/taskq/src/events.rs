//! Celery events over Redis: the `celeryev` fanout.
//!
//! On Redis the event exchange is a fanout implemented with pub/sub: an event of type
//! `task-succeeded` is PUBLISHed on `/<db>.celeryev/task.succeeded` in kombu's envelope, its body the
//! event dict. [`EventDispatcher`] sends them from a background task that pipelines whatever is
//! queued, so sending never waits on Redis; [`EventReceiver`] reads them back, from our workers and
//! from Python ones (single events and `task.multi` batches alike).

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use futures_util::StreamExt as _;
use serde_json::{Map, Value};
use tokio::sync::{mpsc, oneshot};
use tokio_util::task::TaskTracker;

use crate::broker::Broker;
use crate::error::{DecodeError, Result};
use crate::message::{DeliveryInfo, Envelope, Properties, decode_body};
use crate::time;

/// The event exchange.
pub const EVENT_EXCHANGE: &str = "celeryev";
/// How often workers send `worker-heartbeat` (Celery's default `freq`).
pub const HEARTBEAT_FREQ_SECS: f64 = 2.0;
/// Events queued for publishing beyond this are dropped (with a warning) rather than growing memory.
const OUTBOX_CAPACITY: usize = 65_536;

/// The pub/sub channel of an event type: `/0.celeryev/task.succeeded`.
pub fn channel_for(db: i64, event_type: &str) -> String {
    format!("/{db}.{EVENT_EXCHANGE}/{}", event_type.replace('-', "."))
}

/// The pattern matching every event channel of a database.
pub fn all_events_pattern(db: i64) -> String {
    format!("/{db}.{EVENT_EXCHANGE}/*")
}

/// Celery's `utcoffset()`: hours *west* of UTC.
fn utcoffset() -> i64 {
    let east = chrono::Local::now().offset().local_minus_utc() as i64;
    (-east).div_euclid(3600)
}

enum Outgoing {
    Publish { channel: String, payload: String },
    Flush(oneshot::Sender<()>),
}

/// Sends events as one Celery node (a worker or a producer).
#[derive(Clone)]
pub struct EventDispatcher {
    inner: Arc<DispatcherInner>,
}

struct DispatcherInner {
    outbox: mpsc::Sender<Outgoing>,
    hostname: String,
    pid: u32,
    db: i64,
    /// Lamport clock: incremented for every event sent.
    clock: AtomicU64,
    /// Whether `task-*` events are sent (Celery's `-E`); worker events are always sent.
    task_events: AtomicBool,
}

impl std::fmt::Debug for EventDispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventDispatcher").field("hostname", &self.inner.hostname).finish_non_exhaustive()
    }
}

impl EventDispatcher {
    /// Starts a dispatcher for node `hostname`; its publishing task is owned by `tracker` and ends
    /// when the last clone of the dispatcher is dropped (after sending what was queued).
    pub fn start(broker: &Broker, hostname: &str, task_events: bool, tracker: &TaskTracker) -> Self {
        let (outbox, rx) = mpsc::channel(OUTBOX_CAPACITY);
        tracker.spawn(publish_loop(broker.clone(), rx));
        Self {
            inner: Arc::new(DispatcherInner {
                outbox,
                hostname: hostname.into(),
                pid: std::process::id(),
                db: broker.db(),
                clock: AtomicU64::new(0),
                task_events: AtomicBool::new(task_events),
            }),
        }
    }

    /// Turns `task-*` events on or off (what `enable_events` / `disable_events` do remotely).
    pub fn set_task_events(&self, enabled: bool) {
        self.inner.task_events.store(enabled, Ordering::Relaxed);
    }

    /// Whether `task-*` events are being sent.
    pub fn task_events(&self) -> bool {
        self.inner.task_events.load(Ordering::Relaxed)
    }

    /// The node name events are sent as.
    pub fn hostname(&self) -> &str {
        &self.inner.hostname
    }

    /// Queues event `event_type` with `fields` (in order) for publishing; never waits on Redis.
    /// `task-*` events are skipped while task events are off.
    pub fn send(&self, event_type: &str, fields: Map<String, Value>) {
        if event_type.starts_with("task-") && !self.task_events() {
            return;
        }
        match self.encode(event_type, fields) {
            Ok(outgoing) => {
                if self.inner.outbox.try_send(outgoing).is_err() {
                    tracing::warn!(event_type, "event dropped: the event outbox is full or closed");
                }
            }
            Err(err) => tracing::warn!(event_type, %err, "event could not be encoded"),
        }
    }

    /// Waits until everything sent so far is published.
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.inner.outbox.send(Outgoing::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }

    fn encode(&self, event_type: &str, fields: Map<String, Value>) -> Result<Outgoing> {
        let clock = self.inner.clock.fetch_add(1, Ordering::Relaxed) + 1;
        let mut body = Map::new();
        body.insert("hostname".into(), Value::String(self.inner.hostname.clone()));
        body.insert("utcoffset".into(), Value::from(utcoffset()));
        body.insert("pid".into(), Value::from(self.inner.pid));
        body.insert("clock".into(), Value::from(clock));
        body.extend(fields);
        body.insert("timestamp".into(), Value::from(time::epoch_now()));
        body.insert("type".into(), Value::String(event_type.into()));
        let routing_key = event_type.replace('-', ".");
        let mut headers = Map::new();
        headers.insert("hostname".into(), Value::String(self.inner.hostname.clone()));
        let properties = Properties {
            correlation_id: None,
            reply_to: None,
            delivery_mode: 1,
            expiration: None,
            delivery_info: DeliveryInfo { exchange: EVENT_EXCHANGE.into(), routing_key, extra: Map::new() },
            priority: 0,
            body_encoding: "base64".into(),
            delivery_tag: uuid::Uuid::new_v4().to_string(),
            extra: Map::new(),
        };
        let envelope = Envelope::for_payload(&body, headers, properties)?;
        Ok(Outgoing::Publish { channel: channel_for(self.inner.db, event_type), payload: envelope.to_json()? })
    }
}

async fn publish_loop(broker: Broker, mut rx: mpsc::Receiver<Outgoing>) {
    let mut batch = Vec::with_capacity(256);
    while rx.recv_many(&mut batch, 256).await > 0 {
        let mut pipe = redis::pipe();
        let mut flushes = Vec::new();
        for item in batch.drain(..) {
            match item {
                Outgoing::Publish { channel, payload } => {
                    pipe.publish(channel, payload).ignore();
                }
                Outgoing::Flush(done) => flushes.push(done),
            }
        }
        let mut conn = broker.connection();
        if !pipe.is_empty()
            && let Err(err) = pipe.query_async::<()>(&mut conn).await
        {
            tracing::warn!(%err, "could not publish events");
        }
        for done in flushes {
            let _ = done.send(());
        }
    }
}

/// Event types, typed where we act on them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// A worker came up.
    WorkerOnline,
    /// A worker is alive (every `freq` seconds).
    WorkerHeartbeat,
    /// A worker shut down.
    WorkerOffline,
    /// A producer sent a task (only with `task_send_sent_event`, and on retries).
    TaskSent,
    /// A worker took the task.
    TaskReceived,
    /// The task began running.
    TaskStarted,
    /// The task finished with a value.
    TaskSucceeded,
    /// The task finished with an error.
    TaskFailed,
    /// The task failed and will be retried.
    TaskRetried,
    /// The task was revoked (or expired).
    TaskRevoked,
    /// The worker rejected the message.
    TaskRejected,
    /// Any other type, kept as written.
    Other(String),
}

impl EventKind {
    /// Parses an event `type` field.
    pub fn parse(kind: &str) -> Self {
        match kind {
            "worker-online" => Self::WorkerOnline,
            "worker-heartbeat" => Self::WorkerHeartbeat,
            "worker-offline" => Self::WorkerOffline,
            "task-sent" => Self::TaskSent,
            "task-received" => Self::TaskReceived,
            "task-started" => Self::TaskStarted,
            "task-succeeded" => Self::TaskSucceeded,
            "task-failed" => Self::TaskFailed,
            "task-retried" => Self::TaskRetried,
            "task-revoked" => Self::TaskRevoked,
            "task-rejected" => Self::TaskRejected,
            other => Self::Other(other.into()),
        }
    }

    /// True for `task-*` events.
    pub fn is_task(&self) -> bool {
        matches!(
            self,
            Self::TaskSent
                | Self::TaskReceived
                | Self::TaskStarted
                | Self::TaskSucceeded
                | Self::TaskFailed
                | Self::TaskRetried
                | Self::TaskRevoked
                | Self::TaskRejected
        )
    }
}

/// One received event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The event type.
    pub kind: EventKind,
    /// The sending node (`worker@host`, `gen123@host`).
    pub hostname: String,
    /// When it was sent (float epoch seconds).
    pub timestamp: f64,
    /// The sender's Lamport clock.
    pub clock: u64,
    /// The whole event dict, including the fields above.
    pub fields: Map<String, Value>,
}

impl Event {
    /// The task id of a `task-*` event.
    pub fn uuid(&self) -> Option<&str> {
        self.fields.get("uuid").and_then(Value::as_str)
    }

    /// A field of the event dict.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.fields.get(key)
    }

    fn from_map(fields: Map<String, Value>) -> Result<Self, DecodeError> {
        let kind = fields
            .get("type")
            .and_then(Value::as_str)
            .ok_or_else(|| DecodeError::Body("event without a type".into()))?;
        Ok(Self {
            kind: EventKind::parse(kind),
            hostname: fields.get("hostname").and_then(Value::as_str).unwrap_or_default().to_string(),
            timestamp: fields.get("timestamp").and_then(Value::as_f64).unwrap_or_default(),
            clock: fields.get("clock").and_then(Value::as_u64).unwrap_or_default(),
            fields,
        })
    }
}

/// Decodes one published event message: a single event dict or a `task.multi` list of them.
pub fn decode_events(payload: &[u8]) -> Result<Vec<Event>, DecodeError> {
    let envelope: Envelope = serde_json::from_slice(payload).map_err(|e| DecodeError::Envelope(e.to_string()))?;
    match decode_body::<Value, _>(&envelope)? {
        Value::Object(map) => Ok(vec![Event::from_map(map)?]),
        Value::Array(items) => items
            .into_iter()
            .map(|item| match item {
                Value::Object(map) => Event::from_map(map),
                _ => Err(DecodeError::Body("task.multi item is not an object".into())),
            })
            .collect(),
        _ => Err(DecodeError::Body("event body is neither an object nor a list".into())),
    }
}

/// Receives every event published on the broker's database.
pub struct EventReceiver {
    messages: std::pin::Pin<Box<dyn futures_util::Stream<Item = redis::Msg> + Send>>,
    pending: VecDeque<Event>,
}

impl std::fmt::Debug for EventReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventReceiver").field("pending", &self.pending.len()).finish_non_exhaustive()
    }
}

impl EventReceiver {
    /// Subscribes to `/<db>.celeryev/*` on a dedicated connection. Events published after this
    /// returns are received.
    pub async fn connect(broker: &Broker) -> Result<Self> {
        let mut pubsub = broker.client().get_async_pubsub().await?;
        pubsub.psubscribe(all_events_pattern(broker.db())).await?;
        Ok(Self { messages: Box::pin(pubsub.into_on_message()), pending: VecDeque::new() })
    }

    /// The next event; `None` when the connection is gone. Malformed messages are logged and
    /// skipped.
    pub async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(event);
            }
            let message = self.messages.next().await?;
            match decode_events(message.get_payload_bytes()) {
                Ok(events) => self.pending.extend(events),
                Err(err) => {
                    tracing::debug!(channel = message.get_channel_name(), %err, "skipping a malformed event")
                }
            }
        }
    }
}
