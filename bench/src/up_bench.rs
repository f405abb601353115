//! The supervisor benchmark: from `start` to all three ready, and from `stop` to all gone, over
//! repeated runs; beside it, the floor: each process's own time to become ready (redis-server to
//! answer PING, `stackdesk api` to answer /health, `stackdesk worker` to send worker-online) and
//! to exit when asked.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use supervisor::{Mode, RestartPolicy, Supervisor, SupervisorConfig, paths, probe};
use taskq::{Broker, BrokerOptions, EventKind, EventReceiver};
use test_support::redis::free_port;

fn config(data: &Path, stackdesk: &Path) -> SupervisorConfig {
    let redis_port = free_port();
    SupervisorConfig {
        data_dir: data.to_path_buf(),
        redis_port,
        redis_url: format!("redis://127.0.0.1:{redis_port}/0"),
        redis_binary: None,
        api_port: free_port(),
        stackdesk_exe: stackdesk.to_path_buf(),
        modes: [Mode::Managed; 3],
        worker_name: format!("bench-{}@stackdesk", std::process::id()),
        secrets: Vec::new(),
        child_env: vec![("RUST_LOG".into(), "warn".into())],
        ready_timeout: Duration::from_secs(30),
        stop_timeout: Duration::from_secs(10),
        restart: RestartPolicy::default(),
        observer: None,
    }
}

/// (median, min, max) in milliseconds.
fn summary(mut samples: Vec<f64>) -> (f64, f64, f64) {
    samples.sort_by(f64::total_cmp);
    let median = samples[samples.len() / 2];
    (median, samples[0], samples[samples.len() - 1])
}

/// Runs `runs` start/stop cycles and the floor measurements, and prints the table.
pub async fn run(runs: usize, stackdesk: &Path) -> anyhow::Result<()> {
    ensure!(
        stackdesk.exists(),
        "{} not found: build it with cargo build --release -p stackdesk-cli",
        stackdesk.display()
    );
    let (mut up, mut down) = (Vec::new(), Vec::new());
    let mut floors: [Vec<f64>; 6] = Default::default();
    for run in 0..runs {
        let data = tempfile::tempdir()?;
        let supervisor = Supervisor::new(config(data.path(), stackdesk))?;
        let started = Instant::now();
        supervisor.start().await.with_context(|| format!("run {run}"))?;
        up.push(started.elapsed().as_secs_f64() * 1000.0);
        let stopping = Instant::now();
        supervisor.stop().await?;
        down.push(stopping.elapsed().as_secs_f64() * 1000.0);
        supervisor.shutdown().await;
        for (i, ms) in floor(data.path(), stackdesk).await?.into_iter().enumerate() {
            floors[i].push(ms);
        }
    }
    let (up_med, up_min, up_max) = summary(up);
    let (down_med, down_min, down_max) = summary(down);
    let medians: Vec<f64> = floors.into_iter().map(|f| summary(f).0).collect();
    let (start_floor, stop_floor) = (medians[0] + medians[1] + medians[2], medians[3] + medians[4] + medians[5]);
    let mut out = std::io::stdout().lock();
    writeln!(out, "| {runs} runs | median | min | max | floor: the processes' own times (median) |")?;
    writeln!(out, "|---|---:|---:|---:|---|")?;
    writeln!(
        out,
        "| start → all three ready | {up_med:.0} ms | {up_min:.0} ms | {up_max:.0} ms | {start_floor:.0} ms = redis {:.0} + api {:.0} + worker {:.0} |",
        medians[0], medians[1], medians[2]
    )?;
    writeln!(
        out,
        "| stop → all gone | {down_med:.0} ms | {down_min:.0} ms | {down_max:.0} ms | {stop_floor:.0} ms = worker {:.0} + api {:.0} + redis {:.0} |",
        medians[5], medians[4], medians[3]
    )?;
    Ok(())
}

/// Each process started by hand, in order, timed to ready; then each stopped by hand, timed to exit.
/// Returns [redis, api, worker start; redis, api, worker stop] in milliseconds.
async fn floor(data: &Path, stackdesk: &Path) -> anyhow::Result<[f64; 6]> {
    let redis_port = free_port();
    let api_port = free_port();
    let url = format!("redis://127.0.0.1:{redis_port}/0");
    let dir = data.join("floor");
    std::fs::create_dir_all(&dir)?;
    let conf = dir.join("redis.conf");
    std::fs::write(&conf, paths::redis_conf(redis_port, &dir, &Default::default(), "unknown"))?;
    let binary = paths::find_redis(None, None)?;

    let t = Instant::now();
    let mut redis = Command::new(&binary.path).arg(&conf).stdout(Stdio::null()).spawn()?;
    while probe::redis_ping(redis_port, &Default::default()) != probe::Ping::Pong {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let redis_start = t.elapsed();

    let t = Instant::now();
    let mut api = Command::new(stackdesk)
        .args(["api", "--port", &api_port.to_string()])
        .env("REDIS_URL", &url)
        .env("RUST_LOG", "warn")
        .spawn()?;
    while !probe::api_health_once(api_port) {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let api_start = t.elapsed();

    let broker = Broker::connect(&url, BrokerOptions::default()).await?;
    let mut events = EventReceiver::connect(&broker).await?;
    let t = Instant::now();
    let mut worker = Command::new(stackdesk).arg("worker").env("REDIS_URL", &url).env("RUST_LOG", "warn").spawn()?;
    while let Some(event) = events.next().await {
        if event.kind == EventKind::WorkerOnline {
            break;
        }
    }
    let worker_start = t.elapsed();

    let stop = |child: &mut std::process::Child| -> anyhow::Result<Duration> {
        let t = Instant::now();
        Command::new("kill").arg("-TERM").arg(child.id().to_string()).status()?;
        child.wait()?;
        Ok(t.elapsed())
    };
    let worker_stop = stop(&mut worker)?;
    let api_stop = stop(&mut api)?;
    let t = Instant::now();
    let _ = probe::redis_command(redis_port, &Default::default(), &["SHUTDOWN"]);
    redis.wait()?;
    let redis_stop = t.elapsed();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    Ok([ms(redis_start), ms(api_start), ms(worker_start), ms(redis_stop), ms(api_stop), ms(worker_stop)])
}
