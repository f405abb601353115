//! Health beside the process states, against a real redis-server, the real API (in this process,
//! on a socket) and a real worker runtime: Redis stopped degrades the API (by its own `/health`)
//! and the worker within 3 s, and both recover; a worker that goes silent is degraded after two
//! heartbeat intervals; the stack's snapshot keeps the running API's URL after a saved port change.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use desk::health::{Health, ProbeTargets, Prober, Problem, Rules, StackHealth};
use desk::{DeskEvent, SettingsUpdate, Stack, StackOptions};
use supervisor::{Event, Mode, ProcessKind, ProcessState, ProcessStatus};
use taskq::{Broker, BrokerOptions, Registry, Worker, WorkerConfig};
use test_support::redis::RedisServer;
use test_support::wait;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// The API, served on a free port of 127.0.0.1 until the token fires.
async fn serve_api(redis_url: &str, tasks: &mut JoinSet<()>, stop: &CancellationToken) -> u16 {
    let broker = Broker::connect(redis_url, BrokerOptions::default()).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let state = api::AppState::new(&broker, api::ApiOptions::default(), stop.clone());
    let stop = stop.clone();
    tasks.spawn(async move {
        api::serve(listener, state, stop).await.unwrap();
    });
    port
}

/// A worker runtime named `hostname` that sends a heartbeat every `every`, until `stop` fires.
async fn run_worker(
    redis_url: &str,
    hostname: &str,
    every: Duration,
    tasks: &mut JoinSet<()>,
    stop: &CancellationToken,
) {
    let broker = Broker::connect(redis_url, BrokerOptions::default()).await.unwrap();
    let config = WorkerConfig {
        hostname: hostname.into(),
        queues: vec![format!("health-{hostname}")],
        heartbeat_interval: every,
        poll_interval: Duration::from_millis(200),
        ..WorkerConfig::default()
    };
    let stop = stop.clone();
    tasks.spawn(async move {
        let _ = Worker::new(broker, Registry::new(), config).run(stop).await;
    });
}

fn status(kind: ProcessKind, mode: Mode, state: ProcessState) -> ProcessStatus {
    let mut status = ProcessStatus::new(kind, mode, None);
    status.state = state;
    status.ready_since = Some(SystemTime::now());
    status
}

/// Statuses the test sets (as the supervisor would), and the health the prober reports.
struct Watch {
    statuses: Arc<Mutex<Vec<ProcessStatus>>>,
    changes: broadcast::Sender<Event>,
    health: watch::Receiver<Option<StackHealth>>,
    prober: Prober,
}

fn watch(targets: ProbeTargets, statuses: Vec<ProcessStatus>) -> Watch {
    let statuses = Arc::new(Mutex::new(statuses));
    let (changes, _) = broadcast::channel(16);
    let (tx, health) = watch::channel(None);
    let source = statuses.clone();
    let prober = Prober::start(
        targets,
        Arc::new(move || source.lock().unwrap().clone()),
        changes.subscribe(),
        Arc::new(move |h: &StackHealth| {
            tx.send_replace(Some(h.clone()));
        }),
    )
    .unwrap();
    Watch { statuses, changes, health, prober }
}

impl Watch {
    /// Waits until the reported health satisfies `check`.
    async fn until(&self, what: &str, deadline: Duration, check: impl Fn(&StackHealth) -> bool) -> StackHealth {
        wait::until(what, deadline, || {
            let now = self.health.borrow().clone().filter(|h| check(h));
            async move { now }
        })
        .await
    }

    /// Sets a process's state and tells the prober, as the supervisor does.
    fn set(&self, kind: ProcessKind, state: ProcessState) {
        let mut statuses = self.statuses.lock().unwrap();
        let entry = statuses.iter_mut().find(|s| s.process == kind).unwrap();
        let old = entry.state;
        entry.state = state;
        entry.ready_since = Some(SystemTime::now());
        let _ = self.changes.send(Event::State { old, status: entry.clone() });
    }
}

