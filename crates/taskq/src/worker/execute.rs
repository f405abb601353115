//! One message, from acceptance to acknowledgement.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use serde_json::{Map, Value, json};
use tokio::sync::OwnedSemaphorePermit;
use tokio::task::JoinSet;

use super::settle::Confirmation;
use super::shared::{Held, Phase, Shared};
use super::task::{Decision, TaskContext, decide};
use crate::backend::{ExceptionInfo, RequestInfo, ResultMeta, TaskState};
use crate::consumer::Delivery;
use crate::message::TaskMessage;
use crate::{repr, time};

/// Celery's exception for a task name no handler is registered for.
fn not_registered(name: &str) -> ExceptionInfo {
    ExceptionInfo::new("celery.exceptions", "NotRegistered", name)
}

/// Decodes a delivery and either settles it at once (undecodable, unregistered, expired) or hands
/// it to an execution, which keeps `permit` (a prefetch slot) until it starts running. Messages
/// with a future eta give their prefetch slot back while they wait.
pub(super) async fn accept(
    shared: &Arc<Shared>,
    delivery: Delivery,
    permit: Option<OwnedSemaphorePermit>,
    executions: &mut JoinSet<()>,
) {
    let message = match TaskMessage::decode(&delivery.payload) {
        Ok(message) => Arc::new(message),
        Err(err) => {
            if let Err(err) = shared
                .broker
                .dead_letter(&delivery.delivery_tag, delivery.queue(), &delivery.payload, &err.to_string())
                .await
            {
                tracing::error!(%err, "could not dead-letter a message; it stays unacknowledged");
            }
            return;
        }
    };
    let eta = message.envelope.headers.eta.as_deref().and_then(time::parse_iso).filter(|at| *at > chrono::Utc::now());
    let cancel = shared.abort.child_token();
    shared.hold(
        &delivery.delivery_tag,
        Held {
            task_id: message.id().to_string(),
            phase: if eta.is_some() { Phase::Scheduled } else { Phase::Reserved },
            message: message.clone(),
            queue: delivery.queue().to_string(),
            time_start: None,
            cancel: cancel.clone(),
        },
    );
    if shared.registry.get(message.task()).is_none() {
        reject_unregistered(shared, &delivery, &message).await;
        return;
    }
    if is_expired(&message) {
        settle_revoked(shared, &delivery, &message, "expired").await;
        return;
    }
    if shared.is_revoked(message.id()) {
        settle_revoked(shared, &delivery, &message, "revoked").await;
        return;
    }
    let headers = &message.envelope.headers;
    shared.events.send(
        "task-received",
        fields(json!({
            "uuid": message.id(),
            "name": message.task(),
            "args": headers.argsrepr.clone().unwrap_or_else(|| repr::repr(&Value::Array(message.args().to_vec()))),
            "kwargs": headers.kwargsrepr.clone().unwrap_or_else(|| repr::repr(&Value::Object(message.kwargs().clone()))),
            "root_id": headers.root_id,
            "parent_id": headers.parent_id,
            "retries": headers.retries,
            "eta": headers.eta,
            "expires": headers.expires,
        })),
    );
    let shared = shared.clone();
    match eta {
        Some(at) => {
            // Celery's `increment_eventually`: a countdown must not block the prefetch slot.
            drop(permit);
            executions.spawn(async move {
                tokio::select! {
                    () = shared.shutdown.cancelled() => {}
                    // Woken early by a revoke: settled as REVOKED by `execute`.
                    () = cancel.cancelled() => execute(shared, delivery, message, None, cancel).await,
                    () = tokio::time::sleep(time::until(at)) => execute(shared, delivery, message, None, cancel).await,
                }
            });
        }
        None => {
            executions.spawn(execute(shared, delivery, message, permit, cancel));
        }
    }
}

/// Marks a held message as running (for `inspect active`).
fn set_active(shared: &Shared, tag: &str) {
    if let Ok(mut held) = shared.held.lock()
        && let Some(h) = held.get_mut(tag)
    {
        h.phase = Phase::Active;
        h.time_start = Some(time::epoch_now());
    }
}

fn is_expired(message: &TaskMessage) -> bool {
    message.envelope.headers.expires.as_deref().and_then(time::parse_iso).is_some_and(|at| at <= chrono::Utc::now())
}

