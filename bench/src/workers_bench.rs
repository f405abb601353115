//! The worker benchmark: the shipped `stackdesk worker` (its real task, a simulated send of 0 s)
//! beside BullMQ, Sidekiq, Celery and Dramatiq, on one Redis, in one run, by one method.
//!
//! For each worker and concurrency:
//! 1. the worker starts and one task is sent and waited for (start-up is not counted);
//! 2. N tasks are written by the peer's own client where no worker looks (database 15, or a paused
//!    BullMQ queue) and released at once (moved to database 0 in one `MULTI`, or resumed);
//! 3. the clock runs from the first task taken to the last one acknowledged (Redis polled every
//!    millisecond: the queue's length, what is still unacknowledged), with the worker's CPU time
//!    (its processes' user + system) and peak RSS read over the same span;
//! 4. then K tasks one after another: the per-task latency from send to result, with nothing
//!    queued ahead of it, each waited for as the peer's own client is told of it (ours and
//!    Celery's: on the result's channel, subscribed before sending; BullMQ: its `QueueEvents`;
//!    Dramatiq: its result backend's blocking get; Sidekiq, which has no way to wait: a poll).
//!
//! Every result is checked afterwards: N results stored, nothing left unacknowledged.

use std::io::{BufRead, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use serde_json::Value;
use test_support::python::{ChildProcess, Venv};
use test_support::redis::RedisServer;

use crate::procs;

/// A worker being measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// `stackdesk worker`, the shipped binary.
    Stackdesk,
    /// BullMQ (Node), a no-op processor, completed jobs kept.
    BullMq,
    /// Sidekiq 6.4 (Ruby, Debian's package), the job storing its own result.
    Sidekiq,
    /// Celery 5.7, the original's app: solo at concurrency 1, threads above.
    Celery,
    /// Dramatiq 2.2, Redis broker, results kept: one process of N threads.
    Dramatiq,
}

impl Peer {
    /// Every worker, ours first.
    pub const ALL: [Peer; 5] = [Peer::Stackdesk, Peer::BullMq, Peer::Sidekiq, Peer::Celery, Peer::Dramatiq];

    /// The peer called `name` on the command line (`stackdesk`, `bullmq`, `sidekiq`, `celery`,
    /// `dramatiq`).
    pub fn named(name: &str) -> anyhow::Result<Self> {
        Ok(match name {
            "stackdesk" => Peer::Stackdesk,
            "bullmq" => Peer::BullMq,
            "sidekiq" => Peer::Sidekiq,
            "celery" => Peer::Celery,
            "dramatiq" => Peer::Dramatiq,
            other => bail!("no peer {other:?}: stackdesk, bullmq, sidekiq, celery or dramatiq"),
        })
    }

