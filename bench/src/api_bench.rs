//! The API benchmark: the Python original (FastAPI + uvicorn + Celery worker), the fastest peer
//! stack installable here (Fastify + BullMQ on Node, `bench/node/fastify_api.mjs`) and ours
//! (`stackdesk api` + `stackdesk worker`), on the same Redis, driven by `wrk` on
//! `POST /products/` (valid body, 32 connections, 2 threads); requests/s, p50, p99, and the RSS
//! of each side's API + worker (with their child processes), idle and at peak under load. Then
//! the Redis-bound limit: `redis-benchmark` sending the create script's very call.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use test_support::python::{ChildProcess, Venv};
use test_support::redis::{RedisServer, free_port};

/// How many tasks our history keeps, in the API's run and in the limit's replay alike (the
/// product's default, `TASK_HISTORY_MAX`): both fill it and then trim one task per product.
const HISTORY_MAX: usize = 10_000;

/// One side's figures.
#[derive(Debug, Clone, Copy, Default)]
struct Figures {
    requests_per_sec: f64,
    p50_ms: f64,
    p99_ms: f64,
    idle_rss_mb: f64,
    load_rss_mb: f64,
}

fn python_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("python")
}

/// Runs every side and prints the table.
pub async fn run(seconds: u64, stackdesk: &Path) -> anyhow::Result<()> {
    ensure!(
        stackdesk.exists(),
        "{} not found: build it with cargo build --release -p stackdesk-cli",
        stackdesk.display()
    );
    ensure!(
        Command::new("wrk").arg("--version").output().is_ok(),
        "wrk is not installed: apt-get install wrk (cargo xtask bench installs it)"
    );
    let redis = RedisServer::start();
    let venv = Venv::get();
    let original = python_dir().join("original");
    let node = crate::workers_bench::node_dir()?;

    let port = free_port();
    let python = {
        let api = ChildProcess::spawn(
            "uvicorn",
            Command::new(venv.bin("uvicorn"))
                .args(["app:app", "--port", &port.to_string(), "--log-level", "warning"])
                .env("REDIS_URL", redis.url())
                .current_dir(&original),
        );
        let worker = ChildProcess::spawn(
            "celery-worker",
            Command::new(venv.bin("celery"))
                .args(["-A", "tasks", "worker", "--pool=solo", "-l", "WARNING"])
                .env("REDIS_URL", redis.url())
                .env("NOTIFY_SIMULATED_SECS", SIMULATED_SEND_SECS.to_string())
                .current_dir(&original),
        );
        measure("Python original (FastAPI + Celery)", port, seconds, api, worker).await?
    };
    flush(&redis);

    let port = free_port();
    let fastify = {
        let api = ChildProcess::spawn(
            "fastify",
            Command::new("node")
                .arg("fastify_api.mjs")
                .env("PORT", port.to_string())
                .env("PROCESSES", FASTIFY_PROCESSES.to_string())
                .env("REDIS_URL", redis.url())
                .current_dir(&node),
        );
        // The job the other workers run: the original's 30-second simulated send, one at a time
        // (a no-op processor would drain the queue during the run, taking CPU from the API).
        let worker = ChildProcess::spawn(
            "bullmq-worker",
            Command::new("node")
                .args(["bullmq.mjs", "worker", "1", &SIMULATED_SEND_SECS.to_string()])
                .env("REDIS_URL", redis.url())
                .current_dir(&node),
        );
        measure("Fastify + BullMQ (Node)", port, seconds, api, worker).await?
    };
    flush(&redis);

    let port = free_port();
    let ours = {
        let api = ChildProcess::spawn(
            "stackdesk-api",
            Command::new(stackdesk)
                .args(["api", "--port", &port.to_string()])
                .env("REDIS_URL", redis.url())
                .env("TASK_HISTORY_MAX", HISTORY_MAX.to_string())
                .env("RUST_LOG", "warn"),
        );
        let worker = ChildProcess::spawn(
            "stackdesk-worker",
            Command::new(stackdesk)
                .arg("worker")
                .env("REDIS_URL", redis.url())
                .env("NOTIFY_SIMULATED_SECS", SIMULATED_SEND_SECS.to_string())
                .env("RUST_LOG", "warn"),
        );
        measure("Stackdesk (Rust)", port, seconds, api, worker).await?
    };
    flush(&redis);
    let limit = redis_bound(&redis)?;
    flush(&redis);

    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "| POST /products/, wrk 2 threads × {CONNECTIONS} connections, {seconds} s | Stackdesk (Rust) | Fastify + BullMQ (Node, {FASTIFY_PROCESSES} processes) | FastAPI + Celery (Python) |"
    )?;
    writeln!(out, "|---|---:|---:|---:|")?;
    writeln!(
        out,
        "| requests/s | {:.0} | {:.0} | {:.0} |",
        ours.requests_per_sec, fastify.requests_per_sec, python.requests_per_sec
    )?;
    writeln!(out, "| latency p50 | {:.2} ms | {:.2} ms | {:.2} ms |", ours.p50_ms, fastify.p50_ms, python.p50_ms)?;
    writeln!(out, "| latency p99 | {:.2} ms | {:.2} ms | {:.2} ms |", ours.p99_ms, fastify.p99_ms, python.p99_ms)?;
    writeln!(
        out,
        "| RSS of API + worker, idle | {:.1} MB | {:.1} MB | {:.1} MB |",
        ours.idle_rss_mb, fastify.idle_rss_mb, python.idle_rss_mb
    )?;
    writeln!(
        out,
        "| RSS of API + worker, peak under load | {:.1} MB | {:.1} MB | {:.1} MB |",
        ours.load_rss_mb, fastify.load_rss_mb, python.load_rss_mb
    )?;
    writeln!(
        out,
        "| ours ÷ this (requests/s) | — | {:.2}× | {:.1}× |",
        ours.requests_per_sec / fastify.requests_per_sec,
        ours.requests_per_sec / python.requests_per_sec
    )?;
    writeln!(
        out,
        "\nRedis-bound limit (redis-benchmark, {CONNECTIONS} clients, the create script `POST /products/` sends, {} calls): \
         {:.0} calls/s, p99 {:.2} ms; ours reaches {:.0} % of it.",
        limit.calls,
        limit.per_sec,
        limit.p99_ms,
        ours.requests_per_sec / limit.per_sec * 100.0
    )?;
    Ok(())
}

