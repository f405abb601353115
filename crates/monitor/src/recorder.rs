//! What runs beside the handlers once Redis is connected: the recorder that follows Celery's
//! event fanout into the history and the live feed, the queue watcher (its depth, and tasks
//! queued by producers that record nothing), and the relay of products the API announces.

use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use futures_util::StreamExt as _;
use layout::{Product, keys};
use serde_json::Value;
use taskq::{EventReceiver, TaskMessage};

use crate::history;
use crate::model::{LiveEvent, QueueDepth, WorkerEvent, WorkerEventKind};
use crate::state::{Connected, Monitor};

/// How long the recorder waits before reconnecting after losing a subscription.
pub const RECONNECT_DELAY: Duration = Duration::from_secs(1);

/// Sends the views of `ids` on the feed (when anyone listens).
async fn announce(monitor: &Monitor, redis: &Connected, ids: &[String]) {
    if ids.is_empty() || !monitor.feed().has_subscribers() {
        return;
    }
    if let Ok(views) = history::views(&redis.db, ids).await {
        for view in views.into_iter().flatten() {
            monitor.feed().send(LiveEvent::Task(Box::new(view)));
        }
    }
}

/// Waits `RECONNECT_DELAY`; false when the monitor stops meanwhile.
async fn pause(monitor: &Monitor) -> bool {
    tokio::select! {
        () = monitor.shutdown().cancelled() => false,
        () = tokio::time::sleep(RECONNECT_DELAY) => true,
    }
}

/// Follows Celery's event fanout until shutdown: writes task history and worker records and feeds
/// `/events`. Reconnects when the connection to Redis is lost.
pub async fn record(monitor: Monitor, redis: Connected) {
    let mut conn = redis.db.conn();
    let history_max = monitor.options().history_max;
    while !monitor.shutdown().is_cancelled() {
        let mut receiver = tokio::select! {
            () = monitor.shutdown().cancelled() => return,
            receiver = EventReceiver::connect(&redis.broker) => match receiver {
                Ok(receiver) => receiver,
                Err(err) => {
                    tracing::warn!(%err, "cannot follow Celery events; retrying");
                    if pause(&monitor).await { continue } else { return }
                }
            },
        };
        monitor.set_following(true);
        loop {
            let event = tokio::select! {
                () = monitor.shutdown().cancelled() => return,
                event = receiver.next() => event,
            };
            let Some(event) = event else { break };
            if let Some(kind) = WorkerEventKind::of(&event.kind) {
                let known = redis::cmd("HSET")
                    .arg(keys::WORKERS)
                    .arg(&event.hostname)
                    .arg(Value::Object(event.fields.clone()).to_string())
                    .query_async::<()>(&mut conn)
                    .await;
                if let Err(err) = known {
                    tracing::debug!(%err, "could not record a worker event");
                }
                let field = |k: &str| event.get(k).cloned().unwrap_or(Value::Null);
                monitor.feed().send(LiveEvent::Worker(Box::new(WorkerEvent {
                    kind,
                    hostname: event.hostname.clone(),
                    active: field("active"),
                    processed: field("processed"),
                    freq: field("freq"),
                    timestamp: event.timestamp,
                    sw_ident: field("sw_ident"),
                })));
            } else if event.kind.is_task() {
                match history::apply_event(&mut conn, &event, history_max).await {
                    Ok(Some(_)) => {
                        if let Some(id) = event.uuid() {
                            announce(&monitor, &redis, &[id.to_string()]).await;
                        }
                    }
                    Ok(None) => {}
                    Err(err) => tracing::warn!(%err, "could not record a task event"),
                }
            }
        }
        monitor.set_following(false);
        tracing::warn!("lost the Celery event stream; reconnecting");
    }
}

/// Ids already noticed in the queue, so each queued message is recorded once (bounded).
#[derive(Debug, Default)]
struct Noticed {
    ids: HashSet<String>,
    order: VecDeque<String>,
}

impl Noticed {
    const MAX: usize = 20_000;

    /// Whether `id` was recorded already.
    fn seen(&self, id: &str) -> bool {
        self.ids.contains(id)
    }

    /// Remembers that `id` is recorded.
    fn remember(&mut self, id: &str) {
        if !self.ids.insert(id.to_string()) {
            return;
        }
        self.order.push_back(id.to_string());
        if self.order.len() > Self::MAX
            && let Some(old) = self.order.pop_front()
        {
            self.ids.remove(&old);
        }
    }
}

