//! The chaos soak: `stackdesk up` under a steady stream of POSTs while a seeded random schedule
//! kills Redis, the API and the worker (SIGKILL) and pauses Redis (SIGSTOP for 2–20 s). Then:
//! every product answered 201 exists, every accepted task ends in SUCCESS within a bounded settle
//! time, the supervisor never gave up, and `up`'s memory stayed flat (every process's is printed).
//! It prints its figures, and the seed to replay a run.
//!
//! Two minutes in the test command; longer with `cargo xtask soak --minutes N [--seed S]`
//! (`STACKDESK_SOAK_MINUTES`, `STACKDESK_SOAK_SEED`).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::{Value, json};
use supervisor::ProcessKind;
use test_support::python::ChildProcess;
use test_support::redis::free_port;
use tokio_util::sync::CancellationToken;

use crate::process;

/// POSTs per second.
const RATE: u64 = 25;
/// How long accepted tasks get to finish once the faults stop.
const SETTLE: Duration = Duration::from_secs(90);

/// A small deterministic generator (SplitMix64): the same seed, the same schedule.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `low..=high`.
    fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low + 1)
    }
}

/// A fault the schedule injects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Fault {
    Kill(ProcessKind),
    PauseRedis,
}

impl Fault {
    fn name(self) -> String {
        match self {
            Fault::Kill(kind) => format!("SIGKILL {kind}"),
            Fault::PauseRedis => "SIGSTOP redis".into(),
        }
    }
}

/// The pid of `kind` among `up`'s children, if it runs now.
fn pid_of(up: u32, kind: ProcessKind) -> Option<u32> {
    children(up).into_iter().find(|pid| {
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let args: Vec<String> = cmdline.split(|b| *b == 0).map(|a| String::from_utf8_lossy(a).into_owned()).collect();
        match kind {
            ProcessKind::Redis => args.first().is_some_and(|a| a.contains("redis-server")),
            ProcessKind::Api => args.get(1).is_some_and(|a| a == "api"),
            ProcessKind::Worker => args.get(1).is_some_and(|a| a == "worker"),
        }
    })
}

fn children(parent: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|entry| {
            let pid = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            let mut rest = stat.rsplit(')').next()?.split_whitespace();
            let state = rest.next()?;
            let ppid = rest.next()?.parse::<u32>().ok()?;
            (ppid == parent && state != "Z").then_some(pid)
        })
        .collect()
}

/// Resident memory of `pid`, in MB.
fn rss_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?.split_whitespace().next()?.parse().ok()?;
    Some(kb / 1024.0)
}

fn signal(pid: u32, signal: Signal) {
    let _ = kill(Pid::from_raw(pid as i32), signal);
}

/// What the load saw.
#[derive(Default)]
struct Load {
    /// (product id, task id) of every 201.
    accepted: Vec<(u64, String)>,
    /// Answers by status (0: no answer).
    answers: BTreeMap<u16, u64>,
    /// When the last 201 came, and since when none has (an outage in progress).
    last_ok: Option<Instant>,
    failing_since: Option<Instant>,
    /// Longest outage per fault (the last fault before it).
    outages: BTreeMap<String, Duration>,
}

async fn post_loop(base: String, load: Arc<Mutex<Load>>, last_fault: Arc<Mutex<String>>, stop: CancellationToken) {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
    let mut tick = tokio::time::interval(Duration::from_millis(1000 / RATE));
    let mut n = 0u64;
    let mut sending = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            _ = tick.tick() => {}
        }
        n += 1;
        let (client, base, load, last_fault) = (client.clone(), base.clone(), load.clone(), last_fault.clone());
        sending.spawn(async move {
            let body = json!({"name": format!("soak {n}"), "price": 1.5, "description": "хаос"});
            let answer = client.post(format!("{base}/products/")).json(&body).send().await;
            let (status, created) = match answer {
                Ok(answer) => {
                    let status = answer.status().as_u16();
                    (status, if status == 201 { answer.json::<Value>().await.ok() } else { None })
                }
                Err(_) => (0, None),
            };
            let now = Instant::now();
            let mut load = load.lock().unwrap();
            *load.answers.entry(status).or_default() += 1;
            match created {
                Some(product) => {
                    let id = product["id"].as_u64().unwrap();
                    load.accepted.push((id, product["task_id"].as_str().unwrap().to_string()));
                    if let Some(since) = load.failing_since.take() {
                        let fault = last_fault.lock().unwrap().clone();
                        let outage = now.duration_since(since);
                        let longest = load.outages.entry(fault).or_default();
                        *longest = (*longest).max(outage);
                    }
                    load.last_ok = Some(now);
                }
                None => {
                    if load.failing_since.is_none() {
                        load.failing_since = Some(load.last_ok.unwrap_or(now));
                    }
                }
            }
        });
        while sending.try_join_next().is_some() {}
    }
    while sending.join_next().await.is_some() {}
}