/// wrk's connections, and redis-benchmark's clients for the limit.
const CONNECTIONS: usize = 32;
/// How long each side's worker takes per task: `NOTIFY_SIMULATED_SECS`'s default and the
/// original's `time.sleep(30)`, so every worker holds its tasks and none drains the queue while
/// wrk runs.
const SIMULATED_SEND_SECS: u64 = 30;
/// Node processes of the Fastify peer (node:cluster), one per core.
const FASTIFY_PROCESSES: usize = 2;

/// What Redis alone can do of the API's work.
struct RedisBound {
    calls: usize,
    per_sec: f64,
    p99_ms: f64,
}

/// `redis-benchmark` sending the very script call `POST /products/` makes (a product, its task,
/// its PENDING record), from as many clients as wrk has connections, one call at a time each: a
/// reference line for what Redis can serve of this work, not a wall (an API that pipelines its
/// calls on one connection, as ours does, costs Redis less per call and could pass it).
fn redis_bound(redis: &RedisServer) -> anyhow::Result<RedisBound> {
    let input = api::model::ProductIn { name: "Phone".into(), price: 499.9, description: Some("benchmark".into()) };
    // Every call stores its task's record under a key of its own and enters it in the history
    // under a member of its own, as the API does. redis-benchmark draws each `__rand_int__` apart,
    // so the key and the member differ: the trim deletes records that were never stored, a little
    // lighter than the API's (which frees a kilobyte each).
    let call = api::store::CreateCall::for_benchmark(&input, HISTORY_MAX, "__rand_int__")
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let calls = 100_000;
    let fields = crate::procs::redis_benchmark_script(
        redis.port(),
        api::store::CreateCall::script(),
        &call.keys,
        &call.args,
        (calls, CONNECTIONS, 1),
    )?;
    let products: String = redis.raw_command(&["GET", layout::keys::NEXT_PRODUCT_ID]);
    ensure!(products.contains(&calls.to_string()), "redis-benchmark's calls did not all create a product: {products}");
    let history: String = redis.raw_command(&["ZCARD", layout::keys::TASKS]);
    ensure!(
        history.trim().trim_start_matches(':').parse::<usize>().ok() == Some(HISTORY_MAX),
        "the replay's history was not full and trimmed to {HISTORY_MAX}: {history}"
    );
    Ok(RedisBound {
        calls,
        per_sec: fields.first().copied().unwrap_or(f64::NAN),
        p99_ms: fields.get(5).copied().unwrap_or(f64::NAN),
    })
}

