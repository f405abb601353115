//! Helpers shared by the integration tests.

use std::path::PathBuf;
use std::time::Duration;

use redis::aio::ConnectionManager;
use serde_json::{Value, json};
use taskq::{
    Broker, BrokerOptions, ExceptionInfo, Registry, TaskContext, TaskError, TaskOptions, Worker, WorkerConfig,
    WorkerSummary,
};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Where the Python scripts of these tests live.
pub fn python_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python")
}

/// A broker on `url` with default options.
pub async fn broker(url: &str) -> Broker {
    Broker::connect(url, BrokerOptions::default()).await.expect("connect to the test redis")
}

/// A raw connection for looking at Redis directly.
pub async fn redis(url: &str) -> ConnectionManager {
    let client = redis::Client::open(url).unwrap();
    ConnectionManager::new(client).await.unwrap()
}

/// The tasks the tests run on our worker.
pub fn registry() -> Registry {
    let mut registry = Registry::new();
    let fast_retries = TaskOptions { max_retries: Some(3), default_retry_delay: Duration::from_millis(300) };
    registry
        .register("interop.add", TaskOptions::default(), |ctx: TaskContext| async move {
            let sum: f64 = ctx.args.iter().filter_map(Value::as_f64).sum();
            Ok(json!(sum))
        })
        .register("interop.flaky", fast_retries, |ctx: TaskContext| async move {
            // Fails its first two attempts, then succeeds: RETRY, RETRY, SUCCESS.
            if ctx.retries < 2 {
                Err(TaskError::Retry {
                    after: None,
                    error: ExceptionInfo::runtime_error(format!("attempt {} failed", ctx.retries)),
                })
            } else {
                Ok(json!({"attempts": ctx.retries + 1}))
            }
        })
        .register("interop.always_retry", fast_retries, |_ctx: TaskContext| async move {
            Err(TaskError::Retry { after: None, error: ExceptionInfo::runtime_error("still broken") })
        })
        .register("interop.fail", TaskOptions::default(), |_ctx: TaskContext| async move {
            Err(TaskError::Fail(ExceptionInfo::runtime_error("Telegram API error: Unauthorized")))
        })
        .register("interop.sleep", TaskOptions::default(), |ctx: TaskContext| async move {
            let secs = ctx.args.first().and_then(Value::as_f64).unwrap_or(1.0);
            tokio::select! {
                () = tokio::time::sleep(Duration::from_secs_f64(secs)) => Ok(json!({"slept": secs})),
                () = ctx.cancel.cancelled() => Err(TaskError::Fail(ExceptionInfo::runtime_error("cancelled"))),
            }
        });
    registry
}

/// A worker configuration with a unique node name and fast polling.
pub fn config(name: &str) -> WorkerConfig {
    WorkerConfig {
        hostname: format!("{name}-{}@test", uuid::Uuid::new_v4().simple()),
        poll_interval: Duration::from_millis(200),
        shutdown_timeout: Duration::from_secs(2),
        ..WorkerConfig::default()
    }
}

/// A worker running in this process.
pub struct RunningWorker {
    shutdown: CancellationToken,
    handle: JoinHandle<taskq::Result<WorkerSummary>>,
}

impl RunningWorker {
    /// Starts `registry` with `config` on `url`.
    pub async fn start(url: &str, registry: Registry, config: WorkerConfig) -> Self {
        let worker = Worker::new(broker(url).await, registry, config);
        let shutdown = CancellationToken::new();
        let handle = tokio::spawn(worker.run(shutdown.clone()));
        Self { shutdown, handle }
    }

    /// Shuts it down and returns its summary.
    pub async fn stop(self) -> WorkerSummary {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(20), self.handle)
            .await
            .expect("worker stops within 20 s")
            .unwrap()
            .unwrap()
    }
}

/// Reads a result's JSON straight from Redis.
pub async fn stored_result(conn: &mut ConnectionManager, task_id: &str) -> Option<Value> {
    let raw: Option<String> = redis::cmd("GET").arg(taskq::result_key(task_id)).query_async(conn).await.unwrap();
    raw.map(|r| serde_json::from_str(&r).unwrap())
}

/// Waits until `task_id`'s stored status is `status` and returns the stored JSON.
pub async fn wait_for_status(conn: &ConnectionManager, task_id: &str, status: &str, deadline: Duration) -> Value {
    test_support::wait::until(&format!("task {task_id} to reach {status}"), deadline, || {
        let mut conn = conn.clone();
        async move { stored_result(&mut conn, task_id).await.filter(|m| m["status"] == status) }
    })
    .await
}
