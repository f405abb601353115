//! Celery events over Redis: the `celeryev` fanout.
//!
//! On Redis the event exchange is a fanout implemented with pub/sub: an event of type
//! `task-succeeded` is PUBLISHed on `/<db>.celeryev/task.succeeded` in kombu's envelope, its body the
//! event dict. [`EventDispatcher`] sends them from a background task that pipelines whatever is
//! queued, so sending never waits on Redis; task events queued together go as one `task.multi`
//! message (a list of event dicts, as Celery's own dispatcher groups them with `buffer_group`).
//! [`EventReceiver`] reads them back, from our workers and from Python ones (single events and
//! `task.multi` batches alike).

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
    /// An event dict, with its type (`task-succeeded`).
    Event {
        event_type: String,
        body: Map<String, Value>,
    },
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
        tracker.spawn(publish_loop(broker.clone(), hostname.to_string(), rx));
        Self {
            inner: Arc::new(DispatcherInner {
                outbox,
                hostname: hostname.into(),
                pid: std::process::id(),
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
        if self.inner.outbox.try_send(self.encode(event_type, fields)).is_err() {
            tracing::warn!(event_type, "event dropped: the event outbox is full or closed");
        }
    }

    /// Waits until everything sent so far is published.
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.inner.outbox.send(Outgoing::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }

    fn encode(&self, event_type: &str, fields: Map<String, Value>) -> Outgoing {
        let clock = self.inner.clock.fetch_add(1, Ordering::Relaxed) + 1;
        let mut body = Map::with_capacity(fields.len() + 6);
        body.insert("hostname".into(), Value::String(self.inner.hostname.clone()));
        body.insert("utcoffset".into(), Value::from(utcoffset()));
        body.insert("pid".into(), Value::from(self.inner.pid));
        body.insert("clock".into(), Value::from(clock));
        body.extend(fields);
        body.insert("timestamp".into(), Value::from(time::epoch_now()));
        body.insert("type".into(), Value::String(event_type.into()));
        Outgoing::Event { event_type: event_type.into(), body }
    }
}

/// The routing key of a batch of task events (Celery's `'%s.multi' % group`).
const TASK_MULTI: &str = "task.multi";

/// One message on the event exchange: `(channel, kombu envelope JSON)`. `payload` is an event dict
/// or a list of them.
fn event_message(
    db: i64,
    hostname: &str,
    routing_key: &str,
    payload: &impl serde::Serialize,
) -> Result<(String, String)> {
    let mut headers = Map::new();
    headers.insert("hostname".into(), Value::String(hostname.into()));
    let properties = Properties {
        correlation_id: None,
        reply_to: None,
        delivery_mode: 1,
        expiration: None,
        delivery_info: DeliveryInfo {
            exchange: EVENT_EXCHANGE.into(),
            routing_key: routing_key.into(),
            extra: Map::new(),
        },
        priority: 0,
        body_encoding: "base64".into(),
        delivery_tag: uuid::Uuid::new_v4().to_string(),
        extra: Map::new(),
    };
    let envelope = Envelope::for_payload(payload, headers, properties)?;
    Ok((channel_for(db, routing_key), envelope.to_json()?))
}

/// The messages for one batch: each worker event on its own, the task events together (one
/// `task.multi` list in their order per [`EVENTS_PER_MULTI`]; a single one as itself).
fn batch_messages(db: i64, hostname: &str, events: Vec<(String, Map<String, Value>)>) -> Vec<Result<(String, String)>> {
    let (tasks, others): (Vec<_>, Vec<_>) = events.into_iter().partition(|(kind, _)| kind.starts_with("task-"));
    let mut messages: Vec<Result<(String, String)>> =
        others.iter().map(|(kind, body)| event_message(db, hostname, &kind.replace('-', "."), body)).collect();
    for chunk in tasks.chunks(EVENTS_PER_MULTI) {
        match chunk {
            [(kind, body)] => messages.push(event_message(db, hostname, &kind.replace('-', "."), body)),
            many => {
                let bodies: Vec<&Map<String, Value>> = many.iter().map(|(_, body)| body).collect();
                messages.push(event_message(db, hostname, TASK_MULTI, &bodies));
            }
        }
    }
    messages
}

/// How many queued events one turn of the publisher takes: all of them, in practice. A smaller cap
/// let the outbox grow without end when many tasks run at once (at concurrency 64, more events
/// came in per turn than a turn took: 90 MB of queued events, and a third of the throughput lost).
const EVENTS_PER_TURN: usize = 8192;
/// How many task events go in one `task.multi` message (a turn may send several, in one write).
const EVENTS_PER_MULTI: usize = 256;

async fn publish_loop(broker: Broker, hostname: String, mut rx: mpsc::Receiver<Outgoing>) {
    let mut batch = Vec::with_capacity(EVENTS_PER_MULTI);
    let db = broker.db();
    while rx.recv_many(&mut batch, EVENTS_PER_TURN).await > 0 {
        // Every task that is ready runs once first: the events of tasks finishing together then
        // go in one `task.multi` and one write to the socket.
        tokio::task::yield_now().await;
        while batch.len() < EVENTS_PER_TURN
            && let Ok(item) = rx.try_recv()
        {
            batch.push(item);
        }
        let mut events = Vec::new();
        let mut flushes = Vec::new();
        for item in batch.drain(..) {
            match item {
                Outgoing::Event { event_type, body } => events.push((event_type, body)),
                Outgoing::Flush(done) => flushes.push(done),
            }
        }
        let mut pipe = redis::pipe();
        for message in batch_messages(db, &hostname, events) {
            match message {
                Ok((channel, payload)) => {
                    pipe.publish(channel, payload).ignore();
                }
                Err(err) => tracing::warn!(%err, "an event could not be encoded"),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: &str, uuid: &str) -> (String, Map<String, Value>) {
        let mut body = Map::new();
        body.insert("type".into(), Value::String(kind.into()));
        body.insert("uuid".into(), Value::String(uuid.into()));
        (kind.to_string(), body)
    }

    #[test]
    fn a_long_run_of_task_events_goes_as_several_task_multis_in_order() {
        let batch: Vec<_> = (0..EVENTS_PER_MULTI * 2 + 1).map(|i| event("task-started", &i.to_string())).collect();
        let messages: Vec<(String, String)> =
            batch_messages(0, "w@h", batch).into_iter().collect::<Result<_>>().unwrap();
        let channels: Vec<&str> = messages.iter().map(|(channel, _)| channel.as_str()).collect();
        assert_eq!(channels, ["/0.celeryev/task.multi", "/0.celeryev/task.multi", "/0.celeryev/task.started"]);
        let uuids: Vec<String> = messages
            .iter()
            .flat_map(|(_, payload)| decode_events(payload.as_bytes()).unwrap())
            .map(|e| e.uuid().unwrap().to_string())
            .collect();
        let expected: Vec<String> = (0..EVENTS_PER_MULTI * 2 + 1).map(|i| i.to_string()).collect();
        assert_eq!(uuids, expected, "every event, once, in order");
    }

    #[test]
    fn task_events_queued_together_go_as_one_task_multi_in_order() {
        let batch = vec![event("task-received", "a"), event("worker-heartbeat", ""), event("task-started", "a")];
        let messages: Vec<(String, String)> =
            batch_messages(0, "w@h", batch).into_iter().collect::<Result<_>>().unwrap();
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[0].0, "/0.celeryev/worker.heartbeat");
        assert_eq!(messages[1].0, "/0.celeryev/task.multi");
        let multi = decode_events(messages[1].1.as_bytes()).unwrap();
        let kinds: Vec<EventKind> = multi.iter().map(|e| e.kind.clone()).collect();
        assert_eq!(kinds, [EventKind::TaskReceived, EventKind::TaskStarted]);
        let envelope: Value = serde_json::from_str(&messages[1].1).unwrap();
        assert_eq!(envelope["properties"]["delivery_info"]["routing_key"], "task.multi");
        assert_eq!(envelope["headers"]["hostname"], "w@h");
    }

    #[test]
    fn a_lone_task_event_goes_on_its_own_channel() {
        let messages: Vec<(String, String)> =
            batch_messages(3, "w@h", vec![event("task-succeeded", "a")]).into_iter().collect::<Result<_>>().unwrap();
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0].0, "/3.celeryev/task.succeeded");
        assert_eq!(decode_events(messages[0].1.as_bytes()).unwrap()[0].uuid(), Some("a"));
    }
}
