//! The worker runtime: receive, run, report, acknowledge — as a Celery worker does.
//!
//! One receive loop takes messages while fewer than `prefetch` are held (Celery's
//! `prefetch_multiplier × concurrency`); each message then waits for one of `concurrency` execution
//! slots. Results, events and acknowledgements follow Celery's order (STARTED, run, result, ack with
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

mod control;
mod execute;
mod settle;
pub mod task;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::broker::Broker;
use crate::consumer::{Consumer, Received};
use crate::error::Result;
use crate::events::{EventDispatcher, HEARTBEAT_FREQ_SECS};
pub use task::{Decision, Registry, Task, TaskContext, TaskError, TaskFuture, TaskOptions, TaskResult, decide};

/// What the software identifies itself as in worker events.
pub const SW_IDENT: &str = "stackdesk";

/// How a worker runs. Defaults follow the seed: concurrency 1, acks late, track started,
/// extended results, task events on.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// The node name (`name@host`), unique among live workers.
    pub hostname: String,
    /// Queues to consume, in order.
    pub queues: Vec<String>,
    /// Tasks run at once (Celery's `--concurrency`; the seed's solo pool is 1).
    pub concurrency: usize,
    /// Messages held per execution slot (Celery's `worker_prefetch_multiplier`, 4).
    pub prefetch_multiplier: usize,
    /// Acknowledge after the result is stored (true) or before running (false).
    pub acks_late: bool,
    /// Store STARTED before running (Celery's `task_track_started`).
    pub track_started: bool,
    /// Add name, args, kwargs, worker, retries and queue to results (`result_extended`).
    pub result_extended: bool,
    /// TTL of results (`result_expires`); `None` keeps them forever.
    pub result_expires: Option<Duration>,
    /// Send `task-*` events (Celery's `-E`). Worker events are always sent.
    pub task_events: bool,
    /// How often `worker-heartbeat` is sent.
    pub heartbeat_interval: Duration,
    /// How long running tasks may take to finish once shutdown begins.
    pub shutdown_timeout: Duration,
    /// How often `restore_visible` scans for messages abandoned by dead consumers.
    pub restore_interval: Duration,
    /// How long one blocking wait for messages lasts.
    pub poll_interval: Duration,
    /// A sorted set of revoked task ids (scored by when the revoke expires) to load at start, so
    /// revokes made while no worker ran are honoured; `None` relies on other workers (mingle).
    pub revoked_key: Option<String>,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            hostname: format!("{SW_IDENT}@{}", crate::send::hostname()),
            queues: vec![crate::send::DEFAULT_QUEUE.into()],
            concurrency: 1,
            prefetch_multiplier: 4,
            acks_late: true,
            track_started: true,
            result_extended: true,
            result_expires: Some(Duration::from_secs(86_400)),
            task_events: true,
            heartbeat_interval: Duration::from_secs_f64(HEARTBEAT_FREQ_SECS),
            shutdown_timeout: Duration::from_secs(10),
            restore_interval: Duration::from_secs(100),
            poll_interval: Duration::from_secs(1),
            revoked_key: None,
        }
    }
}

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

/// State shared by the receive loop and the executions.
pub(crate) struct Shared {
    pub(crate) broker: Broker,
    /// Result writes and acknowledgements, in order, batched.
    pub(crate) settler: settle::Settler,
    pub(crate) events: EventDispatcher,
    pub(crate) registry: Arc<Registry>,
    pub(crate) config: WorkerConfig,
    /// Messages this worker holds in `unacked`, by delivery tag, with what remote control shows
    /// of them; whatever is left at shutdown is restored.
    pub(crate) held: Mutex<HashMap<String, control::Held>>,
    /// Revoked task ids (Celery's bounded, expiring set), shared with other workers at start.
    pub(crate) revoked: Mutex<control::Revoked>,
    /// Attempts finished per task name (`stats.total`).
    pub(crate) totals: Mutex<HashMap<String, u64>>,
    /// When the worker started (`stats.uptime`).
    pub(crate) started: Instant,
    /// Execution slots (`concurrency`).
    pub(crate) slots: Arc<Semaphore>,
    /// Tasks running right now (heartbeat `active`).
    pub(crate) active: AtomicUsize,
    /// Attempts finished (heartbeat `processed`).
    pub(crate) processed: AtomicU64,
    /// Stops receiving and releases executions that have not started.
    pub(crate) shutdown: CancellationToken,
    /// Fires when the shutdown deadline passes: running handlers should stop.
    pub(crate) abort: CancellationToken,
}