/// Counts `task-started` and `task-succeeded` per task on the event fanout, reconnecting while
/// Redis is away (what is missed then is missed: duplicates are a lower bound).
async fn count_events(redis_url: String, counts: Arc<Mutex<HashMap<String, (u32, u32)>>>, stop: CancellationToken) {
    use futures_util::StreamExt as _;
    while !stop.is_cancelled() {
        let Ok(client) = redis::Client::open(redis_url.as_str()) else { return };
        let Ok(Ok(mut pubsub)) = tokio::time::timeout(Duration::from_secs(2), client.get_async_pubsub()).await else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        if pubsub.psubscribe("/0.celeryev/task.*").await.is_err() {
            continue;
        }
        let mut messages = pubsub.on_message();
        loop {
            let next = tokio::select! {
                () = stop.cancelled() => return,
                next = tokio::time::timeout(Duration::from_secs(3), messages.next()) => next,
            };
            // Silence for 3 s (Redis paused or gone): subscribe again.
            let Ok(Some(message)) = next else { break };
            let Ok(payload) = message.get_payload::<String>() else { continue };
            let Ok(envelope) = serde_json::from_str::<Value>(&payload) else { continue };
            let Some(body) = envelope["body"].as_str() else { continue };
            use base64::Engine as _;
            let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(body) else { continue };
            let Ok(event) = serde_json::from_slice::<Value>(&bytes) else { continue };
            let events = if event.is_array() { event.as_array().unwrap().clone() } else { vec![event] };
            let mut counts = counts.lock().unwrap();
            for event in events {
                let (Some(kind), Some(uuid)) = (event["type"].as_str(), event["uuid"].as_str()) else { continue };
                let entry = counts.entry(uuid.to_string()).or_default();
                match kind {
                    "task-started" => entry.0 += 1,
                    "task-succeeded" => entry.1 += 1,
                    _ => {}
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn chaos_soak_loses_nothing_and_the_supervisor_never_gives_up() {
    let minutes: f64 = std::env::var("STACKDESK_SOAK_MINUTES").ok().and_then(|m| m.parse().ok()).unwrap_or(2.0);
    let seed: u64 = std::env::var("STACKDESK_SOAK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        // A fixed schedule in the test command (a red run is a finding, the same again);
        // `cargo xtask soak` picks a new seed each run unless given one.
        .unwrap_or(7);
    eprintln!("chaos soak: {minutes} min, seed {seed} (replay: STACKDESK_SOAK_SEED={seed})");
    let data = tempfile::tempdir().unwrap();
    let (redis_port, api_port, monitor_port) = (free_port(), free_port(), free_port());
    let redis_url = format!("redis://127.0.0.1:{redis_port}/0");
    let mut command = process::stackdesk();
    command
        .arg("up")
        .env("STACKDESK_DATA_DIR", data.path())
        .env("REDIS_URL", &redis_url)
        .env("API_PORT", api_port.to_string())
        .env("MONITOR_PORT", monitor_port.to_string())
        .env("NOTIFY_SIMULATED_SECS", "0.01")
        .env("RUST_LOG", "warn");
    let mut up = ChildProcess::spawn("stackdesk-up", &mut command);
    up.wait_for_output("ready: API on", Duration::from_secs(60)).await;
    let up_pid = up.id();
    let base = format!("http://127.0.0.1:{api_port}");

    let stop = CancellationToken::new();
    let load = Arc::new(Mutex::new(Load::default()));
    let last_fault = Arc::new(Mutex::new("none".to_string()));
    let events = Arc::new(Mutex::new(HashMap::new()));
    let posting = tokio::spawn(post_loop(base.clone(), load.clone(), last_fault.clone(), stop.clone()));
    let counting = tokio::spawn(count_events(redis_url.clone(), events.clone(), stop.clone()));

    // The schedule, and memory samples every few seconds.
    let mut rng = Rng(seed);
    let mut faults: BTreeMap<Fault, u32> = BTreeMap::new();
    let mut round: Vec<Fault> = Vec::new();
    let mut rss: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let mut paused = Duration::ZERO;
    let began = Instant::now();
    let length = Duration::from_secs_f64(minutes * 60.0);
    while began.elapsed() < length {
        let gap = Duration::from_millis(rng.between(4_000, 10_000));
        let until = Instant::now() + gap;
        while Instant::now() < until {
            for (name, pid) in [
                ("up (and its monitor)", Some(up_pid)),
                ("redis-server", pid_of(up_pid, ProcessKind::Redis)),
                ("api", pid_of(up_pid, ProcessKind::Api)),
                ("worker", pid_of(up_pid, ProcessKind::Worker)),
            ] {
                if let Some(mb) = pid.and_then(rss_mb) {
                    rss.entry(name).or_default().push(mb);
                }
            }
            // Pacing the schedule (not waiting for anything to happen).
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        if began.elapsed() >= length {
            break;
        }
        // Each round of four holds every fault once, in a random order.
        if round.is_empty() {
            round = vec![
                Fault::Kill(ProcessKind::Redis),
                Fault::Kill(ProcessKind::Api),
                Fault::Kill(ProcessKind::Worker),
                Fault::PauseRedis,
            ];
            for i in (1..round.len()).rev() {
                round.swap(i, rng.between(0, i as u64) as usize);
            }
        }
        let fault = round.pop().unwrap();
        let kind = match fault {
            Fault::Kill(kind) => kind,
            Fault::PauseRedis => ProcessKind::Redis,
        };
        // A process still restarting is not there to hit: that fault is skipped.
        let Some(pid) = pid_of(up_pid, kind) else { continue };
        *last_fault.lock().unwrap() = fault.name();
        *faults.entry(fault).or_default() += 1;
        match fault {
            Fault::Kill(_) => signal(pid, Signal::SIGKILL),
            Fault::PauseRedis => {
                let pause = Duration::from_millis(rng.between(2_000, 20_000));
                signal(pid, Signal::SIGSTOP);
                tokio::time::sleep(pause).await;
                signal(pid, Signal::SIGCONT);
                paused += pause;
            }
        }
    }
    stop.cancel();
    posting.await.unwrap();
    let load_took = began.elapsed();

    // Settle: the faults have stopped; every accepted task must end in SUCCESS.
    let accepted = load.lock().unwrap().accepted.clone();
    let conn = redis::Client::open(redis_url.as_str()).unwrap();
    let settle_began = Instant::now();
    let mut conn = test_support::wait::until("Redis to answer after the soak", Duration::from_secs(30), || {
        let conn = conn.clone();
        async move { conn.get_multiplexed_async_connection().await.ok() }
    })
    .await;
    let mut missing_products = Vec::new();
    for (id, _) in &accepted {
        let exists: bool =
            redis::cmd("EXISTS").arg(format!("stackdesk:product:{id}")).query_async(&mut conn).await.unwrap();
        if !exists {
            missing_products.push(*id);
        }
    }
    let mut unfinished: Vec<String> = accepted.iter().map(|(_, task)| task.clone()).collect();
    while !unfinished.is_empty() && settle_began.elapsed() < SETTLE {
        let keys: Vec<String> = unfinished.iter().map(|t| format!("celery-task-meta-{t}")).collect();
        let metas: Vec<Option<String>> = redis::cmd("MGET").arg(&keys).query_async(&mut conn).await.unwrap();
        unfinished = unfinished
            .into_iter()
            .zip(metas)
            .filter(|(_, meta)| !meta.as_deref().is_some_and(|m| m.contains("\"status\": \"SUCCESS\"")))
            .map(|(task, _)| task)
            .collect();
        if !unfinished.is_empty() {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    let settled_in = settle_began.elapsed();
    counting.abort();

    let log = up.output();
    // `up` prints a crash loop's reason (supervisor's `Reason::CrashLoop`) with these words.
    let gave_up = log.lines().filter(|l| l.contains("stopped restarting")).count();
    let health = reqwest::get(format!("{base}/health")).await.map(|r| r.status().as_u16()).unwrap_or(0);
    let (started_twice, succeeded_twice) = {
        let events = events.lock().unwrap();
        (events.values().filter(|(s, _)| *s > 1).count(), events.values().filter(|(_, s)| *s > 1).count())
    };

    // The figures.
    let (answers, outages) = {
        let load = load.lock().unwrap();
        (load.answers.clone(), load.outages.clone())
    };
    let requests: u64 = answers.values().sum();
    let mut figures = format!(
        "\n| chaos soak, seed {seed} | |\n|---|---:|\n| minutes under load | {:.1} |\n",
        load_took.as_secs_f64() / 60.0
    );
    for (fault, count) in &faults {
        figures.push_str(&format!("| {} | {count} |\n", fault.name()));
    }
    figures.push_str(&format!("| requests | {requests} |\n"));
    for (status, count) in &answers {
        let name = if *status == 0 { "no answer (timeout, refused)".to_string() } else { format!("answered {status}") };
        figures.push_str(&format!("| {name} | {count} |\n"));
    }
    figures.push_str(&format!(
        "| products present / 201s | {} / {} |\n| tasks SUCCESS / accepted | {} / {} (settled in {:.1} s) |\n\
         | tasks started more than once (seen) | {started_twice} |\n| tasks succeeded more than once (seen) | {succeeded_twice} |\n",
        accepted.len() - missing_products.len(),
        accepted.len(),
        accepted.len() - unfinished.len(),
        accepted.len(),
        settled_in.as_secs_f64(),
    ));
    for (fault, outage) in &outages {
        figures.push_str(&format!("| longest outage after {fault} | {:.1} s |\n", outage.as_secs_f64()));
    }
    for (name, samples) in &rss {
        let (min, max) = samples.iter().fold((f64::MAX, 0.0f64), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
        figures.push_str(&format!("| RSS {name}, min–max | {min:.1}–{max:.1} MB |\n"));
    }
    eprintln!("{figures}");

    let replay = format!("(replay: STACKDESK_SOAK_SEED={seed} STACKDESK_SOAK_MINUTES={minutes})");
    assert!(missing_products.is_empty(), "201 products missing: {missing_products:?} {replay}");
    assert!(
        unfinished.is_empty(),
        "{} accepted tasks not SUCCESS after {SETTLE:?}: {:?} {replay}",
        unfinished.len(),
        &unfinished[..unfinished.len().min(10)]
    );
    assert_eq!(gave_up, 0, "the supervisor gave up on a process {replay}");
    assert_eq!(health, 200, "the API is healthy at the end {replay}");
    assert!(
        accepted.len() as f64 > load_took.saturating_sub(paused).as_secs_f64() * RATE as f64 * 0.5,
        "too few 201s: the stack was mostly down outside Redis's pauses ({paused:?}) {replay}"
    );
    // Flat memory: `up` lives through the whole soak; its last samples stay near its first.
    let up_rss = &rss["up (and its monitor)"];
    let third = (up_rss.len() / 3).max(1);
    let early = up_rss[..third].iter().cloned().fold(0.0, f64::max);
    let late = up_rss[up_rss.len() - third..].iter().cloned().fold(0.0, f64::max);
    assert!(late <= early * 1.5 + 16.0, "up's memory grew from {early:.1} MB to {late:.1} MB {replay}");
    process::stop(&mut up).await;
}
