//! The settle writer: every result write and acknowledgement of a worker goes through one task
//! that sends them in submission order, many per round trip.
//!
//! Order is what makes this safe: a task's STARTED is submitted before its run and its final
//! result after, so Redis applies them in that order even though the worker does not wait for
//! STARTED's reply, and the next task can start while the last one's SUCCESS + ack is in flight.
//! The ack still happens only after the result is stored (same Lua call), so acks-late holds: a
//! worker that dies before the confirmation leaves the message in `unacked`.
//!
//! Result writes that follow one another in a batch go as one call of `lua/store_result.lua` (a
//! script call costs Redis more than the writes in it). Every write is applied, STARTED too: a
//! client waiting on the result's channel is told of each state, as Celery tells it.

use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio_util::task::TaskTracker;

use crate::backend::{ResultMeta, StoreWrite, store_invocation};
use crate::broker::{Broker, UNACKED_INDEX_KEY, UNACKED_KEY};
use crate::message::TaskMessage;
use crate::{Error, Result, pyjson};

/// How many operations go into one pipeline at most: more than a worker can have waiting (two
/// writes for each of the 4 × 64 messages it holds at concurrency 64), so one turn takes them all.
const BATCH: usize = 1024;

/// One write.
#[derive(Debug)]
enum Op {
    /// Store a result (unless a SUCCESS is stored) and/or acknowledge a delivery.
    Store { task_id: String, meta: String, ack: Option<String> },
    /// Publish a retry message and acknowledge the original (acks late).
    PublishAndAck { queue_key: String, payload: String, ack: Option<String> },
}

struct Submitted {
    op: Op,
    done: Option<oneshot::Sender<Result<(), String>>>,
}

/// A handle for submitting writes; cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct Settler {
    tx: mpsc::UnboundedSender<Submitted>,
}

/// Resolves when a submitted write was applied (or failed, with the reason).
pub(crate) type Confirmation = oneshot::Receiver<Result<(), String>>;

impl Settler {
    /// Starts the writer task (owned by `tracker`; it ends when every handle is dropped, after
    /// writing what was submitted).
    pub(crate) fn start(broker: Broker, result_expires: Option<Duration>, tracker: &TaskTracker) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        tracker.spawn(write_loop(broker, result_expires, rx));
        Self { tx }
    }

    /// Stores `meta` (when given) and acknowledges `ack` (when given), in submission order.
    pub(crate) fn store(&self, task_id: &str, meta: Option<&ResultMeta>, ack: Option<&str>) -> Result<Confirmation> {
        let meta = meta.map(pyjson::to_string).transpose()?.unwrap_or_default();
        Ok(self.submit(Op::Store { task_id: task_id.into(), meta, ack: ack.map(str::to_string) }))
    }

    /// Publishes `message` and acknowledges `ack` in one step, in submission order.
    pub(crate) fn publish_and_ack(&self, message: &TaskMessage, ack: Option<&str>) -> Result<Confirmation> {
        let op = Op::PublishAndAck {
            queue_key: message.queue_key(),
            payload: message.to_json()?,
            ack: ack.map(str::to_string),
        };
        Ok(self.submit(op))
    }

    fn submit(&self, op: Op) -> Confirmation {
        let (done, confirmation) = oneshot::channel();
        if let Err(mpsc::error::SendError(submitted)) = self.tx.send(Submitted { op, done: Some(done) })
            && let Some(done) = submitted.done
        {
            let _ = done.send(Err("the worker is shutting down".into()));
        }
        confirmation
    }
}

async fn write_loop(broker: Broker, result_expires: Option<Duration>, mut rx: mpsc::UnboundedReceiver<Submitted>) {
    let mut batch = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        gather(&mut rx, &mut batch, BATCH).await;
        let mut pending: Vec<Submitted> = std::mem::take(&mut batch);
        let mut lost_connection = 0u32;
        let mut reloaded = false;
        loop {
            let results = apply(&broker, result_expires, &pending).await;
            let mut retry = Vec::new();
            let mut noscript = false;
            let mut connection = false;
            for (mut submitted, result) in pending.into_iter().zip(results) {
                match result {
                    Err(err) if is_noscript(&err) && !reloaded => {
                        noscript = true;
                        retry.push(submitted);
                    }
                    // Redis is gone (restarting) or not ready (loading): keep the writes, in
                    // order, until it takes them. Every op is safe to repeat: results are
                    // overwritten with the same value and acks and retry publishes only act on a
                    // tag still unacknowledged.
                    Err(err) if is_transient(&err) => {
                        connection = true;
                        retry.push(submitted);
                    }
                    result => {
                        if let Err(err) = &result {
                            tracing::error!(%err, op = ?submitted.op, "a result write failed");
                        }
                        if let Some(done) = submitted.done.take() {
                            let _ = done.send(result.map_err(|e| e.to_string()));
                        }
                    }
                }
            }
            if retry.is_empty() {
                break;
            }
            if noscript {
                reloaded = true;
                if let Err(err) = broker.load_scripts().await {
                    tracing::error!(%err, "could not reload Lua scripts");
                }
            }
            if connection {
                lost_connection += 1;
                let delay = Duration::from_millis(100 * u64::from(lost_connection.min(20)));
                tracing::warn!(
                    writes = retry.len(),
                    ?delay,
                    "Redis unreachable or not ready; holding result writes until it takes them"
                );
                tokio::time::sleep(delay).await;
                reloaded = false;
            }
            pending = retry;
        }
    }
}

