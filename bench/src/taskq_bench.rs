//! A library-level benchmark (not the product's figure): sequential publishes by taskq's producer
//! and by Celery's `send_task`. The product's worker is measured by `workers_bench`.

use std::io::Write as _;
use std::time::Instant;

use anyhow::Context;
use serde_json::{Map, Value, json};
use taskq::{Broker, BrokerOptions, Producer, SendOptions, TaskMessage};
use test_support::python::{Venv, run_ok};
use test_support::redis::RedisServer;

const TASK: &str = "bench.noop";

fn python_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("python")
}

/// Runs both and prints the table.
pub async fn run(tasks: usize) -> anyhow::Result<()> {
    let server = RedisServer::start();
    let url = server.url();
    let broker = Broker::connect(&url, BrokerOptions::default()).await?;
    let venv = Venv::get();
    eprintln!("publishing {tasks} tasks on redis {url}");
    let ours = publish_ours(&broker, tasks).await?;
    let celery = {
        let output = run_ok(
            venv.python(&python_dir().join("celery_bench.py"))
                .args(["publish", &tasks.to_string()])
                .env("REDIS_URL", &url),
        );
        let report: Value = serde_json::from_slice(&output.stdout).context("celery_bench.py output")?;
        tasks as f64 / report["seconds"].as_f64().context("seconds")?
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "| library level, {tasks} tasks | taskq (Rust) | Celery 5.7 (Python) | ratio |")?;
    writeln!(out, "|---|---:|---:|---:|")?;
    writeln!(
        out,
        "| sequential publish (`send_task`) | {ours:.0} tasks/s | {celery:.0} tasks/s | {:.1}× |",
        ours / celery
    )?;
    Ok(())
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
