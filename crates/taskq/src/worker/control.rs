//! The worker's side of Celery remote control: it answers `celery inspect` / `celery control`,
//! Flower and other workers (mingle) like a Celery worker does.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::StreamExt as _;
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

use super::shared::{Held, Phase, Shared};
use crate::backend::{ResultBackend, TaskState};
use crate::control::{self, Command, ControlClient};
use crate::repr;

/// How long the start-up `hello` collects revokes from other workers (in the background).
const MINGLE_WINDOW: Duration = Duration::from_secs(1);

fn ok(text: impl Into<String>) -> Value {
    json!({ "ok": text.into() })
}

/// Listens on the pidbox fanout until `stop`, answering every command addressed to this worker.
pub(super) async fn listen(shared: Arc<Shared>, stop: CancellationToken) {
    let clock = AtomicU64::new(0);
    let channel = control::command_channel(shared.broker.db());
    while !stop.is_cancelled() {
        let pubsub = async {
            let mut pubsub = shared.broker.client().get_async_pubsub().await?;
            pubsub.psubscribe(&channel).await?;
            Ok::<_, redis::RedisError>(pubsub)
        };
        let mut messages = match tokio::select! { () = stop.cancelled() => return, p = pubsub => p } {
            Ok(pubsub) => pubsub.into_on_message(),
            Err(err) => {
                tracing::warn!(%err, "remote control unavailable; retrying");
                tokio::select! { () = stop.cancelled() => return, () = tokio::time::sleep(Duration::from_secs(1)) => continue }
            }
        };
        loop {
            let message = tokio::select! { () = stop.cancelled() => return, m = messages.next() => m };
            let Some(message) = message else { break };
            let command = match Command::decode(message.get_payload_bytes()) {
                Ok(command) => command,
                Err(err) => {
                    tracing::debug!(%err, "ignoring a malformed control message");
                    continue;
                }
            };
            if !command.addresses(&shared.config.hostname) {
                continue;
            }
            tracing::debug!(method = %command.method, "remote control");
            let Some(reply) = handle(&shared, &command).await else { continue };
            let tick = clock.fetch_add(1, Ordering::Relaxed) + 1;
            if let Err(err) = control::reply(&shared.broker, &command, &shared.config.hostname, reply, tick).await {
                tracing::warn!(%err, method = %command.method, "could not reply to a control command");
            }
        }
    }
}

/// The reply to `command`; `None` when Celery sends none (`shutdown`).
async fn handle(shared: &Arc<Shared>, command: &Command) -> Option<Value> {
    let args = &command.arguments;
    Some(match command.method.as_str() {
        "ping" => ok("pong"),
        "stats" => stats(shared),
        "active_queues" => Value::Array(shared.config.queues.iter().map(|q| queue_info(q)).collect()),
        "registered" => json!(shared.registry.names()),
        "conf" => json!({
            "worker_concurrency": shared.config.concurrency,
            "worker_prefetch_multiplier": shared.config.prefetch_multiplier,
            "task_acks_late": shared.config.acks_late,
            "task_track_started": shared.config.track_started,
            "result_extended": shared.config.result_extended,
            "result_expires": shared.config.result_expires.map(|d| d.as_secs()),
            "worker_send_task_events": shared.events.task_events(),
            "task_default_queue": crate::send::DEFAULT_QUEUE,
        }),
        "active" => {
            Value::Array(held_in(shared, Phase::Active).iter().map(|h| Value::Object(h.info(shared))).collect())
        }
        "reserved" => {
            Value::Array(held_in(shared, Phase::Reserved).iter().map(|h| Value::Object(h.info(shared))).collect())
        }
        "scheduled" => Value::Array(
            held_in(shared, Phase::Scheduled)
                .iter()
                .map(|h| json!({"eta": h.eta(), "priority": h.priority(), "request": Value::Object(h.info(shared))}))
                .collect(),
        ),
        "revoked" => json!(shared.revoked.lock().map(|mut r| r.list()).unwrap_or_default()),
        "enable_events" => {
            let was = shared.events.task_events();
            shared.events.set_task_events(true);
            if !was {
                tracing::info!("task events enabled by remote");
            }
            ok(if was { "task events already enabled" } else { "task events enabled" })
        }
        "disable_events" => {
            let was = shared.events.task_events();
            shared.events.set_task_events(false);
            ok(if was { "task events disabled" } else { "task events already disabled" })
        }
        "heartbeat" => {
            shared.events.send("worker-heartbeat", shared.worker_fields());
            Value::Null
        }
        "revoke" => revoke(shared, args).await,
        // `celery control terminate <signal> <id>`: a revoke that also stops a running task.
        "terminate" => {
            let mut args = args.clone();
            args.insert("terminate".into(), Value::Bool(true));
            revoke(shared, &args).await
        }
        "hello" => {
            let from = args.get("from_node").and_then(Value::as_str).unwrap_or_default();
            if from == shared.config.hostname {
                Value::Null
            } else {
                merge_revoked(shared, args.get("revoked"));
                json!({"revoked": shared.revoked.lock().map(|mut r| r.list()).unwrap_or_default(), "clock": 0})
            }
        }
        "shutdown" => {
            tracing::warn!("shutdown requested by remote control");
            shared.shutdown.cancel();
            return None;
        }
        other => json!({"error": format!("KeyError({})", repr::str_repr(other))}),
    })
}