    /// The name in tables.
    pub fn label(self) -> &'static str {
        match self {
            Peer::Stackdesk => "Stackdesk (`stackdesk worker`)",
            Peer::BullMq => "BullMQ 6.7 (Node)",
            Peer::Sidekiq => "Sidekiq 6.4 (Ruby)",
            Peer::Celery => "Celery 5.7",
            Peer::Dramatiq => "Dramatiq 2.2",
        }
    }

    /// How it runs at `concurrency`, in words.
    fn setting(self, concurrency: usize) -> String {
        match (self, concurrency) {
            (Peer::Celery, 1) => "--pool=solo".into(),
            (Peer::Celery, n) => format!("--pool=threads -c {n}"),
            (Peer::Dramatiq, n) => format!("-p 1 -t {n}"),
            (Peer::BullMq, n) => format!("concurrency {n}"),
            (Peer::Sidekiq, n) => format!("-c {n}"),
            (Peer::Stackdesk, n) => format!("WORKER_CONCURRENCY={n}"),
        }
    }

    fn worker(self, env: &Env, concurrency: usize) -> Command {
        let mut command = match self {
            Peer::Stackdesk => {
                let mut command = Command::new(&env.stackdesk);
                command
                    .arg("worker")
                    .env("NOTIFY_SIMULATED_SECS", "0")
                    .env("WORKER_CONCURRENCY", concurrency.to_string())
                    // "worker online" is the one line per process at info.
                    .env("RUST_LOG", "warn,taskq::worker=info")
                    .current_dir(env.scratch.path());
                command
            }
            Peer::BullMq => {
                let mut command = Command::new("node");
                command.arg("bullmq.mjs").arg("worker").arg(concurrency.to_string()).current_dir(&env.node_dir);
                command
            }
            Peer::Sidekiq => {
                let mut command = Command::new("sidekiq");
                command
                    .args(["-r", "./sidekiq_peer.rb", "-q", "default", "-c", &concurrency.to_string()])
                    .current_dir(&env.ruby_dir);
                command
            }
            Peer::Celery => {
                let mut command = Command::new(env.venv.bin("celery"));
                command.args(["-A", "celery_peer", "worker", "-E", "-l", "WARNING"]);
                if concurrency == 1 {
                    command.arg("--pool=solo");
                } else {
                    command.args(["--pool=threads", "-c", &concurrency.to_string()]);
                }
                command
                    .env("NOTIFY_SIMULATED_SECS", "0")
                    .env("PYTHONPATH", env.python_dir.join("original"))
                    .current_dir(&env.python_dir);
                command
            }
            Peer::Dramatiq => {
                let mut command = Command::new(env.venv.bin("dramatiq"));
                command
                    .args(["dramatiq_peer", "--processes", "1", "--threads", &concurrency.to_string()])
                    .current_dir(&env.python_dir);
                command
            }
        };
        command.env("REDIS_URL", env.live_url());
        command
    }

    fn driver(self, env: &Env) -> Command {
        let mut command = match self {
            Peer::Stackdesk | Peer::Celery => {
                let mut command = env.venv.python(&env.python_dir.join("peers.py"));
                command.arg("celery").current_dir(&env.python_dir);
                command
            }
            Peer::Dramatiq => {
                let mut command = env.venv.python(&env.python_dir.join("peers.py"));
                command.arg("dramatiq").current_dir(&env.python_dir);
                command
            }
            Peer::BullMq => {
                let mut command = Command::new("node");
                command.arg("bullmq.mjs").arg("driver").current_dir(&env.node_dir);
                command
            }
            Peer::Sidekiq => {
                let mut command = Command::new("ruby");
                command.arg("driver.rb").current_dir(&env.ruby_dir);
                command
            }
        };
        command.env("REDIS_URL", env.live_url()).env("STAGING_URL", env.staging_url());
        command
    }

    /// Tasks not yet taken by a worker, wherever they are (staged or live).
    fn untaken(self, live: &mut redis::Connection, staging: &mut redis::Connection) -> redis::RedisResult<usize> {
        let in_list = |list: &str, live: &mut redis::Connection, staging: &mut redis::Connection| {
            let staged: usize = redis::cmd("LLEN").arg(list).query(staging)?;
            let queued: usize = redis::cmd("LLEN").arg(list).query(live)?;
            Ok(staged + queued)
        };
        match self {
            Peer::Stackdesk | Peer::Celery => in_list("celery", live, staging),
            Peer::Dramatiq => in_list("dramatiq:default", live, staging),
            Peer::Sidekiq => in_list("queue:default", live, staging),
            Peer::BullMq => redis::pipe()
                .llen("bull:bench:wait")
                .llen("bull:bench:paused")
                .query(live)
                .map(|(wait, paused): (usize, usize)| wait + paused),
        }
    }

    /// Tasks not yet finished (taken or not), once the release has moved every staged task to the
    /// live database (one `MULTI`, or BullMQ's resume): 0 once the last one is acknowledged. One
    /// round trip, so the watcher takes as little as it can from the Redis it measures.
    fn unfinished(self, live: &mut redis::Connection, tasks: usize, done_before: usize) -> redis::RedisResult<usize> {
        match self {
            Peer::Stackdesk | Peer::Celery => redis::pipe()
                .llen("celery")
                .hlen("unacked")
                .query(live)
                .map(|(queued, unacked): (usize, usize)| queued + unacked),
            Peer::Dramatiq => redis::cmd("HLEN").arg("dramatiq:default.msgs").query(live),
            // Both count what finished: a BullMQ job is in `completed` once acknowledged, and a
            // Sidekiq job, held only in its worker's memory once taken, counts itself done.
            Peer::BullMq | Peer::Sidekiq => {
                let completed = self.finished(live)?;
                Ok((tasks + done_before).saturating_sub(completed))
            }
        }
    }

    /// Results stored so far (for the check after a run, and BullMQ's progress).
    fn finished(self, live: &mut redis::Connection) -> redis::RedisResult<usize> {
        match self {
            Peer::Stackdesk | Peer::Celery => count_keys(live, "celery-task-meta-*"),
            Peer::Dramatiq => count_keys(live, "dramatiq-results:*"),
            Peer::BullMq => redis::cmd("ZCARD").arg("bull:bench:completed").query(live),
            Peer::Sidekiq => redis::cmd("GET").arg("sidekiq-done").query(live).map(Option::unwrap_or_default),
        }
    }
}

