//! The API benchmark: the Python original (FastAPI + uvicorn + Celery worker) and ours
//! (`stackdesk api` + `stackdesk worker`), on the same Redis, driven by `wrk` on
//! `POST /products/` (valid body, 32 connections, 2 threads); requests/s, p50, p99, and the RSS
//! of each side's API + worker, idle and at peak under load.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use test_support::python::{ChildProcess, Venv};
use test_support::redis::{RedisServer, free_port};

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

/// Runs both sides and prints the table.
pub async fn run(seconds: u64, stackdesk: &Path) -> anyhow::Result<()> {
    ensure!(
        stackdesk.exists(),
        "{} not found: build it with cargo build --release -p stackdesk-cli",
        stackdesk.display()
    );
    let redis = RedisServer::start();
    let venv = Venv::get();
    let original = python_dir().join("original");

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
                .current_dir(&original),
        );
        measure("Python original (FastAPI + Celery)", port, seconds, api, worker).await?
    };
    flush(&redis);

    let port = free_port();
    let ours = {
        let api = ChildProcess::spawn(
            "stackdesk-api",
            Command::new(stackdesk)
                .args(["api", "--port", &port.to_string()])
                .env("REDIS_URL", redis.url())
                .env("RUST_LOG", "warn"),
        );
        let worker = ChildProcess::spawn(
            "stackdesk-worker",
            Command::new(stackdesk).arg("worker").env("REDIS_URL", redis.url()).env("RUST_LOG", "warn"),
        );
        measure("Stackdesk (Rust)", port, seconds, api, worker).await?
    };
    flush(&redis);

    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "| POST /products/, wrk 2 threads × 32 connections, {seconds} s | Stackdesk (Rust) | FastAPI + Celery (Python) | ratio |"
    )?;
    writeln!(out, "|---|---:|---:|---:|")?;
    writeln!(
        out,
        "| requests/s | {:.0} | {:.0} | {:.1}× |",
        ours.requests_per_sec,
        python.requests_per_sec,
        ours.requests_per_sec / python.requests_per_sec
    )?;
    writeln!(
        out,
        "| latency p50 | {:.2} ms | {:.2} ms | {:.1}× lower |",
        ours.p50_ms,
        python.p50_ms,
        python.p50_ms / ours.p50_ms
    )?;
    writeln!(
        out,
        "| latency p99 | {:.2} ms | {:.2} ms | {:.1}× lower |",
        ours.p99_ms,
        python.p99_ms,
        python.p99_ms / ours.p99_ms
    )?;
    writeln!(
        out,
        "| RSS of API + worker, idle | {:.1} MB | {:.1} MB | {:.1}× smaller |",
        ours.idle_rss_mb,
        python.idle_rss_mb,
        python.idle_rss_mb / ours.idle_rss_mb
    )?;
    writeln!(
        out,
        "| RSS of API + worker, peak under load | {:.1} MB | {:.1} MB | {:.1}× smaller |",
        ours.load_rss_mb,
        python.load_rss_mb,
        python.load_rss_mb / ours.load_rss_mb
    )?;
    Ok(())
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
            .args(["-t2", "-c32", &format!("-d{seconds}s"), "--latency", "-s"])
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

async fn wait_http(url: &str, process: &ChildProcess) -> anyhow::Result<()> {
    let start = Instant::now();
    loop {
        let ok = Command::new("wrk").arg("--version").output().is_ok()
            && std::net::TcpStream::connect(url.trim_start_matches("http://").split('/').next().unwrap_or_default())
                .is_ok();
        if ok {
            return Ok(());
        }
        if start.elapsed() > Duration::from_secs(60) {
            bail!("{url} did not answer within 60 s:\n{}", process.output());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Resident memory of a process, in MB (0 when it is gone).
fn rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
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