/// Looks at the queue every `sample_interval` until shutdown: reports its depth on `/events` when
/// it changes, and records the tasks the history does not know (sent by a producer that writes no
/// history and sends no `task-sent` event) — the newest queued, and those workers hold — as
/// PENDING with their arguments, or fills in the arguments of those known only by their repr.
pub async fn watch_queue(monitor: Monitor, redis: Connected) {
    let options = monitor.options().clone();
    let mut tick = tokio::time::interval(options.sample_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut last = None;
    let mut noticed = Noticed::default();
    let queue_keys: Vec<String> = taskq::queue::keys_of(keys::QUEUE).collect();
    loop {
        tokio::select! {
            () = monitor.shutdown().cancelled() => return,
            _ = tick.tick() => {}
        }
        let mut conn = redis.db.conn();
        let mut depth = redis::pipe();
        let mut heads = redis::pipe();
        for key in &queue_keys {
            depth.llen(key);
            heads.lrange(key, 0, options.notice_depth as isize - 1);
        }
        depth.hlen(keys::UNACKED);
        let Ok(depths) = redis.db.call(depth.query_async::<Vec<u64>>(&mut conn)).await else { continue };
        let heads = redis.db.call(heads.query_async::<Vec<Vec<String>>>(&mut conn)).await.unwrap_or_default();
        // What workers hold too (prefetched, or waiting for an eta): taken before this look.
        let held: (u64, Vec<String>) = redis
            .db
            .call(
                redis::cmd("HSCAN")
                    .arg(keys::UNACKED)
                    .arg(0)
                    .arg("COUNT")
                    .arg(options.notice_depth)
                    .query_async(&mut conn),
            )
            .await
            .unwrap_or_default();
        let held = held.1.into_iter().skip(1).step_by(2).filter_map(|entry| envelope_of_unacked(&entry));
        let messages: Vec<TaskMessage> = heads
            .into_iter()
            .flatten()
            .chain(held)
            .filter_map(|payload| TaskMessage::decode(&payload).ok())
            .filter(|message| !noticed.seen(message.id()))
            .collect();
        match history::notice(&mut conn, &messages, taskq::time::epoch_now(), options.history_max).await {
            Ok(created) => {
                // Remembered once recorded: after a failed look they are looked at again.
                for message in &messages {
                    noticed.remember(message.id());
                }
                announce(&monitor, &redis, &created).await;
            }
            Err(err) => tracing::debug!(%err, "could not record queued tasks"),
        }
        let Some((&unacked, queued)) = depths.split_last() else { continue };
        let queued = queued.iter().sum::<u64>();
        if last != Some((queued, unacked)) {
            last = Some((queued, unacked));
            monitor.feed().send(LiveEvent::Queue(QueueDepth { queue: keys::QUEUE.into(), queued, unacked }));
        }
    }
}

/// The message envelope inside an `unacked` entry (`[envelope, exchange, routing_key]`), as text.
fn envelope_of_unacked(entry: &str) -> Option<String> {
    match serde_json::from_str::<Value>(entry).ok()? {
        Value::Array(mut parts) if !parts.is_empty() => Some(parts.swap_remove(0).to_string()),
        _ => None,
    }
}

/// Passes the products the API announces on [`keys::PRODUCT_CHANNEL`] on to `/events` until
/// shutdown. Reconnects when the connection is lost.
pub async fn relay_products(monitor: Monitor, redis: Connected) {
    while !monitor.shutdown().is_cancelled() {
        let subscribed = async {
            let mut pubsub = redis.broker.client().get_async_pubsub().await?;
            pubsub.subscribe(keys::PRODUCT_CHANNEL).await?;
            Ok::<_, redis::RedisError>(pubsub)
        };
        let pubsub = tokio::select! {
            () = monitor.shutdown().cancelled() => return,
            pubsub = subscribed => pubsub,
        };
        let mut messages = match pubsub {
            Ok(pubsub) => pubsub.into_on_message(),
            Err(err) => {
                tracing::warn!(%err, "cannot follow product announcements; retrying");
                if pause(&monitor).await { continue } else { return }
            }
        };
        loop {
            let message = tokio::select! {
                () = monitor.shutdown().cancelled() => return,
                message = messages.next() => message,
            };
            let Some(message) = message else { break };
            match serde_json::from_slice::<Product>(message.get_payload_bytes()) {
                Ok(product) => monitor.feed().send(LiveEvent::Product(Box::new(product))),
                Err(err) => tracing::debug!(%err, "skipping a malformed product announcement"),
            }
        }
        if !pause(&monitor).await {
            return;
        }
    }
}