fn fields(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn request<'a>(shared: &'a Shared, message: &'a TaskMessage, delivery: &'a Delivery) -> Option<RequestInfo<'a>> {
    shared.config.result_extended.then(|| RequestInfo {
        name: message.task(),
        args: message.args(),
        kwargs: message.kwargs(),
        worker: &shared.config.hostname,
        retries: message.envelope.headers.retries,
        queue: delivery.queue(),
        parent_id: message.envelope.headers.parent_id.as_deref(),
        group_id: message.envelope.headers.group.as_deref(),
    })
}

fn ignores_result(message: &TaskMessage) -> bool {
    message.envelope.headers.ignore_result == Some(true)
}

async fn reject_unregistered(shared: &Arc<Shared>, delivery: &Delivery, message: &TaskMessage) {
    let error = not_registered(message.task());
    tracing::error!(
        task = message.task(),
        id = message.id(),
        "received an unregistered task; it fails and goes to the dead-letter list"
    );
    if !ignores_result(message) {
        let meta = ResultMeta::new(
            message.id(),
            TaskState::Failure,
            json!(error),
            None,
            request(shared, message, delivery).as_ref(),
        );
        if let Err(err) = confirm(shared.settler.store(message.id(), Some(&meta), None)).await {
            tracing::error!(%err, "could not store the NotRegistered failure");
        }
    }
    shared.events.send(
        "task-failed",
        fields(
            json!({"uuid": message.id(), "exception": format!("NotRegistered({})", repr::str_repr(message.task()))}),
        ),
    );
    let reason = format!("task {:?} is not registered with this worker", message.task());
    match shared.broker.dead_letter(&delivery.delivery_tag, delivery.queue(), &delivery.payload, &reason).await {
        Ok(()) => shared.release(&delivery.delivery_tag),
        Err(err) => tracing::error!(%err, "could not dead-letter an unregistered task; it stays unacknowledged"),
    }
}

/// Settles a task that must not run (revoked, expired, or terminated): REVOKED, acknowledged,
/// announced.
async fn settle_revoked(shared: &Arc<Shared>, delivery: &Delivery, message: &TaskMessage, reason: &str) {
    tracing::info!(id = message.id(), reason, "task revoked; not run");
    let meta = (!ignores_result(message))
        .then(|| ResultMeta::revoked_with(message.id(), reason, request(shared, message, delivery).as_ref()));
    match confirm(shared.settler.store(message.id(), meta.as_ref(), Some(&delivery.delivery_tag))).await {
        Ok(()) => shared.release(&delivery.delivery_tag),
        Err(err) => tracing::error!(%err, "could not settle a revoked task"),
    }
    shared.events.send(
        "task-revoked",
        fields(json!({"uuid": message.id(), "terminated": reason == "terminated", "signum": null, "expired": reason == "expired"})),
    );
}

/// Waits for a submitted write to be applied.
async fn confirm(submitted: crate::Result<Confirmation>) -> Result<(), String> {
    match submitted {
        Ok(confirmation) => confirmation.await.unwrap_or_else(|_| Err("the settle writer stopped".into())),
        Err(err) => Err(err.to_string()),
    }
}