fn held_in(shared: &Shared, phase: Phase) -> Vec<Held> {
    shared.held.lock().map(|held| held.values().filter(|h| h.phase == phase).cloned().collect()).unwrap_or_default()
}

fn merge_revoked(shared: &Shared, ids: Option<&Value>) {
    if let (Some(Value::Array(ids)), Ok(mut revoked)) = (ids, shared.revoked.lock()) {
        for id in ids.iter().filter_map(Value::as_str) {
            revoked.add(id);
        }
    }
}

/// `revoke(task_id, terminate=False)`: remembered, skipped when its message comes, its result set
/// to REVOKED unless it already ran or runs elsewhere; with `terminate` a running one is cancelled.
async fn revoke(shared: &Arc<Shared>, args: &Map<String, Value>) -> Value {
    let ids: Vec<String> = match args.get("task_id") {
        Some(Value::String(id)) => vec![id.clone()],
        Some(Value::Array(ids)) => ids.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        _ => Vec::new(),
    };
    let terminate = args.get("terminate").and_then(Value::as_bool).unwrap_or(false);
    if let Ok(mut revoked) = shared.revoked.lock() {
        for id in &ids {
            revoked.add(id);
        }
    }
    let held: Vec<Held> = shared
        .held
        .lock()
        .map(|h| h.values().filter(|h| ids.contains(&h.task_id)).cloned().collect())
        .unwrap_or_default();
    let backend = ResultBackend::new(shared.broker.clone(), shared.config.result_expires);
    for id in &ids {
        if held.iter().any(|h| h.task_id == *id && h.phase == Phase::Active) {
            continue;
        }
        // Waiting messages of ours are settled as REVOKED when they come up; wake them now.
        for h in held.iter().filter(|h| h.task_id == *id) {
            h.cancel.cancel();
        }
        match backend.state(id).await {
            Ok(TaskState::Pending | TaskState::Received | TaskState::Retry) => {
                let meta = crate::ResultMeta::revoked(id, "revoked");
                if let Err(err) = backend.store(&meta, None).await {
                    tracing::warn!(%err, id, "could not mark a task as revoked");
                }
            }
            Ok(_) => {}
            Err(err) => tracing::warn!(%err, id, "could not read a revoked task's state"),
        }
    }
    let set = format!("{{{}}}", ids.iter().map(|id| repr::str_repr(id)).collect::<Vec<_>>().join(", "));
    if terminate {
        let terminated: Vec<&str> =
            held.iter().filter(|h| h.phase == Phase::Active).map(|h| h.task_id.as_str()).collect();
        for h in held.iter().filter(|h| h.phase == Phase::Active) {
            tracing::info!(id = %h.task_id, "terminating a running task (revoked)");
            h.cancel.cancel();
        }
        return ok(if terminated.is_empty() {
            "terminate: tasks unknown".to_string()
        } else {
            format!("terminate: {}", terminated.join(", "))
        });
    }
    ok(format!("tasks {set} flagged as revoked"))
}