fn count_keys(conn: &mut redis::Connection, pattern: &str) -> redis::RedisResult<usize> {
    let mut count = 0;
    let mut cursor = 0u64;
    loop {
        let (next, keys): (u64, Vec<String>) =
            redis::cmd("SCAN").arg(cursor).arg("MATCH").arg(pattern).arg("COUNT").arg(1000).query(conn)?;
        count += keys.len();
        if next == 0 {
            return Ok(count);
        }
        cursor = next;
    }
}

/// What every run shares.
pub struct Env {
    /// The Redis every worker uses, one at a time.
    pub redis: RedisServer,
    /// The shipped CLI.
    pub stackdesk: PathBuf,
    /// The bench's Python (Celery, Dramatiq, FastAPI).
    pub venv: Venv,
    /// `bench/python`.
    pub python_dir: PathBuf,
    /// `bench/node`, its packages installed.
    pub node_dir: PathBuf,
    /// `bench/ruby` (Sidekiq, from Debian's `ruby-sidekiq`).
    pub ruby_dir: PathBuf,
    /// Our worker's working directory (no `.env` of the checkout is read).
    pub scratch: tempfile::TempDir,
}

impl Env {
    /// A fresh Redis, the bench's venv (`<target>/bench-venv`) and Node packages, installed when
    /// missing or out of date.
    pub fn prepare(stackdesk: &Path) -> anyhow::Result<Self> {
        ensure!(
            stackdesk.exists(),
            "{} not found: build it with cargo build --release -p stackdesk-cli",
            stackdesk.display()
        );
        let root = test_support::target_dir().join("bench-venv");
        let venv = Venv::ensure_with(&root, include_str!("../python/requirements.txt"))
            .with_context(|| format!("preparing the bench's Python at {}", root.display()))?;
        Ok(Self {
            redis: RedisServer::start(),
            stackdesk: stackdesk.to_path_buf(),
            venv,
            python_dir: Path::new(env!("CARGO_MANIFEST_DIR")).join("python"),
            node_dir: node_dir()?,
            ruby_dir: Path::new(env!("CARGO_MANIFEST_DIR")).join("ruby"),
            scratch: tempfile::tempdir()?,
        })
    }

    fn live_url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.redis.port())
    }

    fn staging_url(&self) -> String {
        format!("redis://127.0.0.1:{}/15", self.redis.port())
    }

    fn flush(&self) {
        self.redis.raw_command(&["FLUSHALL"]);
    }
}

/// One worker's figures at one concurrency.
#[derive(Debug, Clone, Copy, Default)]
pub struct Figures {
    /// Tasks per second from the first taken to the last acknowledged.
    pub tasks_per_sec: f64,
    /// Latency of one task alone, send to result, median.
    pub p50_ms: f64,
    /// The same, 99th percentile.
    pub p99_ms: f64,
    /// Worker CPU (user + system, all its processes) per 1,000 tasks of the drain.
    pub cpu_per_1000: f64,
    /// The worker's peak resident memory during the drain (all its processes).
    pub rss_mb: f64,
    /// Redis's own CPU (user + system) per 1,000 tasks, from the release to the last
    /// acknowledgement: what the worker costs the Redis every peer shares (it includes the
    /// drain watcher's few reads per millisecond).
    pub redis_cpu_per_1000: f64,
}

/// Redis's CPU seconds so far (`INFO cpu`: `used_cpu_user` + `used_cpu_sys`).
fn redis_cpu_seconds(env: &Env) -> anyhow::Result<f64> {
    let info = env.redis.raw_command(&["INFO", "cpu"]);
    let field = |name: &str| {
        info.lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse::<f64>().ok())
            .with_context(|| format!("no {name} in INFO cpu: {info}"))
    };
    Ok(field("used_cpu_user:")? + field("used_cpu_sys:")?)
}

