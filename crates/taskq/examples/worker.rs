//! A Stackdesk worker serving two demo tasks, for trying the library against Python Celery.
//!
//! ```text
//! REDIS_URL=redis://127.0.0.1:6379/0 cargo run -p stackdesk-taskq --example worker
//! ```
//! then, from Python: `Celery(broker=url, backend=url).send_task("demo.add", args=[2, 3]).get()`.

use std::time::Duration;

use serde_json::{Value, json};
use taskq::{Broker, BrokerOptions, Registry, TaskContext, TaskOptions, Worker, WorkerConfig};
use tokio_util::sync::CancellationToken;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), taskq::Error> {
    tracing_subscriber::fmt().with_env_filter("info").init();
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/0".into());
    let broker = Broker::connect(&url, BrokerOptions::default()).await?;
    let mut registry = Registry::new();
    registry
        .register("demo.add", TaskOptions::default(), |ctx: TaskContext| async move {
            Ok(json!(ctx.args.iter().filter_map(Value::as_f64).sum::<f64>()))
        })
        .register("demo.sleep", TaskOptions::default(), |ctx: TaskContext| async move {
            let secs = ctx.args.first().and_then(Value::as_f64).unwrap_or(1.0);
            tokio::time::sleep(Duration::from_secs_f64(secs)).await;
            Ok(json!({"slept": secs}))
        });
    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        stop.cancel();
    });
    let summary = Worker::new(broker, registry, WorkerConfig::default()).run(shutdown).await?;
    tracing::info!(processed = summary.processed, "stopped");
    Ok(())
}