/// Runs one attempt and settles it: result stored, events sent, message acknowledged (or a retry
/// published and the original acknowledged in one step). The execution slot is given back as soon
/// as the outcome is submitted (with the prefetch slot); the `held` entry only once it is confirmed.
async fn execute(
    shared: Arc<Shared>,
    delivery: Delivery,
    message: Arc<TaskMessage>,
    prefetch: Option<OwnedSemaphorePermit>,
    cancel: tokio_util::sync::CancellationToken,
) {
    let slot = tokio::select! {
        () = shared.shutdown.cancelled() => return,
        slot = shared.slots.clone().acquire_owned() => match slot { Ok(slot) => slot, Err(_) => return },
    };
    if is_expired(&message) {
        settle_revoked(&shared, &delivery, &message, "expired").await;
        return;
    }
    if shared.is_revoked(message.id()) {
        settle_revoked(&shared, &delivery, &message, "revoked").await;
        return;
    }
    let Some(registered) = shared.registry.get(message.task()).cloned() else { return };
    let tag = delivery.delivery_tag.as_str();
    let acks_late = shared.config.acks_late;
    if !acks_late {
        if let Err(err) = shared.broker.ack(tag).await {
            tracing::error!(%err, id = message.id(), "could not acknowledge before running; the task is left for redelivery");
            return;
        }
        shared.release(tag);
    }
    set_active(&shared, tag);
    shared.active.fetch_add(1, Ordering::Relaxed);
    let retries = message.envelope.headers.retries;
    let info = request(&shared, &message, &delivery);
    let keep_result = !ignores_result(&message);
    let ctx = TaskContext {
        id: message.id().to_string(),
        name: message.task().to_string(),
        args: message.args().to_vec(),
        kwargs: message.kwargs().clone(),
        retries,
        hostname: shared.config.hostname.clone(),
        max_retries: registered.options.max_retries,
        cancel: cancel.clone(),
    };
    if shared.config.track_started && keep_result {
        let meta = ResultMeta::new(
            message.id(),
            TaskState::Started,
            json!({"pid": shared.pid, "hostname": shared.config.hostname}),
            None,
            info.as_ref(),
        );
        // Not awaited: the settle writer applies it before this task's final result.
        if let Err(err) = shared.settler.store(message.id(), Some(&meta), None) {
            tracing::warn!(%err, id = message.id(), "could not store STARTED");
        }
    }
    shared.events.send("task-started", fields(json!({"uuid": message.id()})));
    let started = Instant::now();
    let outcome = registered.task.run(ctx).await;
    let runtime = started.elapsed().as_secs_f64();
    if let Ok(mut totals) = shared.totals.lock() {
        *totals.entry(message.task().to_string()).or_default() += 1;
    }
    if cancel.is_cancelled() && shared.is_revoked(message.id()) {
        // `revoke(terminate=True)`: the handler stopped because it was told to.
        shared.active.fetch_sub(1, Ordering::Relaxed);
        shared.processed.fetch_add(1, Ordering::Relaxed);
        drop(slot);
        drop(prefetch);
        settle_revoked(&shared, &delivery, &message, "terminated").await;
        return;
    }
    let ack = acks_late.then_some(tag);
    let submitted = match decide(outcome, retries, &registered.options) {
        Decision::Succeed(value) => {
            let meta = ResultMeta::new(message.id(), TaskState::Success, value.clone(), None, info.as_ref());
            tracing::debug!(id = message.id(), task = message.task(), runtime, "task succeeded");
            shared.events.send(
                "task-succeeded",
                fields(json!({"uuid": message.id(), "result": repr::repr(&value), "runtime": runtime})),
            );
            shared.settler.store(message.id(), keep_result.then_some(&meta), ack)
        }
        Decision::Retry { countdown, error } => {
            let traceback = error.traceback(message.task());
            let mut meta =
                ResultMeta::new(message.id(), TaskState::Retry, json!(error), Some(traceback.clone()), info.as_ref());
            meta.children = vec![json!([[message.id(), null], null])];
            tracing::info!(id = message.id(), task = message.task(), retries = retries + 1, ?countdown, error = %error.message(), "task will be retried");
            shared.events.send(
                "task-retried",
                fields(json!({"uuid": message.id(), "exception": format!("Retry in {}s: {}", countdown.as_secs_f64(), error.repr()), "traceback": traceback})),
            );
            match shared.settler.store(message.id(), keep_result.then_some(&meta), None) {
                Ok(_) => shared.settler.publish_and_ack(&message.retry_message(countdown), ack),
                Err(err) => Err(err),
            }
        }
        Decision::Fail(error) => {
            let traceback = error.traceback(message.task());
            let meta =
                ResultMeta::new(message.id(), TaskState::Failure, json!(error), Some(traceback.clone()), info.as_ref());
            tracing::warn!(id = message.id(), task = message.task(), retries, error = %error.message(), "task failed");
            shared.events.send(
                "task-failed",
                fields(json!({"uuid": message.id(), "exception": error.repr(), "traceback": traceback})),
            );
            shared.settler.store(message.id(), keep_result.then_some(&meta), ack)
        }
    };
    shared.active.fetch_sub(1, Ordering::Relaxed);
    shared.processed.fetch_add(1, Ordering::Relaxed);
    // The task is done: its execution and prefetch slots go to the next messages while the write
    // is in flight. The message stays in `held` (and `unacked`) until the write is confirmed.
    drop(slot);
    drop(prefetch);
    match confirm(submitted).await {
        Ok(()) => shared.release(tag),
        Err(err) => {
            tracing::error!(%err, id = message.id(), "could not settle the task; the message stays unacknowledged for redelivery")
        }
    }
}