/// A driver process: the peer's own client, answering one JSON line per command.
struct Driver {
    name: &'static str,
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Driver {
    fn start(peer: Peer, env: &Env) -> anyhow::Result<Self> {
        let mut child = peer
            .driver(env)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting the {} client", peer.label()))?;
        let stdin = child.stdin.take().context("driver stdin")?;
        let stdout = BufReader::new(child.stdout.take().context("driver stdout")?);
        Ok(Self { name: peer.label(), child, stdin, stdout })
    }

    fn ask(&mut self, command: &str) -> anyhow::Result<Value> {
        writeln!(self.stdin, "{command}").with_context(|| format!("{}: sending {command:?}", self.name))?;
        self.stdin.flush()?;
        let mut line = String::new();
        self.stdout.read_line(&mut line)?;
        ensure!(!line.is_empty(), "{}'s client ended on {command:?} (its error is above)", self.name);
        serde_json::from_str(&line).with_context(|| format!("{}: answer {line:?}", self.name))
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Measures `peer` at `concurrency` with `processes` worker processes: a drain of `tasks`, then
/// `alone` single tasks.
pub fn measure(
    env: &Env,
    peer: Peer,
    concurrency: usize,
    processes: usize,
    tasks: usize,
    alone: usize,
) -> anyhow::Result<Figures> {
    env.flush();
    let label = format!("{} {} × {processes}", peer.label(), peer.setting(concurrency));
    let workers: Vec<ChildProcess> =
        (0..processes).map(|_| ChildProcess::spawn("worker", &mut peer.worker(env, concurrency))).collect();
    let outputs = |workers: &[ChildProcess]| workers.iter().map(ChildProcess::output).collect::<Vec<_>>().join("\n");
    if peer == Peer::Stackdesk {
        for worker in &workers {
            wait_for_line(worker, "worker online")?;
        }
    }
    let mut driver = Driver::start(peer, env)?;
    for _ in 0..processes {
        driver.ask("warm").with_context(|| format!("{label}: warming up; the workers said:\n{}", outputs(&workers)))?;
    }
    driver.ask(&format!("fill {tasks}"))?;

    let live_client = redis::Client::open(env.live_url())?;
    let staging_client = redis::Client::open(env.staging_url())?;
    let (mut live, mut staging) = (live_client.get_connection()?, staging_client.get_connection()?);
    let done_before = peer.finished(&mut live)?;
    ensure!(peer.untaken(&mut live, &mut staging)? == tasks, "{label}: {tasks} tasks were not all staged");

    let pids: Vec<u32> = workers.iter().map(ChildProcess::id).collect();
    let watch = std::thread::spawn(move || watch_drain(peer, live, staging, tasks, done_before, &pids));
    let redis_cpu_before = redis_cpu_seconds(env)?;
    driver.ask("release")?;
    let drain = watch.join().map_err(|_| anyhow::anyhow!("the drain watcher panicked"))??;
    let redis_cpu = redis_cpu_seconds(env)? - redis_cpu_before;

    let mut live = live_client.get_connection()?;
    let stored = peer.finished(&mut live)? - done_before;
    ensure!(stored == tasks, "{label}: {stored} results stored for {tasks} tasks:\n{}", outputs(&workers));
    if peer == Peer::Sidekiq {
        // Its count is the job's own: a job run twice would count twice, but store one key.
        let keys = count_keys(&mut live, "sidekiq-result:*")?;
        ensure!(keys == tasks + done_before, "{label}: {keys} result keys for {} jobs", tasks + done_before);
    }
    let answer = driver.ask(&format!("latency {alone}"))?;
    let mut millis: Vec<f64> =
        answer["millis"].as_array().context("latency answer")?.iter().filter_map(Value::as_f64).collect();
    ensure!(millis.len() == alone, "{label}: {} latencies for {alone} tasks", millis.len());
    millis.sort_by(f64::total_cmp);
    drop(driver);
    let figures = Figures {
        tasks_per_sec: tasks as f64 / drain.seconds,
        p50_ms: percentile(&millis, 0.50),
        p99_ms: percentile(&millis, 0.99),
        cpu_per_1000: drain.cpu_seconds / tasks as f64 * 1000.0,
        rss_mb: drain.peak_rss_mb,
        redis_cpu_per_1000: redis_cpu / tasks as f64 * 1000.0,
    };
    eprintln!("{label}: {tasks} in {:.3} s; {figures:?}", drain.seconds);
    for worker in workers {
        stop(worker);
    }
    Ok(figures)
}

/// Waits until `worker` has printed `line` (a minute at most).
fn wait_for_line(worker: &ChildProcess, line: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !worker.output().contains(line) {
        ensure!(Instant::now() < deadline, "no {line:?} within a minute:\n{}", worker.output());
        ensure!(procs::alive(worker.id()), "the worker exited:\n{}", worker.output());
        // Pacing the check (start-up is not timed).
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(())
}

fn stop(mut worker: ChildProcess) {
    worker.terminate();
    let deadline = Instant::now() + Duration::from_secs(20);
    while procs::alive(worker.id()) && Instant::now() < deadline {
        // Pacing the check (a worker's own shutdown is not timed).
        std::thread::sleep(Duration::from_millis(20));
    }
    worker.kill();
}

/// One real task's texts: its message as Celery's `send_task` writes it, its results, one of its
/// events (for the Redis-bound ceiling's script).
pub struct SampleTask {
    /// The kombu envelope.
    pub envelope: String,
    /// A STARTED result.
    pub started: String,
    /// Its SUCCESS result.
    pub succeeded: String,
    /// The channel its first event came on.
    pub event_channel: String,
    /// That event's message.
    pub event: String,
}

/// Runs one task through `stackdesk worker` and keeps what it wrote.
pub fn sample_task(env: &Env) -> anyhow::Result<SampleTask> {
    env.flush();
    let worker = ChildProcess::spawn("worker", &mut Peer::Stackdesk.worker(env, 1));
    wait_for_line(&worker, "worker online")?;
    let client = redis::Client::open(env.live_url())?;
    let mut events = client.get_connection()?;
    let mut pubsub = events.as_pubsub();
    pubsub.psubscribe("/0.celeryev/task.*")?;
    pubsub.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut driver = Driver::start(Peer::Stackdesk, env)?;
    driver.ask("warm")?;
    let first = pubsub.get_message().context("no task event from the worker")?;
    let (event_channel, event) = (first.get_channel_name().to_string(), first.get_payload::<String>()?);
    drop(pubsub);
    let mut conn = client.get_connection()?;
    let (_, keys): (u64, Vec<String>) =
        redis::cmd("SCAN").arg(0).arg("MATCH").arg("celery-task-meta-*").arg("COUNT").arg(1000).query(&mut conn)?;
    let key = keys.first().context("no result stored by the warm-up task")?;
    let succeeded: String = redis::cmd("GET").arg(key).query(&mut conn)?;
    let started = succeeded.replacen("\"SUCCESS\"", "\"STARTED\"", 1);
    driver.ask("fill 1")?;
    let mut staging = redis::Client::open(env.staging_url())?.get_connection()?;
    let envelope: String = redis::cmd("LINDEX").arg("celery").arg(0).query(&mut staging)?;
    drop(driver);
    stop(worker);
    env.flush();
    Ok(SampleTask { envelope, started, succeeded, event_channel, event })
}

/// What the watcher saw of one drain.
struct Drain {
    seconds: f64,
    cpu_seconds: f64,
    peak_rss_mb: f64,
}

/// Polls Redis every millisecond from just before the release: starts the clock (and reads the
/// worker's CPU time) when the first task is taken, stops it when none is unfinished.
fn watch_drain(
    peer: Peer,
    mut live: redis::Connection,
    mut staging: redis::Connection,
    tasks: usize,
    done_before: usize,
    pids: &[u32],
) -> anyhow::Result<Drain> {
    let cpu = || pids.iter().map(|p| procs::cpu_seconds(*p)).sum::<f64>();
    let rss = || pids.iter().map(|p| procs::rss_mb(*p)).sum::<f64>();
    let limit = Instant::now() + Duration::from_secs(900);
    let mut first: Option<(Instant, f64)> = None;
    let mut peak_rss_mb: f64 = 0.0;
    let mut polls = 0u64;
    loop {
        ensure!(Instant::now() < limit, "{}: not drained in 15 minutes", peer.label());
        if first.is_none() && peer.untaken(&mut live, &mut staging)? < tasks {
            first = Some((Instant::now(), cpu()));
        }
        if let Some((started, cpu_at_first)) = first
            && peer.unfinished(&mut live, tasks, done_before)? == 0
        {
            let seconds = started.elapsed().as_secs_f64();
            let cpu_seconds = cpu() - cpu_at_first;
            return Ok(Drain { seconds, cpu_seconds, peak_rss_mb: peak_rss_mb.max(rss()) });
        }
        if polls.is_multiple_of(50) {
            peak_rss_mb = peak_rss_mb.max(rss());
        }
        polls += 1;
        // Measurement pacing, not synchronisation: a millisecond's resolution on runs of seconds.
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// The value at `q` (0..1) of sorted `values`, nearest rank.
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// The peers side by side at each concurrency: prints one table per concurrency and the ratios
/// of ours to the fastest peer.
pub fn compare(env: &Env, peers: &[Peer], concurrencies: &[usize], tasks: usize, alone: usize) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let mut summary = Vec::new();
    for &concurrency in concurrencies {
        let mut rows = Vec::new();
        for &peer in peers {
            rows.push((peer, measure(env, peer, concurrency, 1, tasks, alone)?));
        }
        let ours = rows.iter().find(|(p, _)| *p == Peer::Stackdesk).map(|(_, f)| *f);
        writeln!(
            out,
            "\n| {tasks} zero-work tasks, concurrency {concurrency} | setting | tasks/s | p50 alone | p99 alone | CPU s / 1000 tasks | Redis CPU s / 1000 tasks | peak RSS | ours ÷ this |"
        )?;
        writeln!(out, "|---|---|---:|---:|---:|---:|---:|---:|---:|")?;
        for (peer, f) in &rows {
            let ratio = ours.map_or_else(|| "—".to_string(), |o| format!("{:.2}×", o.tasks_per_sec / f.tasks_per_sec));
            writeln!(
                out,
                "| {} | {} | {:.0} | {:.2} ms | {:.2} ms | {:.3} | {:.3} | {:.1} MB | {ratio} |",
                peer.label(),
                peer.setting(concurrency),
                f.tasks_per_sec,
                f.p50_ms,
                f.p99_ms,
                f.cpu_per_1000,
                f.redis_cpu_per_1000,
                f.rss_mb
            )?;
        }
        let fastest = rows
            .iter()
            .filter(|(p, _)| *p != Peer::Stackdesk)
            .max_by(|a, b| a.1.tasks_per_sec.total_cmp(&b.1.tasks_per_sec));
        if let (Some(ours), Some((peer, f))) = (ours, fastest) {
            summary.push(format!(
                "concurrency {concurrency}: ours {:.0}/s, the fastest peer {} {:.0}/s: {:.2}×",
                ours.tasks_per_sec,
                peer.label(),
                f.tasks_per_sec,
                ours.tasks_per_sec / f.tasks_per_sec
            ));
        }
        out.flush()?;
    }
    writeln!(out)?;
    for line in summary {
        writeln!(out, "- {line}")?;
    }
    Ok(())
}

/// `bench/node` with its locked packages installed (`npm ci` when the lock changed).
pub fn node_dir() -> anyhow::Result<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("node");
    let lock = std::fs::read_to_string(dir.join("package-lock.json")).context("bench/node/package-lock.json")?;
    let installed = dir.join("node_modules").join(".stackdesk-lock");
    if std::fs::read_to_string(&installed).is_ok_and(|l| l == lock) {
        return Ok(dir);
    }
    eprintln!("installing the Node peers (npm ci in {})", dir.display());
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(&dir)
        .status()
        .context("running npm (Node 20 and npm are needed for the BullMQ peer)")?;
    if !status.success() {
        bail!("npm ci in {} failed ({status})", dir.display());
    }
    std::fs::write(&installed, lock)?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn nearest_rank_percentiles() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&values, 0.5), 50.0);
        assert_eq!(percentile(&values, 0.99), 99.0);
        assert_eq!(percentile(&[3.0], 0.99), 3.0);
    }
}