fn stats(shared: &Shared) -> Value {
    let (host, port) = match shared.broker.client().get_connection_info().addr() {
        redis::ConnectionAddr::Tcp(host, port) => (host.clone(), *port),
        other => (other.to_string(), 0),
    };
    let prefetch = shared.config.concurrency.max(1) * shared.config.prefetch_multiplier.max(1);
    json!({
        "total": shared.totals.lock().map(|t| t.clone()).unwrap_or_default(),
        "pid": std::process::id(),
        "clock": shared.processed.load(Ordering::Relaxed),
        "uptime": shared.started.elapsed().as_secs(),
        "pool": {
            "implementation": "stackdesk:tokio",
            "max-concurrency": shared.config.concurrency,
            "processes": [std::process::id()],
            "max-tasks-per-child": "N/A",
            "put-guarded-by-semaphore": false,
            "timeouts": [0, 0],
        },
        "broker": {
            "hostname": host, "userid": null, "virtual_host": shared.broker.db().to_string(), "port": port, "insist": false,
            "ssl": false, "transport": "redis", "connect_timeout": 4, "transport_options": {}, "login_method": null,
            "uri_prefix": null, "heartbeat": 120.0, "failover_strategy": "round-robin", "alternates": [],
        },
        "prefetch_count": prefetch,
        "rusage": {},
    })
}

fn queue_info(queue: &str) -> Value {
    json!({
        "name": queue,
        "exchange": {"name": queue, "type": "direct", "arguments": null, "durable": true, "passive": false, "auto_delete": false, "delivery_mode": null, "no_declare": false},
        "routing_key": queue, "queue_arguments": null, "binding_arguments": null, "consumer_arguments": null,
        "durable": true, "exclusive": false, "auto_delete": false, "no_ack": false, "alias": null, "bindings": [],
        "no_declare": null, "expires": null, "message_ttl": null, "max_length": null, "max_length_bytes": null, "max_priority": null,
    })
}

/// Loads the revokes kept in `revoked_key` (those not yet expired).
pub(super) async fn load_revoked(shared: &Shared) {
    let Some(key) = &shared.config.revoked_key else { return };
    let mut conn = shared.broker.connection();
    let ids: redis::RedisResult<Vec<String>> = redis::cmd("ZRANGE")
        .arg(key)
        .arg(crate::time::epoch_now())
        .arg("+inf")
        .arg("BYSCORE")
        .query_async(&mut conn)
        .await;
    match ids {
        Ok(ids) => {
            if let Ok(mut revoked) = shared.revoked.lock() {
                for id in &ids {
                    revoked.add(id);
                }
            }
        }
        Err(err) => tracing::warn!(%err, key, "could not load revoked task ids"),
    }
}

/// Celery's mingle, without delaying start-up: asks the other workers for their revoked ids and
/// merges them (and gives them ours).
pub(super) async fn mingle(shared: Arc<Shared>) {
    let ours = shared.revoked.lock().map(|mut r| r.list()).unwrap_or_default();
    let mut args = Map::new();
    args.insert("from_node".into(), json!(shared.config.hostname));
    args.insert("revoked".into(), json!(ours));
    let client = ControlClient::new(shared.broker.clone());
    let replies = tokio::select! {
        replies = client.broadcast("hello", args, None, MINGLE_WINDOW, None) => replies,
        // A worker told to stop does not wait out the window for replies it no longer needs.
        () = shared.shutdown.cancelled() => return,
    };
    match replies {
        Ok(replies) => {
            let others: Vec<&(String, Value)> =
                replies.iter().filter(|(host, reply)| *host != shared.config.hostname && reply.is_object()).collect();
            for (host, reply) in &others {
                tracing::info!(%host, "sync with {host}");
                merge_revoked(&shared, reply.get("revoked"));
            }
        }
        Err(err) => tracing::debug!(%err, "mingle failed"),
    }
}
