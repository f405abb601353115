//! The worker runtime: receive, run, report, acknowledge — as a Celery worker does.
//!
//! One receive loop takes messages while fewer than `prefetch` are held (Celery's
//! `prefetch_multiplier × concurrency`), once at least half of it is free (so receives go in
//! batches under load); each message then waits for one of `concurrency` execution slots.
//! Results, events and acknowledgements follow Celery's order (STARTED, run, result, ack with
//! acks_late).
//!
//! **Where a retry's countdown waits.** Like Celery, a retry is a new message (same id,
//! `retries + 1`, absolute `eta`) pushed onto the queue. Whichever worker receives it holds it in
//! `unacked` and waits for the eta in memory, without taking a prefetch slot, so other work goes on.
//! If that worker dies, the message is still in `unacked` and comes back through `restore_visible`
//! (after the visibility timeout) or at once through [`Broker::restore_all`](crate::Broker::restore_all).
//!
//! **Shutdown.** When the token fires, receiving stops; running tasks get `shutdown_timeout` to
//! finish, then are cancelled; every message still held (prefetched, waiting for its eta, or cut
//! short) is put back at the front of its queue, flagged `redelivered` (kombu's `restore_at_shutdown`).

mod config;
mod control;
mod execute;
mod settle;
mod shared;
pub mod task;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::broker::Broker;
use crate::consumer::{Consumer, Received};
use crate::error::Result;
use crate::events::EventDispatcher;
pub use config::{SW_IDENT, WorkerConfig};
pub(crate) use shared::Shared;
pub use task::{Decision, Registry, Task, TaskContext, TaskError, TaskFuture, TaskOptions, TaskResult, decide};

/// What a worker did, returned when it stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WorkerSummary {
    /// Task attempts finished (success, retry or failure).
    pub processed: u64,
    /// Messages put back on their queues at shutdown.
    pub restored: usize,
}

/// A Celery-compatible worker.
pub struct Worker {
    broker: Broker,
    registry: Arc<Registry>,
    config: WorkerConfig,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker").field("registry", &self.registry).field("config", &self.config).finish_non_exhaustive()
    }
}

impl Worker {
    /// A worker running `registry`'s tasks from `broker`.
    pub fn new(broker: Broker, registry: Registry, config: WorkerConfig) -> Self {
        Self { broker, registry: Arc::new(registry), config }
    }

    /// Runs until `shutdown` fires, then shuts down gracefully (see the module docs). Errors only
    /// when Redis cannot be reached at start; later Redis errors are logged and retried.
    pub async fn run(self, shutdown: CancellationToken) -> Result<WorkerSummary> {
        let tracker = TaskTracker::new();
        let config = self.config;
        let events = EventDispatcher::start(&self.broker, &config.hostname, config.task_events, &tracker);
        let shared = Arc::new(Shared {
            settler: settle::Settler::start(self.broker.clone(), config.result_expires, &tracker),
            broker: self.broker,
            events,
            registry: self.registry,
            slots: Arc::new(Semaphore::new(config.concurrency.max(1))),
            config,
            held: Mutex::default(),
            revoked: Mutex::default(),
            totals: Mutex::default(),
            started: Instant::now(),
            pid: std::process::id(),
            active: AtomicUsize::new(0),
            processed: AtomicU64::new(0),
            // A child: remote `shutdown` stops this worker without touching the caller's token.
            shutdown: shutdown.child_token(),
            abort: CancellationToken::new(),
        });
        // Like kombu's `on_poll_init`: recover what dead consumers left before taking new work.
        shared.broker.restore_visible().await?;
        shared.events.send("worker-online", shared.worker_fields());
        tracing::info!(hostname = %shared.config.hostname, queues = ?shared.config.queues, concurrency = shared.config.concurrency,
            tasks = ?shared.registry.names(), "worker online");

        let background = CancellationToken::new();
        tracker.spawn(heartbeat_loop(shared.clone(), background.clone()));
        tracker.spawn(restore_loop(shared.clone(), background.clone()));
        tracker.spawn(control::listen(shared.clone(), background.clone()));
        tokio::select! {
            () = control::load_revoked(&shared) => {}
            // Stopping while Redis does not answer must not wait for its timeout.
            () = shared.shutdown.cancelled() => {}
        }
        tracker.spawn(control::mingle(shared.clone()));

        let mut executions = JoinSet::new();
        receive_loop(&shared, &mut executions).await;
        let restored = drain(&shared, &mut executions).await;

        shared.events.send("worker-offline", shared.worker_fields());
        // A Redis that does not answer now will not take what the background tasks still hold
        // (results, events) either: their messages stay unacked and are delivered again.
        let mut patience = Duration::from_secs(5);
        if tokio::time::timeout(OFFLINE_FLUSH, shared.events.flush()).await.is_err() {
            tracing::warn!("could not tell worker-offline within {OFFLINE_FLUSH:?}: Redis does not answer");
            patience = OFFLINE_FLUSH;
        }
        background.cancel();
        let processed = shared.processed.load(Ordering::Relaxed);
        drop(shared);
        tracker.close();
        if tokio::time::timeout(patience, tracker.wait()).await.is_err() {
            tracing::warn!("background tasks did not stop within {patience:?}");
        }
        tracing::info!(processed, restored, "worker offline");
        Ok(WorkerSummary { processed, restored })
    }
}