fn degraded_by(health: &Health, problem: &Problem) -> bool {
    matches!(health, Health::Degraded { problem: p, .. } if p == problem)
}

fn all_healthy(h: &StackHealth) -> bool {
    [&h.redis, &h.api, &h.worker].iter().all(|x| **x == Health::Healthy)
}

fn shutdown_redis(redis: &RedisServer) {
    // SHUTDOWN closes the connection instead of answering: there is nothing to read.
    let _ = std::net::TcpStream::connect(("127.0.0.1", redis.port())).and_then(|mut stream| {
        use std::io::{Read as _, Write as _};
        stream.write_all(b"*2\r\n$8\r\nSHUTDOWN\r\n$6\r\nNOSAVE\r\n")?;
        let mut rest = Vec::new();
        stream.read_to_end(&mut rest)
    });
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_stopping_degrades_the_api_by_its_health_and_the_worker_within_3_s_and_both_recover() {
    let mut redis = RedisServer::start();
    let stop = CancellationToken::new();
    let mut tasks = JoinSet::new();
    let api_port = serve_api(&redis.url(), &mut tasks, &stop).await;
    let name = format!("health-{}@test", std::process::id());
    run_worker(&redis.url(), &name, Duration::from_millis(300), &mut tasks, &stop).await;
    let targets = ProbeTargets {
        redis_url: redis.url(),
        api_port,
        worker_name: Some(name.clone()),
        interval: desk::health::PROBE_INTERVAL,
        rules: Rules::default(),
    };
    // Redis is external here: only the PING can tell it is gone (the supervisor's state cannot).
    let w = watch(
        targets,
        vec![
            status(ProcessKind::Redis, Mode::External, ProcessState::External),
            status(ProcessKind::Api, Mode::Managed, ProcessState::Running),
            status(ProcessKind::Worker, Mode::Managed, ProcessState::Running),
        ],
    );
    w.until("all three healthy", Duration::from_secs(10), all_healthy).await;

    shutdown_redis(&redis);
    let began = std::time::Instant::now();
    let seen = w
        .until("Redis, the API and the worker degraded", Duration::from_secs(3), |h| {
            degraded_by(&h.redis, &Problem::RedisNoAnswer)
                && degraded_by(&h.api, &Problem::ApiRedisUnreachable)
                && degraded_by(&h.worker, &Problem::WorkerRedisUnreachable)
        })
        .await;
    eprintln!("degraded {:?} after Redis stopped: {seen:?}", began.elapsed());
    let Health::Degraded { detail: Some(detail), .. } = &seen.api else { panic!("no detail: {seen:?}") };
    assert!(detail.contains("Redis"), "the API's own reason is kept: {detail}");
    // The snapshot path agrees with the events.
    let now = w.prober.health(&w.statuses.lock().unwrap().clone());
    assert!(matches!(now.api, Health::Degraded { .. }), "{now:?}");

    // Redis back on the same port: the API's /health is 200 again, the worker heartbeats again.
    redis.restart();
    w.until("all three healthy again", Duration::from_secs(15), all_healthy).await;

    // A stopped API is down (its state says so), not degraded.
    w.set(ProcessKind::Api, ProcessState::Stopped);
    w.until("the API down", Duration::from_secs(3), |h| h.api == Health::Down).await;

    w.prober.stop().await;
    stop.cancel();
    while tasks.join_next().await.is_some() {}
}

#[tokio::test(flavor = "multi_thread")]
async fn a_worker_silent_for_two_heartbeat_intervals_is_degraded_and_only_its_own_heartbeats_count() {
    let redis = RedisServer::start();
    let name = format!("silent-{}@test", std::process::id());
    let every = Duration::from_millis(300);
    let rules = Rules { default_heartbeat: every, heartbeat_grace: Duration::from_millis(300) };
    let targets = ProbeTargets {
        redis_url: redis.url(),
        api_port: test_support::redis::free_port(),
        worker_name: Some(name.clone()),
        interval: Duration::from_millis(100),
        rules,
    };
    let w = watch(
        targets,
        vec![
            status(ProcessKind::Redis, Mode::Managed, ProcessState::Running),
            status(ProcessKind::Api, Mode::Managed, ProcessState::Stopped),
            status(ProcessKind::Worker, Mode::Managed, ProcessState::Running),
        ],
    );
    // No worker sends anything: silent once 2 × 0.3 s + 0.3 s have passed.
    let silent = w
        .until("the worker silent", Duration::from_secs(5), |h| {
            matches!(h.worker, Health::Degraded { problem: Problem::WorkerSilent { .. }, .. })
        })
        .await;
    let Health::Degraded { problem: Problem::WorkerSilent { limit_secs }, .. } = silent.worker else { unreachable!() };
    assert!((limit_secs - 0.9).abs() < 1e-9, "{limit_secs}");
    assert_eq!(silent.api, Health::Down, "a stopped API has no health of its own");
    assert_eq!(silent.redis, Health::Healthy);

    // Another worker's heartbeats are not ours.
    let others = CancellationToken::new();
    let mut tasks = JoinSet::new();
    run_worker(&redis.url(), "someone-else@test", every, &mut tasks, &others).await;
    let mut events =
        taskq::EventReceiver::connect(&Broker::connect(&redis.url(), BrokerOptions::default()).await.unwrap())
            .await
            .unwrap();
    // Two heartbeats of the other worker seen on Redis, and ours still silent.
    let heard = tokio::time::timeout(Duration::from_secs(5), async {
        let mut heartbeats = 0;
        while heartbeats < 2 {
            let event = events.next().await.expect("the event stream ended");
            if event.hostname == "someone-else@test" && event.kind == taskq::events::EventKind::WorkerHeartbeat {
                heartbeats += 1;
            }
        }
    })
    .await;
    assert!(heard.is_ok(), "the other worker sent no heartbeats");
    assert!(matches!(w.health.borrow().as_ref().unwrap().worker, Health::Degraded { .. }), "still silent");

    // Ours starts: healthy; stops: silent again, from its last heartbeat.
    let ours = CancellationToken::new();
    run_worker(&redis.url(), &name, every, &mut tasks, &ours).await;
    w.until("our worker healthy", Duration::from_secs(5), |h| h.worker == Health::Healthy).await;
    ours.cancel();
    w.until("our worker silent again", Duration::from_secs(5), |h| matches!(h.worker, Health::Degraded { .. })).await;

    w.prober.stop().await;
    others.cancel();
    while tasks.join_next().await.is_some() {}
}

#[tokio::test]
async fn the_api_is_judged_by_its_own_health_endpoint() {
    // Nothing listens on the API's port: it runs (as far as the supervisor knows) but does not answer.
    let silent = watch(
        ProbeTargets {
            redis_url: format!("redis://127.0.0.1:{}/0", test_support::redis::free_port()),
            api_port: test_support::redis::free_port(),
            worker_name: None,
            interval: Duration::from_millis(100),
            rules: Rules::default(),
        },
        vec![status(ProcessKind::Api, Mode::Managed, ProcessState::Running)],
    );
    let seen = silent
        .until("the API not answering", Duration::from_secs(5), |h| degraded_by(&h.api, &Problem::ApiNoAnswer))
        .await;
    assert_eq!(seen.redis, Health::Down, "a process not listed is down");
    silent.prober.stop().await;

    // The API answers, but its Redis is gone before the first probe: the 503's detail is the reason.
    let redis = RedisServer::start();
    let stop = CancellationToken::new();
    let mut tasks = JoinSet::new();
    let api_port = serve_api(&redis.url(), &mut tasks, &stop).await;
    let url = redis.url();
    drop(redis);
    let cut_off = watch(
        ProbeTargets {
            redis_url: url,
            api_port,
            worker_name: None,
            interval: Duration::from_millis(100),
            rules: Rules::default(),
        },
        vec![status(ProcessKind::Api, Mode::Managed, ProcessState::Running)],
    );
    let seen = cut_off
        .until("the API degraded", Duration::from_secs(5), |h| degraded_by(&h.api, &Problem::ApiRedisUnreachable))
        .await;
    let Health::Degraded { detail: Some(detail), .. } = &seen.api else { panic!("{seen:?}") };
    assert!(detail.starts_with("Redis "), "{detail}");
    cut_off.prober.stop().await;
    stop.cancel();
    while tasks.join_next().await.is_some() {}
}

#[tokio::test(flavor = "multi_thread")]
async fn the_stack_reports_health_and_keeps_the_running_api_url_until_the_restart() {
    let redis = RedisServer::start();
    let stop = CancellationToken::new();
    let mut tasks = JoinSet::new();
    let api_port = serve_api(&redis.url(), &mut tasks, &stop).await;
    run_worker(&redis.url(), "learner@test", Duration::from_millis(300), &mut tasks, &stop).await;

    // The whole stack external: nothing to spawn, everything probed.
    let dirs = tempfile::tempdir().unwrap();
    let mut options = StackOptions::new(dirs.path().join("config"), dirs.path().join("data"), "/nonexistent".into());
    options.env = [("REDIS_URL", redis.url()), ("API_PORT", api_port.to_string())]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    let stack = Stack::new(options).unwrap();
    stack
        .save_settings(&SettingsUpdate { external: Some(ProcessKind::ALL.to_vec()), ..SettingsUpdate::default() })
        .unwrap();
    let mut events = stack.subscribe();
    let snapshot = stack.start().await.unwrap();
    assert!(all_healthy(&snapshot.health), "{:?}", snapshot.health);
    assert!(snapshot.restart_pending.is_empty());
    let running_url = format!("http://127.0.0.1:{api_port}");
    assert_eq!(snapshot.api_url, running_url);

    // A new API port, saved: the page keeps the running API until the restart, which is pending.
    let new_port = test_support::redis::free_port();
    let update = SettingsUpdate {
        values: [("API_PORT".to_string(), new_port.to_string())].into_iter().collect(),
        ..SettingsUpdate::default()
    };
    stack.save_settings(&update).unwrap();
    let snapshot = stack.snapshot();
    assert_eq!(snapshot.api_url, running_url, "the page must keep talking to the API that runs");
    assert_eq!(snapshot.docs_url, format!("{running_url}/docs"));
    assert_eq!(snapshot.restart_pending, vec![ProcessKind::Api]);

    // Redis stops: the UI is told, by health events, within 3 s, that the API and the worker
    // are degraded (each is probed on its own: one event may come before the other).
    drop(redis);
    wait::until("health events with the API and the worker degraded", Duration::from_secs(3), || {
        let mut found = None;
        while let Ok(event) = events.try_recv() {
            if let DeskEvent::Health { health, .. } = event
                && matches!(health.api, Health::Degraded { .. })
                && degraded_by(&health.worker, &Problem::WorkerRedisUnreachable)
            {
                found = Some(health);
            }
        }
        async move { found }
    })
    .await;
    assert!(matches!(stack.snapshot().health.api, Health::Degraded { .. }));

    // Stopped: nothing is pending, and the saved port is the one to use.
    let snapshot = stack.stop().await.unwrap();
    assert!(snapshot.restart_pending.is_empty());
    assert_eq!(snapshot.api_url, format!("http://127.0.0.1:{new_port}"));
    assert_eq!(snapshot.health, StackHealth::down());
    stack.shutdown().await;
    stop.cancel();
    while tasks.join_next().await.is_some() {}
}