fn flush(redis: &RedisServer) {
    redis.raw_command(&["FLUSHALL"]);
}

async fn measure(
    label: &str,
    port: u16,
    seconds: u64,
    mut api: ChildProcess,
    mut worker: ChildProcess,
) -> anyhow::Result<Figures> {
    let url = format!("http://127.0.0.1:{port}/products/");
    wait_http(&format!("http://127.0.0.1:{port}/health"), &api).await?;
    // Let both processes finish starting (imports, connections) before the idle reading.
    let settle = Instant::now();
    let mut idle = 0.0;
    while settle.elapsed() < Duration::from_secs(2) {
        idle = rss_mb(api.id()) + rss_mb(worker.id());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!("{label}: idle RSS {idle:.1} MB; running wrk for {seconds} s");
    let (api_pid, worker_pid) = (api.id(), worker.id());
    let sampler = std::thread::spawn(move || {
        let mut peak: f64 = 0.0;
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(seconds) {
            peak = peak.max(rss_mb(api_pid) + rss_mb(worker_pid));
            std::thread::sleep(Duration::from_millis(100));
        }
        peak
    });
    let script = python_dir().join("post_product.lua");
    let output = tokio::task::spawn_blocking(move || {
        Command::new("wrk")
            .args(["-t2", &format!("-c{CONNECTIONS}"), &format!("-d{seconds}s"), "--latency", "-s"])
            .arg(&script)
            .arg(&url)
            .output()
    })
    .await?
    .context("running wrk (apt-get install wrk)")?;
    let peak = sampler.join().map_err(|_| anyhow::anyhow!("RSS sampler panicked"))?;
    let report = String::from_utf8_lossy(&output.stdout).into_owned();
    ensure!(output.status.success(), "wrk failed:\n{report}{}", String::from_utf8_lossy(&output.stderr));
    ensure!(!report.contains("Non-2xx"), "{label} answered errors under load:\n{report}");
    let figures = Figures {
        requests_per_sec: wrk_value(&report, "Requests/sec:")?,
        p50_ms: wrk_latency(&report, "50%")?,
        p99_ms: wrk_latency(&report, "99%")?,
        idle_rss_mb: idle,
        load_rss_mb: peak,
    };
    eprintln!("{label}: {figures:?}");
    api.terminate();
    worker.terminate();
    let _ = api.wait_exit(Duration::from_secs(30)).await;
    let _ = worker.wait_exit(Duration::from_secs(60)).await;
    Ok(figures)
}

/// Waits until `url` answers 200, or fails with what the process printed (it may have exited).
async fn wait_http(url: &str, process: &ChildProcess) -> anyhow::Result<()> {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(2)).build()?;
    let start = Instant::now();
    loop {
        let last = match client.get(url).send().await {
            Ok(response) if response.status().is_success() => return Ok(()),
            Ok(response) => format!("it answered {}", response.status()),
            Err(error) => format!("{error}"),
        };
        if start.elapsed() > Duration::from_secs(60) {
            bail!("{url} did not answer 200 within 60 s (last: {last}); the process printed:\n{}", process.output());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Resident memory of a process and its children, in MB (0 when it is gone).
fn rss_mb(pid: u32) -> f64 {
    crate::procs::rss_mb(pid)
}

fn wrk_value(report: &str, label: &str) -> anyhow::Result<f64> {
    report
        .lines()
        .find_map(|l| l.trim().strip_prefix(label))
        .and_then(|v| v.trim().parse().ok())
        .with_context(|| format!("no {label} in wrk's report:\n{report}"))
}

/// A latency percentile from wrk's `--latency` distribution, in milliseconds.
fn wrk_latency(report: &str, percentile: &str) -> anyhow::Result<f64> {
    let value = report
        .lines()
        .map(str::trim)
        .find_map(|l| l.strip_prefix(percentile).map(str::trim))
        .with_context(|| format!("no {percentile} latency in wrk's report:\n{report}"))?;
    let (number, unit) = value.split_at(value.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(value.len()));
    let number: f64 = number.parse().with_context(|| format!("latency {value:?}"))?;
    Ok(match unit {
        "us" => number / 1000.0,
        "ms" => number,
        "s" => number * 1000.0,
        "m" => number * 60_000.0,
        other => bail!("unknown latency unit {other:?}"),
    })
}