/// How long a stopping worker tries to say `worker-offline` (Redis may be paused or gone).
const OFFLINE_FLUSH: Duration = Duration::from_millis(500);

async fn receive_loop(shared: &Arc<Shared>, executions: &mut JoinSet<()>) {
    let limit = shared.config.concurrency.max(1) * shared.config.prefetch_multiplier.max(1);
    let prefetch = Arc::new(Semaphore::new(limit));
    // Receive once half of the prefetch is free, not each time one slot is: under load that
    // halves the receive round trips, and the messages still held keep the slots busy meanwhile.
    let batch = u32::try_from(limit.div_ceil(2)).unwrap_or(u32::MAX);
    let mut consumer = Consumer::new(shared.broker.clone(), shared.config.queues.clone())
        .with_poll_interval(shared.config.poll_interval);
    loop {
        while executions.try_join_next().is_some() {}
        let mut first = tokio::select! {
            () = shared.shutdown.cancelled() => return,
            permit = prefetch.clone().acquire_many_owned(batch) => match permit { Ok(p) => p, Err(_) => return },
        };
        // One permit per message: each is given back when its message is done.
        let mut permits = Vec::with_capacity(limit);
        while first.num_permits() > 1 {
            permits.extend(first.split(1));
        }
        permits.push(first);
        while let Ok(more) = prefetch.clone().try_acquire_owned() {
            permits.push(more);
        }
        let received = match consumer.receive(permits.len(), &shared.shutdown).await {
            Ok(received) => received,
            Err(err) => {
                tracing::warn!(%err, "receiving failed; trying again in 1 s");
                tokio::select! {
                    () = shared.shutdown.cancelled() => return,
                    () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                }
            }
        };
        for item in received {
            if let Received::Message(delivery) = item {
                let permit = permits.pop();
                execute::accept(shared, delivery, permit, executions).await;
            }
        }
    }
}

/// Waits for running tasks (up to the deadline, then cancels them) and restores every message
/// still held. Returns how many were restored.
async fn drain(shared: &Arc<Shared>, executions: &mut JoinSet<()>) -> usize {
    let deadline = tokio::time::sleep(shared.config.shutdown_timeout);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            next = executions.join_next() => if next.is_none() { break },
            () = &mut deadline => {
                tracing::warn!(running = executions.len(), "shutdown deadline passed; cancelling running tasks");
                shared.abort.cancel();
                executions.abort_all();
                while executions.join_next().await.is_some() {}
                break;
            }
        }
    }
    let held: Vec<String> =
        shared.held.lock().map(|mut held| held.drain().map(|(tag, _)| tag).collect()).unwrap_or_default();
    let mut restored = 0;
    let count = held.len();
    for (done, tag) in held.iter().enumerate() {
        match shared.broker.restore(tag).await {
            Ok(true) => restored += 1,
            Ok(false) => {}
            Err(err) => {
                // Redis does not answer: the rest would each wait as long. They stay in `unacked`,
                // where the supervisor's put-back or any worker's restore_visible finds them.
                tracing::error!(left = count - done, %err, "could not put messages back at shutdown; they stay unacked until restored");
                break;
            }
        }
    }
    restored
}

async fn heartbeat_loop(shared: Arc<Shared>, stop: CancellationToken) {
    let mut tick = tokio::time::interval_at(
        tokio::time::Instant::now() + shared.config.heartbeat_interval,
        shared.config.heartbeat_interval,
    );
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => shared.events.send("worker-heartbeat", shared.worker_fields()),
        }
    }
}

async fn restore_loop(shared: Arc<Shared>, stop: CancellationToken) {
    let start = Instant::now() + shared.config.restore_interval;
    let mut tick = tokio::time::interval_at(start.into(), shared.config.restore_interval);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => if let Err(err) = shared.broker.restore_visible().await {
                tracing::warn!(%err, "restore_visible failed");
            },
        }
    }
}
