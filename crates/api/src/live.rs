//! The live feed: `GET /events`, Server-Sent Events of what the system is doing.
//!
//! | event | data |
//! |---|---|
//! | `task` | the task's [`TaskView`](crate::history::TaskView) after each state change |
//! | `product` | a product just created |
//! | `worker` | `{"type": "worker-online" \| "worker-heartbeat" \| "worker-offline", "hostname", "active", "processed", "freq", "timestamp"}` |
//! | `queue` | `{"queue", "queued", "unacked"}` when the depth changes (sampled every second) |
//!
//! The feed is fed by a recorder that follows Celery's event fanout (our workers and Python ones
//! alike) and writes the task history as it goes.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::Stream;
use serde_json::{Value, json};
use taskq::{Broker, EventKind, EventReceiver};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::history;
use crate::products::Product;
use crate::state::AppState;

/// How many events a slow subscriber may fall behind before it is told it missed some.
const CAPACITY: usize = 4096;

/// One message of the feed.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveEvent {
    /// The SSE event name.
    pub event: &'static str,
    /// Its JSON data.
    pub data: Value,
}

/// The broadcast behind `/events`.
#[derive(Debug, Clone)]
pub struct Live {
    tx: broadcast::Sender<LiveEvent>,
}

impl Default for Live {
    fn default() -> Self {
        Self { tx: broadcast::channel(CAPACITY).0 }
    }
}

impl Live {
    /// Sends an event to every subscriber (none is fine).
    pub fn send(&self, event: &'static str, data: Value) {
        let _ = self.tx.send(LiveEvent { event, data });
    }

    /// Whether anyone listens (so that events nobody reads are not built).
    pub fn has_subscribers(&self) -> bool {
        self.tx.receiver_count() > 0
    }

    /// A product was created.
    pub fn product_created(&self, product: &Product) {
        if self.has_subscribers() {
            self.send("product", json!(product));
        }
    }

    /// A new subscription.
    pub fn subscribe(&self) -> broadcast::Receiver<LiveEvent> {
        self.tx.subscribe()
    }
}

/// Server-Sent Events of task state changes, product creations, worker online / heartbeat /
/// offline and queue depth.
#[utoipa::path(
    get, path = "/events", tag = "live",
    responses((status = 200, description = "An endless text/event-stream: events `task`, `product`, `worker`, `queue`", content_type = "text/event-stream", body = String))
)]
pub async fn events(State(state): State<AppState>) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let rx = state.live().subscribe();
    let shutdown = state.shutdown().clone();
    let stream = futures_util::stream::unfold((rx, shutdown), |(mut rx, shutdown)| async move {
        let next = tokio::select! {
            () = shutdown.cancelled() => return None,
            next = rx.recv() => next,
        };
        let event = match next {
            Ok(live) => SseEvent::default().event(live.event).data(live.data.to_string()),
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                SseEvent::default().event("lagged").data(json!({"missed": missed}).to_string())
            }
            Err(broadcast::error::RecvError::Closed) => return None,
        };
        Some((Ok(event), (rx, shutdown)))
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

/// Follows Celery's event fanout until `shutdown`: writes task history and feeds `/events`.
/// Reconnects when the connection to Redis is lost.
pub async fn record(state: AppState, broker: Broker, shutdown: CancellationToken) {
    let mut conn = state.store().connection();
    while !shutdown.is_cancelled() {
        let mut receiver = tokio::select! {
            () = shutdown.cancelled() => return,
            receiver = EventReceiver::connect(&broker) => match receiver {
                Ok(receiver) => receiver,
                Err(err) => {
                    tracing::warn!(%err, "cannot follow Celery events; retrying");
                    tokio::select! { () = shutdown.cancelled() => return, () = tokio::time::sleep(history::RECONNECT_DELAY) => continue }
                }
            },
        };
        loop {
            let event = tokio::select! {
                () = shutdown.cancelled() => return,
                event = receiver.next() => event,
            };
            let Some(event) = event else { break };
            match event.kind {
                EventKind::WorkerOnline | EventKind::WorkerHeartbeat | EventKind::WorkerOffline => {
                    let mut known = redis::cmd("HSET");
                    known
                        .arg(crate::control::WORKERS_KEY)
                        .arg(&event.hostname)
                        .arg(Value::Object(event.fields.clone()).to_string());
                    if let Err(err) = known.query_async::<()>(&mut conn).await {
                        tracing::debug!(%err, "could not record a worker event");
                    }
                    let field = |k: &str| event.get(k).cloned().unwrap_or(Value::Null);
                    state.live().send(
                        "worker",
                        json!({"type": field("type"), "hostname": event.hostname, "active": field("active"), "processed": field("processed"),
                            "freq": field("freq"), "timestamp": event.timestamp, "sw_ident": field("sw_ident")}),
                    );
                }
                ref kind if kind.is_task() => {
                    match history::apply_event(&mut conn, &event, state.history_max()).await {
                        Ok(Some(_)) => {
                            if let Some(id) = event.uuid()
                                && let Ok(views) = history::views(state.store(), &[id.to_string()]).await
                                && let Some(Some(view)) = views.into_iter().next()
                            {
                                state.live().send("task", json!(view));
                            }
                        }
                        Ok(None) => {}
                        Err(err) => tracing::warn!(%err, "could not record a task event"),
                    }
                }
                _ => {}
            }
        }
        tracing::warn!("lost the Celery event stream; reconnecting");
    }
}

/// Samples the queue depth every second and reports changes on `/events`.
pub async fn sample_queue(state: AppState, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut last = None;
    let queue = crate::store::QUEUE;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let mut conn = state.store().connection();
        let mut pipe = redis::pipe();
        for key in taskq::queue::keys_of(queue) {
            pipe.llen(key);
        }
        pipe.hlen(taskq::broker::UNACKED_KEY);
        let Ok(Ok(depths)) =
            tokio::time::timeout(Duration::from_secs(1), pipe.query_async::<Vec<u64>>(&mut conn)).await
        else {
            continue;
        };
        let (queued, unacked) = (depths[..depths.len() - 1].iter().sum::<u64>(), depths[depths.len() - 1]);
        if last != Some((queued, unacked)) {
            last = Some((queued, unacked));
            state.live().send("queue", json!({"queue": queue, "queued": queued, "unacked": unacked}));
        }
    }
}