/// Lets every task that is ready run once before a batch goes out, and adds what they submitted:
/// writes of tasks finishing together then share one round trip (one write to the socket instead
/// of one per task) for the price of one turn of the scheduler.
async fn gather<T>(rx: &mut mpsc::UnboundedReceiver<T>, batch: &mut Vec<T>, max: usize) {
    tokio::task::yield_now().await;
    while batch.len() < max {
        match rx.try_recv() {
            Ok(item) => batch.push(item),
            Err(_) => break,
        }
    }
}

/// Whether Redis may take the write if asked again: it is unreachable (restarting, paused past
/// the timeout), or it says so itself (LOADING its data after a restart, TRYAGAIN, MASTERDOWN,
/// READONLY during a failover). Giving up on such a write would leave its message in `unacked`
/// until the visibility timeout.
fn is_transient(err: &Error) -> bool {
    use redis::RetryMethod;
    matches!(err, Error::Redis(e) if e.is_io_error() || e.is_connection_dropped() || e.is_connection_refusal() || e.is_timeout() || e.is_unrecoverable_error()
        || matches!(e.retry_method(), RetryMethod::WaitAndRetry | RetryMethod::Reconnect | RetryMethod::RefreshSlotsAndRetry))
}

fn is_noscript(err: &Error) -> bool {
    matches!(err, Error::Redis(e) if e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript))
}

/// Most result writes in one script call (a bound on how long Redis is busy with one call).
const WRITES_PER_CALL: usize = 64;

/// Sends `ops` in one pipeline and returns one result per op.
async fn apply(broker: &Broker, result_expires: Option<Duration>, ops: &[Submitted]) -> Vec<Result<()>> {
    let mut pipe = redis::pipe();
    pipe.ignore_errors();
    let mut steps = Vec::with_capacity(ops.len());
    let mut calls = 0;
    let mut writes: Vec<StoreWrite<'_>> = Vec::new();
    let flush = |pipe: &mut redis::Pipeline, writes: &mut Vec<StoreWrite<'_>>, calls: &mut usize| {
        if !writes.is_empty() {
            pipe.invoke_script(&store_invocation(broker, writes, result_expires));
            writes.clear();
            *calls += 1;
        }
    };
    for submitted in ops {
        match &submitted.op {
            Op::Store { task_id, meta, ack } => {
                if writes.len() == WRITES_PER_CALL {
                    flush(&mut pipe, &mut writes, &mut calls);
                }
                writes.push(StoreWrite { task_id, meta_json: meta, ack: ack.as_deref() });
                steps.push(calls);
            }
            Op::PublishAndAck { queue_key, payload, ack } => {
                flush(&mut pipe, &mut writes, &mut calls);
                let mut invocation = broker.scripts().publish_and_ack.prepare_invoke();
                invocation
                    .key(queue_key)
                    .key(UNACKED_KEY)
                    .key(UNACKED_INDEX_KEY)
                    .arg(payload)
                    .arg(ack.as_deref().unwrap_or(""));
                pipe.invoke_script(&invocation);
                steps.push(calls);
                calls += 1;
            }
        }
    }
    flush(&mut pipe, &mut writes, &mut calls);
    let mut conn = broker.connection();
    let answers: Vec<redis::RedisResult<redis::Value>> =
        match pipe.query_async::<Vec<redis::RedisResult<redis::Value>>>(&mut conn).await {
            Ok(results) => results,
            Err(err) => (0..calls).map(|_| Err(err.clone())).collect(),
        };
    steps
        .iter()
        .map(|n| match answers.get(*n) {
            Some(Ok(_)) => Ok(()),
            Some(Err(err)) => Err(Error::Redis(err.clone())),
            None => Err(Error::Redis(redis::RedisError::from((
                redis::ErrorKind::Parse,
                "the pipeline answered fewer calls than were sent",
            )))),
        })
        .collect()
}
