//! The task-queue benchmark: our worker and producer against Celery's.

use std::io::Write as _;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use redis::AsyncCommands;
use serde_json::{Map, Value, json};
use taskq::{
    Broker, BrokerOptions, EventKind, EventReceiver, Producer, Registry, SendOptions, TaskMessage, TaskOptions, Worker,
    WorkerConfig,
};
use test_support::python::{ChildProcess, Venv, run_ok};
use test_support::redis::RedisServer;
use tokio_util::sync::CancellationToken;

const TASK: &str = "bench.noop";

fn python_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("python")
}

/// Runs every measurement and prints the table.
pub async fn run(tasks: usize, only_ours: bool) -> anyhow::Result<()> {
    let server = RedisServer::start();
    let url = server.url();
    let broker = Broker::connect(&url, BrokerOptions::default()).await?;
    let venv = Venv::get();
    eprintln!("benchmarking with {tasks} tasks on redis {url}");

    let ours_drain = drain(&broker, tasks, "stackdesk worker", || {
        ChildProcess::spawn(
            "stackdesk-worker",
            Command::new(std::env::current_exe().expect("own path")).arg("taskq-worker").env("REDIS_URL", &url),
        )
    })
    .await?;
    if only_ours {
        writeln!(std::io::stdout(), "stackdesk worker: {ours_drain:.0} tasks/s")?;
        return Ok(());
    }
    let celery_drain = drain(&broker, tasks, "celery worker --pool=solo", || {
        ChildProcess::spawn(
            "celery-worker",
            Command::new(venv.bin("celery"))
                .args([
                    "-A",
                    "celery_bench",
                    "worker",
                    "--pool=solo",
                    "-E",
                    "--without-mingle",
                    "--without-gossip",
                    "-l",
                    "WARNING",
                ])
                .env("REDIS_URL", &url)
                .current_dir(python_dir()),
        )
    })
    .await?;

    let ours_publish = publish_ours(&broker, tasks).await?;
    let celery_publish = {
        let output = run_ok(
            venv.python(&python_dir().join("celery_bench.py"))
                .args(["publish", &tasks.to_string()])
                .env("REDIS_URL", &url),
        );
        let report: Value = serde_json::from_slice(&output.stdout).context("celery_bench.py output")?;
        tasks as f64 / report["seconds"].as_f64().context("seconds")?
    };
    let mut conn = broker.connection();
    let _: () = redis::cmd("FLUSHDB").query_async(&mut conn).await?;

    let mut out = std::io::stdout().lock();
    writeln!(out, "| {tasks} zero-work tasks | Stackdesk (Rust) | Celery 5.7 (Python) | ratio |")?;
    writeln!(out, "|---|---:|---:|---:|")?;
    writeln!(
        out,
        "| worker drain, concurrency 1, acks late, results + events | {ours_drain:.0} tasks/s | {celery_drain:.0} tasks/s | {:.1}× |",
        ours_drain / celery_drain
    )?;
    writeln!(
        out,
        "| sequential publish (`send_task`) | {ours_publish:.0} tasks/s | {celery_publish:.0} tasks/s | {:.1}× |",
        ours_publish / celery_publish
    )?;
    Ok(())
}

/// Starts a worker, waits for its `worker-online`, queues `tasks` messages in one pipeline and
/// measures until every one is acknowledged (with acks late, after its result is stored).
async fn drain(
    broker: &Broker,
    tasks: usize,
    label: &str,
    start: impl FnOnce() -> ChildProcess,
) -> anyhow::Result<f64> {
    let mut events = EventReceiver::connect(broker).await?;
    let mut worker = start();
    let online = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(event) = events.next().await {
            if event.kind == EventKind::WorkerOnline {
                return true;
            }
        }
        false
    })
    .await;
    ensure!(matches!(online, Ok(true)), "{label} did not come online:\n{}", worker.output());
    let messages: Vec<TaskMessage> =
        (0..tasks).map(|i| TaskMessage::new(TASK, vec![json!(i)], Map::new(), &SendOptions::default())).collect();
    let mut conn = broker.connection();
    let producer = Producer::new(broker.clone());
    let started = Instant::now();
    producer.publish_many(&messages).await?;
    loop {
        let (queued, unacked): (usize, usize) =
            redis::pipe().llen("celery").hlen("unacked").query_async(&mut conn).await?;
        if queued == 0 && unacked == 0 {
            break;
        }
        ensure!(
            started.elapsed() < Duration::from_secs(600),
            "{label} did not drain {tasks} tasks in 10 minutes:\n{}",
            worker.output()
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let last = messages.last().map(TaskMessage::id).unwrap_or_default();
    let meta: Option<String> = conn.get(taskq::result_key(last)).await?;
    ensure!(meta.is_some_and(|m| m.contains("SUCCESS")), "{label}: the last task has no SUCCESS result");
    worker.terminate();
    let _ = worker.wait_exit(Duration::from_secs(30)).await;
    let _: () = redis::cmd("FLUSHDB").query_async(&mut conn).await?;
    eprintln!("{label}: {tasks} tasks in {elapsed:.3} s");
    Ok(tasks as f64 / elapsed)
}

async fn publish_ours(broker: &Broker, tasks: usize) -> anyhow::Result<f64> {
    let producer = Producer::new(broker.clone());
    producer.publish(&TaskMessage::new(TASK, vec![json!(-1)], Map::new(), &SendOptions::default())).await?;
    let started = Instant::now();
    for i in 0..tasks {
        producer.publish(&TaskMessage::new(TASK, vec![json!(i)], Map::new(), &SendOptions::default())).await?;
    }
    Ok(tasks as f64 / started.elapsed().as_secs_f64())
}

/// Our side's worker process: the default (seed) configuration running a zero-work task, until
/// SIGTERM / Ctrl+C.
pub async fn worker_process() -> anyhow::Result<()> {
    let url = std::env::var("REDIS_URL").context("REDIS_URL")?;
    let broker = Broker::connect(&url, BrokerOptions::default()).await?;
    let mut registry = Registry::new();
    registry.register(TASK, TaskOptions::default(), |ctx: taskq::TaskContext| async move {
        Ok(ctx.args.first().cloned().unwrap_or(Value::Null))
    });
    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    tokio::spawn(async move {
        #[cfg(unix)]
        if let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            tokio::select! { _ = term.recv() => {}, _ = tokio::signal::ctrl_c() => {} }
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        stop.cancel();
    });
    let config =
        WorkerConfig { hostname: format!("bench-{}@stackdesk", std::process::id()), ..WorkerConfig::default() };
    Worker::new(broker, registry, config).run(shutdown).await?;
    Ok(())
}