impl Shared {
    pub(crate) fn hold(&self, tag: &str, held: control::Held) {
        if let Ok(mut map) = self.held.lock() {
            map.insert(tag.to_string(), held);
        }
    }

    pub(crate) fn is_revoked(&self, task_id: &str) -> bool {
        self.revoked.lock().is_ok_and(|mut revoked| revoked.contains(task_id))
    }

    pub(crate) fn release(&self, tag: &str) {
        if let Ok(mut held) = self.held.lock() {
            held.remove(tag);
        }
    }

    fn worker_fields(&self) -> Map<String, Value> {
        let fields = json!({
            "freq": self.config.heartbeat_interval.as_secs_f64(),
            "active": self.active.load(Ordering::Relaxed),
            "processed": self.processed.load(Ordering::Relaxed),
            "loadavg": loadavg(),
            "sw_ident": SW_IDENT,
            "sw_ver": env!("CARGO_PKG_VERSION"),
            "sw_sys": sw_sys(),
        });
        match fields {
            Value::Object(map) => map,
            _ => Map::new(),
        }
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
        control::load_revoked(&shared).await;
        tracker.spawn(control::mingle(shared.clone()));

        let mut executions = JoinSet::new();
        receive_loop(&shared, &mut executions).await;
        let restored = drain(&shared, &mut executions).await;

        shared.events.send("worker-offline", shared.worker_fields());
        shared.events.flush().await;
        background.cancel();
        let processed = shared.processed.load(Ordering::Relaxed);
        drop(shared);
        tracker.close();
        if tokio::time::timeout(Duration::from_secs(5), tracker.wait()).await.is_err() {
            tracing::warn!("background tasks did not stop within 5 s");
        }
        tracing::info!(processed, restored, "worker offline");
        Ok(WorkerSummary { processed, restored })
    }
}

async fn receive_loop(shared: &Arc<Shared>, executions: &mut JoinSet<()>) {
    let prefetch =
        Arc::new(Semaphore::new(shared.config.concurrency.max(1) * shared.config.prefetch_multiplier.max(1)));
    let mut consumer = Consumer::new(shared.broker.clone(), shared.config.queues.clone())
        .with_poll_interval(shared.config.poll_interval);
    loop {
        while executions.try_join_next().is_some() {}
        let first = tokio::select! {
            () = shared.shutdown.cancelled() => return,
            permit = prefetch.clone().acquire_owned() => match permit { Ok(p) => p, Err(_) => return },
        };
        let mut permits = vec![first];
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
    for tag in held {
        match shared.broker.restore(&tag).await {
            Ok(true) => restored += 1,
            Ok(false) => {}
            Err(err) => {
                tracing::error!(delivery_tag = %tag, %err, "could not restore a message at shutdown; restore_visible will recover it")
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

fn loadavg() -> Vec<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .filter_map(|v| v.parse::<f64>().ok())
                .map(|v| (v * 100.0).round() / 100.0)
                .collect()
        })
        .filter(|v: &Vec<f64>| v.len() == 3)
        .unwrap_or_else(|| vec![0.0, 0.0, 0.0])
}

fn sw_sys() -> &'static str {
    match std::env::consts::OS {
        "linux" => "Linux",
        "windows" => "Windows",
        "macos" => "Darwin",
        other => other,
    }
}
