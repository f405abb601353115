//! How a worker runs: [`WorkerConfig`], with the seed's defaults.

use std::time::Duration;

use crate::events::HEARTBEAT_FREQ_SECS;

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
