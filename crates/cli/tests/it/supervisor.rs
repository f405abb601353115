//! The supervisor with real processes: redis-server and this crate's `stackdesk` binary.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use supervisor::{
    Mode, PortOwner, ProcessKind, ProcessState, RestartPolicy, Supervisor, SupervisorConfig, SupervisorError,
};
use test_support::redis::{RedisServer, free_port};

use crate::process::InProcessMonitor;

fn config(data: &Path) -> SupervisorConfig {
    let redis_port = free_port();
    SupervisorConfig {
        data_dir: data.to_path_buf(),
        redis_port,
        redis_url: format!("redis://127.0.0.1:{redis_port}/0"),
        redis_binary: None,
        api_port: free_port(),
        stackdesk_exe: env!("CARGO_BIN_EXE_stackdesk").into(),
        modes: [Mode::Managed; 3],
        worker_name: format!("sup-{}@test", std::process::id()),
        secrets: Vec::new(),
        child_env: vec![
            ("NOTIFY_SIMULATED_SECS".into(), "0.02".into()),
            ("TASK_RETRY_COUNTDOWN_SECS".into(), "0".into()),
            ("TELEGRAM_BOT_TOKEN".into(), String::new()),
            ("TELEGRAM_CHAT_ID".into(), String::new()),
            ("RUST_LOG".into(), "info".into()),
        ],
        ready_timeout: Duration::from_secs(30),
        stop_timeout: Duration::from_secs(10),
        restart: RestartPolicy { initial_backoff: Duration::from_millis(100), ..RestartPolicy::default() },
        observer: None,
    }
}

/// Whether `pid` is a live process (zombies count as dead).
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|stat| stat.rsplit(')').next().is_some_and(|rest| !rest.trim_start().starts_with('Z')))
}

/// Creates a product through the API; its JSON.
async fn post_product(client: &reqwest::Client, base: &str, name: &str) -> Value {
    let answer =
        client.post(format!("{base}/products/")).json(&json!({"name": name, "price": 1})).send().await.unwrap();
    assert_eq!(answer.status(), 201);
    answer.json().await.unwrap()
}

fn state(supervisor: &Supervisor, kind: ProcessKind) -> supervisor::ProcessStatus {
    supervisor.status().into_iter().find(|s| s.process == kind).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn start_brings_up_all_three_and_stop_leaves_none() {
    let data = tempfile::tempdir().unwrap();
    let supervisor = Supervisor::new(config(data.path())).unwrap();
    supervisor.start().await.unwrap();
    let status = supervisor.status();
    assert!(status.iter().all(|s| s.state == ProcessState::Running), "{status:#?}");
    let pids: Vec<u32> = status.iter().map(|s| s.pid.unwrap()).collect();
    assert!(pids.iter().all(|pid| alive(*pid)));
    let conf = std::fs::read_to_string(data.path().join("redis.conf")).unwrap();
    assert!(conf.contains("appendonly yes") && conf.contains("bind 127.0.0.1"), "{conf}");
    assert!(supervisor.logs().tail(ProcessKind::Redis, 50).iter().any(|l| l.contains("Ready to accept connections")));
    assert!(matches!(supervisor.start().await, Err(SupervisorError::Busy(_))), "a second start is refused");

    supervisor.stop().await.unwrap();
    assert!(supervisor.status().iter().all(|s| s.state == ProcessState::Stopped && s.pid.is_none()));
    for pid in pids {
        assert!(!alive(pid), "pid {pid} is still alive after stop");
    }
    assert!(std::fs::read_to_string(data.path().join("logs/api.log")).unwrap().contains("API listening"));
    for private in ["redis", "logs"] {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(data.path().join(private)).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "{private}/ is its owner's alone: {mode:o}");
    }
    supervisor.shutdown().await;
}

/// POSTs products in a loop until told to stop; returns (product id, task id) of every 201.
async fn post_stream(base: String, stop: tokio_util::sync::CancellationToken) -> Vec<(u64, String)> {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
    let mut accepted = Vec::new();
    let mut n = 0;
    while !stop.is_cancelled() {
        n += 1;
        if let Ok(response) =
            client.post(format!("{base}/products/")).json(&json!({"name": format!("p{n}"), "price": 1})).send().await
            && response.status() == 201
            && let Ok(product) = response.json::<Value>().await
        {
            accepted.push((product["id"].as_u64().unwrap(), product["task_id"].as_str().unwrap().to_string()));
        }
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
    accepted
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_of_each_process_under_load_loses_nothing() {
    let data = tempfile::tempdir().unwrap();
    let mut config = config(data.path());
    // Slower than the POSTs, so the worker always holds messages (prefetch) when it is killed.
    config.child_env.push(("NOTIFY_SIMULATED_SECS".into(), "0.05".into()));
    let base = format!("http://127.0.0.1:{}", config.api_port);
    let redis_url = config.redis_url.clone();
    let supervisor = Supervisor::new(config).unwrap();
    supervisor.start().await.unwrap();
    let monitor = InProcessMonitor::start(&redis_url).await;
    let stop = tokio_util::sync::CancellationToken::new();
    let stream = tokio::spawn(post_stream(base.clone(), stop.clone()));
    let client = reqwest::Client::new();
    let count = || {
        let (client, base) = (client.clone(), base.clone());
        async move {
            client
                .get(format!("{base}/products/?limit=500"))
                .send()
                .await
                .ok()?
                .json::<Value>()
                .await
                .ok()?
                .as_array()
                .map(Vec::len)
        }
    };
    test_support::wait::until("products to flow", Duration::from_secs(30), || async {
        count().await.filter(|n| *n >= 10)
    })
    .await;

    let unacked = || {
        let url = redis_url.clone();
        async move {
            let client = redis::Client::open(url).ok()?;
            let mut conn = client.get_multiplexed_async_connection().await.ok()?;
            redis::cmd("HLEN").arg("unacked").query_async::<usize>(&mut conn).await.ok()
        }
    };
    for kind in [ProcessKind::Redis, ProcessKind::Api, ProcessKind::Worker] {
        if kind == ProcessKind::Worker {
            test_support::wait::until("the worker to hold messages", Duration::from_secs(30), || async {
                unacked().await.filter(|n| *n >= 2)
            })
            .await;
        }
        let before = state(&supervisor, kind);
        let pid = before.pid.unwrap();
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), nix::sys::signal::Signal::SIGKILL).unwrap();
        let after = test_support::wait::until(&format!("{kind} to be restarted"), Duration::from_secs(30), || {
            let status = state(&supervisor, kind);
            std::future::ready((status.state == ProcessState::Running && status.pid != Some(pid)).then_some(status))
        })
        .await;
        assert_eq!(after.restarts, before.restarts + 1, "{kind}");
        let seen = count().await.unwrap_or(0);
        test_support::wait::until(
            &format!("products to flow again after killing {kind}"),
            Duration::from_secs(30),
            || async { count().await.filter(|n| *n >= seen + 5) },
        )
        .await;
    }
    stop.cancel();
    let accepted = stream.await.unwrap();
    assert!(accepted.len() >= 20, "only {} products accepted", accepted.len());
    for (id, task_id) in &accepted {
        let product = client.get(format!("{base}/products/{id}")).send().await.unwrap();
        assert_eq!(product.status(), 200, "product {id} got a 201 but is gone");
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let task: Value = client
                .get(format!("{}/tasks/{task_id}", monitor.base))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap_or(Value::Null);
            if task["state"] == "SUCCESS" {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "task {task_id} of product {id} did not succeed: {task}\nunacked: {:?}\nworker log: {:#?}",
                unacked().await,
                supervisor.logs().tail(ProcessKind::Worker, 30)
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    supervisor.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn ports_in_use_are_reported_with_their_owner() {
    let data = tempfile::tempdir().unwrap();
    let redis = RedisServer::start();
    let mut taken = config(data.path());
    taken.redis_port = redis.port();
    taken.redis_url = redis.url();
    let supervisor = Supervisor::new(taken.clone()).unwrap();
    let err = supervisor.start().await.unwrap_err();
    assert!(
        matches!(err, SupervisorError::PortTaken { process: ProcessKind::Redis, owner: PortOwner::Redis, .. }),
        "{err}"
    );
    assert!(
        err.to_string().contains("already used by a running Redis") && err.to_string().contains("external"),
        "{err}"
    );
    supervisor.shutdown().await;

    // That Redis can be used as an external one instead.
    taken.modes[0] = Mode::External;
    let supervisor = Supervisor::new(taken).unwrap();
    supervisor.start().await.unwrap();
    assert_eq!(state(&supervisor, ProcessKind::Redis).state, ProcessState::External);
    assert_eq!(state(&supervisor, ProcessKind::Worker).state, ProcessState::Running);
    supervisor.shutdown().await;
    assert!(
        test_support::redis::free_port() > 0 && redis.raw_command(&["PING"]).starts_with("+PONG"),
        "an external Redis is left running"
    );

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut api_taken = config(data.path());
    api_taken.api_port = listener.local_addr().unwrap().port();
    let supervisor = Supervisor::new(api_taken).unwrap();
    let err = supervisor.start().await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains(&format!("(pid {})", std::process::id())), "names the owner: {text}");
    assert!(text.contains("API_PORT"), "{text}");
    assert!(supervisor.status().iter().all(|s| s.pid.is_none()), "nothing was started");
    supervisor.shutdown().await;
}

#[tokio::test]
async fn a_missing_redis_server_is_a_clear_error() {
    let data = tempfile::tempdir().unwrap();
    let mut missing = config(data.path());
    missing.redis_binary = Some("/nonexistent/redis-server".into());
    let supervisor = Supervisor::new(missing).unwrap();
    let err = supervisor.start().await.unwrap_err();
    assert!(matches!(err, SupervisorError::RedisNotFound { .. }));
    assert!(err.to_string().contains("REDIS_SERVER=/nonexistent/redis-server"), "{err}");
    supervisor.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crash_loop_pauses_restarts_with_the_reason_then_tries_again_on_its_own() {
    let data = tempfile::tempdir().unwrap();
    let mut looping = config(data.path());
    looping.restart = RestartPolicy {
        initial_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(200),
        crash_limit: 3,
        crash_window: Duration::from_secs(60),
        give_up_pause: Duration::from_secs(2),
        ..RestartPolicy::default()
    };
    // A worker that says it is online, then dies half a second later, every time.
    let mut headers = serde_json::Map::new();
    headers.insert("hostname".into(), json!(looping.worker_name));
    let properties = serde_json::from_value(json!({"delivery_mode": 1, "delivery_info": {"exchange": "celeryev", "routing_key": "worker.online"}, "priority": 0, "body_encoding": "base64", "delivery_tag": "t"})).unwrap();
    let online = taskq::Envelope::for_payload(
        &json!({"hostname": looping.worker_name, "type": "worker-online", "timestamp": 1.0, "clock": 1}),
        headers,
        properties,
    )
    .unwrap()
    .to_json()
    .unwrap();
    let script = data.path().join("flaky-stackdesk.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nif [ \"$1\" = worker ]; then\n  redis-cli -p {port} PUBLISH /0.celeryev/worker.online '{online}' >/dev/null\n  echo 'fake worker: about to crash' >&2\n  sleep 0.5\n  exit 3\nfi\nexec {real} \"$@\"\n",
            port = looping.redis_port,
            real = env!("CARGO_BIN_EXE_stackdesk"),
        ),
    )
    .unwrap();
    std::process::Command::new("chmod").arg("+x").arg(&script).status().unwrap();
    looping.stackdesk_exe = script;
    let supervisor = Supervisor::new(looping).unwrap();
    supervisor.start().await.unwrap();
    let given_up =
        test_support::wait::until("the supervisor to give up on the worker", Duration::from_secs(30), || {
            let status = state(&supervisor, ProcessKind::Worker);
            std::future::ready(
                (status.state == ProcessState::Crashed
                    && matches!(status.reason, Some(supervisor::Reason::CrashLoop { .. })))
                .then_some(status),
            )
        })
        .await;
    let reason = given_up.reason.unwrap();
    let supervisor::Reason::CrashLoop { count, window_secs, pause_secs, cause } = &reason else { unreachable!() };
    assert_eq!((*count, *window_secs, *pause_secs), (3, 60, 2), "{reason:?}");
    assert_eq!(*cause, supervisor::Cause::Exited { how: supervisor::ExitHow::Code { code: 3 } });
    // In the terminal: what happened and what to do there (the app words it itself).
    let text = reason.to_string();
    assert!(text.contains("crashed 3 times within 60 s") && text.contains("exit code 3"), "{text}");
    assert!(text.contains("for 2 s") && text.contains("tried again on its own"), "{text}");
    let log = supervisor.logs().tail(ProcessKind::Worker, 50).join("\n");
    assert!(log.contains("worker crashed 3 times within 60 s"), "{log}");
    assert_eq!(given_up.restarts, 2);
    assert!(supervisor.logs().tail(ProcessKind::Worker, 20).iter().any(|l| l.contains("fake worker: about to crash")));
    assert_eq!(state(&supervisor, ProcessKind::Api).state, ProcessState::Running, "the others keep running");
    // Never for good: after the pause it is tried again.
    test_support::wait::until("the worker tried again after the pause", Duration::from_secs(20), || {
        std::future::ready((state(&supervisor, ProcessKind::Worker).restarts > 2).then_some(()))
    })
    .await;
    supervisor.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn killing_up_with_sigkill_leaves_no_child_alive() {
    let data = tempfile::tempdir().unwrap();
    let (redis_port, api_port) = (free_port(), free_port());
    let env: HashMap<&str, String> = HashMap::from([
        ("STACKDESK_DATA_DIR", data.path().display().to_string()),
        ("REDIS_URL", format!("redis://127.0.0.1:{redis_port}/0")),
        ("API_PORT", api_port.to_string()),
        ("MONITOR_PORT", free_port().to_string()),
    ]);
    let mut command = crate::process::stackdesk();
    command.arg("up").envs(env);
    let mut up = test_support::python::ChildProcess::spawn("stackdesk-up", &mut command);
    up.wait_for_output("ready: API on", Duration::from_secs(60)).await;
    let children: Vec<u32> = children_of(up.id());
    assert_eq!(children.len(), 3, "redis, api and worker under `up`: {children:?}");
    up.kill();
    test_support::wait::until("every child of the killed supervisor to be gone", Duration::from_secs(2), || {
        std::future::ready(children.iter().all(|pid| !alive(*pid)).then_some(()))
    })
    .await;
}

fn children_of(parent: u32) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        let ppid =
            stat.rsplit(')').next().and_then(|rest| rest.split_whitespace().nth(1)).and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(parent) && alive(pid) {
            found.push(pid);
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread")]
async fn one_process_stops_and_starts_while_the_rest_runs_on() {
    let data = tempfile::tempdir().unwrap();
    let config = config(data.path());
    let base = format!("http://127.0.0.1:{}", config.api_port);
    let redis_url = config.redis_url.clone();
    let supervisor = Supervisor::new(config).unwrap();
    assert!(
        matches!(supervisor.stop_process(ProcessKind::Worker).await, Err(SupervisorError::NotUp)),
        "a single process cannot be stopped before Start"
    );
    supervisor.start().await.unwrap();
    let monitor = InProcessMonitor::start(&redis_url).await;
    let worker_pid = state(&supervisor, ProcessKind::Worker).pid.unwrap();

    supervisor.stop_process(ProcessKind::Worker).await.unwrap();
    assert_eq!(state(&supervisor, ProcessKind::Worker).state, ProcessState::Stopped);
    assert!(!alive(worker_pid));
    assert_eq!(state(&supervisor, ProcessKind::Api).state, ProcessState::Running, "the API runs on");

    let client = reqwest::Client::new();
    let created = post_product(&client, &base, "queued").await;
    let task = format!("{}/tasks/{}", monitor.base, created["task_id"].as_str().unwrap());
    let state_of = |task: String| {
        let client = client.clone();
        async move { client.get(task).send().await.unwrap().json::<Value>().await.unwrap()["state"].clone() }
    };
    assert_eq!(state_of(task.clone()).await, "PENDING", "no worker: the task waits in the queue");

    supervisor.start_process(ProcessKind::Worker).await.unwrap();
    let worker = state(&supervisor, ProcessKind::Worker);
    assert_eq!(worker.state, ProcessState::Running);
    assert_ne!(worker.pid, Some(worker_pid));
    test_support::wait::until("the queued task to complete once the worker is back", Duration::from_secs(20), || {
        let task = task.clone();
        let state_of = &state_of;
        async move { (state_of(task).await == "SUCCESS").then_some(()) }
    })
    .await;

    supervisor.restart_process(ProcessKind::Api).await.unwrap();
    assert_eq!(state(&supervisor, ProcessKind::Api).state, ProcessState::Running);
    assert_eq!(client.get(format!("{base}/health")).send().await.unwrap().status(), 200);
    supervisor.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_worker_is_restarted_with_the_new_environment_and_its_task_redelivered() {
    let data = tempfile::tempdir().unwrap();
    let mut config = config(data.path());
    // Long enough to kill the worker while it runs the task.
    config.child_env.push(("NOTIFY_SIMULATED_SECS".into(), "30".into()));
    let base = format!("http://127.0.0.1:{}", config.api_port);
    let redis_url = config.redis_url.clone();
    let mut env = config.child_env.clone();
    let supervisor = Supervisor::new(config).unwrap();
    assert!(matches!(supervisor.kill_process(ProcessKind::Worker).await, Err(SupervisorError::NotUp)));
    supervisor.start().await.unwrap();
    let monitor = InProcessMonitor::start(&redis_url).await;
    let worker_pid = state(&supervisor, ProcessKind::Worker).pid.unwrap();

    let client = reqwest::Client::new();
    let created = post_product(&client, &base, "doomed").await;
    let task_url = format!("{}/tasks/{}", monitor.base, created["task_id"].as_str().unwrap());
    let task = |client: reqwest::Client, url: String| async move {
        client.get(url).send().await.unwrap().json::<Value>().await.unwrap()
    };
    test_support::wait::until("the task to start", Duration::from_secs(20), || {
        let fetch = task(client.clone(), task_url.clone());
        async move { (fetch.await["state"] == "STARTED").then_some(()) }
    })
    .await;

    // From now on the worker starts with the first attempt of each task failing.
    env.push(("NOTIFY_SIMULATED_SECS".into(), "0.02".into()));
    env.push(("NOTIFY_FAIL_FIRST_ATTEMPTS".into(), "1".into()));
    supervisor.set_child_env(env).await.unwrap();
    supervisor.kill_process(ProcessKind::Worker).await.unwrap();

    let done = test_support::wait::until("the redelivered task to finish", Duration::from_secs(30), || {
        let fetch = task(client.clone(), task_url.clone());
        async move { Some(fetch.await).filter(|t| t["state"] == "SUCCESS") }
    })
    .await;
    let worker = state(&supervisor, ProcessKind::Worker);
    assert_eq!(worker.state, ProcessState::Running);
    assert_ne!(worker.pid, Some(worker_pid), "a new worker process");
    assert!(!alive(worker_pid));
    assert_eq!(worker.restarts, 1, "{worker:?}");
    let states: Vec<&str> = done["timeline"].as_array().unwrap().iter().filter_map(|s| s["state"].as_str()).collect();
    assert_eq!(
        states.iter().filter(|s| **s == "STARTED").count(),
        3,
        "started, killed, started, retried, started: {states:?}"
    );
    assert!(states.contains(&"RETRY"), "the restarted worker had the new environment: {states:?}");
    let log = supervisor.logs().tail(ProcessKind::Worker, 200).join("\n");
    assert!(log.contains("back on the queue"), "{log}");

    supervisor.stop_process(ProcessKind::Worker).await.unwrap();
    assert!(matches!(supervisor.kill_process(ProcessKind::Worker).await, Err(SupervisorError::NotRunning(_))));
    supervisor.shutdown().await;
}

/// The task's stored Celery result (`celery-task-meta-<id>`), once it is `SUCCESS`.
async fn succeeded(redis_url: &str, task_id: &str) -> Value {
    let client = redis::Client::open(redis_url).unwrap();
    let redis = client.get_multiplexed_async_connection().await.unwrap();
    let key = format!("celery-task-meta-{task_id}");
    test_support::wait::until("the task to succeed", Duration::from_secs(20), || {
        let mut redis = redis.clone();
        let key = key.clone();
        async move {
            let meta: Option<String> = redis::cmd("GET").arg(&key).query_async(&mut redis).await.unwrap();
            meta.map(|m| serde_json::from_str::<Value>(&m).unwrap()).filter(|m| m["status"] == "SUCCESS")
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_password_in_redis_url_protects_the_managed_redis_and_every_process_logs_in() {
    // A plain password (`requirepass`) and a named user (an ACL user, `default` off); both with
    // characters a config file and a URL must escape (`p@ss w"rd\`, percent-encoded).
    for (userinfo, user) in [(":p%40ss%20w%22rd%5C", None), ("learner:p%40ss%20w%22rd%5C", Some("learner"))] {
        let data = tempfile::tempdir().unwrap();
        let mut config = config(data.path());
        config.redis_url = format!("redis://{userinfo}@127.0.0.1:{}/0", config.redis_port);
        let (redis_port, redis_url, base) =
            (config.redis_port, config.redis_url.clone(), format!("http://127.0.0.1:{}", config.api_port));
        let supervisor = Supervisor::new(config).unwrap();
        supervisor.start().await.unwrap();
        assert!(supervisor.status().iter().all(|s| s.state == ProcessState::Running), "{userinfo}");

        let anonymous = test_support::redis::raw_command_on(redis_port, &["PING"]);
        assert!(anonymous.starts_with("-NOAUTH"), "a client without the password is refused: {anonymous}");
        let created = post_product(&reqwest::Client::new(), &base, "guarded").await;
        let meta = succeeded(&redis_url, created["task_id"].as_str().unwrap()).await;
        assert_eq!(meta["status"], "SUCCESS");

        let conf_path = data.path().join("redis.conf");
        let conf = std::fs::read_to_string(&conf_path).unwrap();
        match user {
            None => assert!(conf.contains(r#"requirepass "p@ss w\"rd\\""#), "{conf}"),
            Some(user) => {
                assert!(conf.contains("user default off"), "{conf}");
                assert!(conf.contains(&format!(r#"user "{user}" on ">p@ss w\"rd\\" ~* &* +@all"#)), "{conf}");
            }
        }
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&conf_path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "redis.conf holds the password: its owner's alone ({mode:o})");

        supervisor.stop().await.unwrap();
        let log = supervisor.logs().tail(ProcessKind::Redis, 50).join("\n");
        assert!(log.contains("User requested shutdown"), "stopped by an authenticated SHUTDOWN:\n{log}");
        supervisor.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_external_redis_with_a_password_says_what_is_wrong_at_once() {
    let redis = RedisServer::start();
    assert!(redis.raw_command(&["CONFIG", "SET", "requirepass", "hunter2"]).starts_with("+OK"));
    let data = tempfile::tempdir().unwrap();
    let with_url = |url: String| {
        let mut config = config(data.path());
        config.modes = [Mode::External, Mode::Managed, Mode::Managed];
        config.redis_port = redis.port();
        config.redis_url = url;
        config
    };
    let port = redis.port();
    for (url, says) in [
        (format!("redis://127.0.0.1:{port}/0"), "Redis wants a password (NOAUTH"),
        (format!("redis://:n0t-it@127.0.0.1:{port}/0"), "Redis refused the user name or password in REDIS_URL"),
    ] {
        let supervisor = Supervisor::new(with_url(url)).unwrap();
        let asked = std::time::Instant::now();
        let err = supervisor.start().await.unwrap_err();
        assert!(err.to_string().contains(says), "{err}");
        assert!(asked.elapsed() < Duration::from_secs(5), "at once, not after the timeout: {:?}", asked.elapsed());
        assert!(
            !err.to_string().contains("hunter2") && !err.to_string().contains("n0t-it"),
            "no password echoed: {err}"
        );
        supervisor.shutdown().await;
    }
    let config = with_url(format!("redis://:hunter2@127.0.0.1:{port}/0"));
    let (url, base) = (config.redis_url.clone(), format!("http://127.0.0.1:{}", config.api_port));
    let supervisor = Supervisor::new(config).unwrap();
    supervisor.start().await.unwrap();
    assert_eq!(state(&supervisor, ProcessKind::Redis).state, ProcessState::External);
    assert_eq!(state(&supervisor, ProcessKind::Worker).state, ProcessState::Running);
    let created = post_product(&reqwest::Client::new(), &base, "through a guarded Redis").await;
    succeeded(&url, created["task_id"].as_str().unwrap()).await;
    supervisor.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn stopping_while_redis_is_down_takes_no_timeout() {
    // An external Redis that goes away, and a managed one paused (SIGSTOP): stop must not wait
    // out the API's, the worker's or Redis's own timeouts.
    let redis = RedisServer::start();
    let data = tempfile::tempdir().unwrap();
    let mut external = config(data.path());
    external.modes = [Mode::External, Mode::Managed, Mode::Managed];
    external.redis_port = redis.port();
    external.redis_url = redis.url();
    let supervisor = Supervisor::new(external).unwrap();
    supervisor.start().await.unwrap();
    drop(redis);
    let asked = std::time::Instant::now();
    supervisor.stop().await.unwrap();
    let external_took = asked.elapsed();
    supervisor.shutdown().await;

    let data = tempfile::tempdir().unwrap();
    let supervisor = Supervisor::new(config(data.path())).unwrap();
    supervisor.start().await.unwrap();
    let redis_pid = state(&supervisor, ProcessKind::Redis).pid.unwrap();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(redis_pid as i32), nix::sys::signal::Signal::SIGSTOP).unwrap();
    let asked = std::time::Instant::now();
    supervisor.stop().await.unwrap();
    let paused_took = asked.elapsed();
    assert!(!alive(redis_pid), "the paused Redis is gone");
    supervisor.shutdown().await;
    eprintln!("stop with Redis gone: {external_took:?}; with Redis paused: {paused_took:?}");
    // The worker's receive (up to 2.1 s), its offline flush (0.5 s), the put-back (1 s) and
    // Redis's SHUTDOWN (0.5 s, then SIGTERM after 0.5 s) each give a silent Redis a bounded time:
    // 3 s measured on a quiet machine, at most ~4.6 s by these bounds; it was 22 s (the worker's
    // and Redis's whole timeouts). The bound leaves room for a loaded machine.
    assert!(external_took < Duration::from_secs(3), "with Redis gone, stop took {external_took:?}");
    assert!(paused_took < Duration::from_secs(8), "with Redis paused, stop took {paused_took:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_worker_that_dies_while_redis_is_paused_has_its_task_put_back_before_the_next_one_starts() {
    let data = tempfile::tempdir().unwrap();
    let mut config = config(data.path());
    // Long enough to kill the worker while it runs the task.
    config.child_env.push(("NOTIFY_SIMULATED_SECS".into(), "30".into()));
    let base = format!("http://127.0.0.1:{}", config.api_port);
    let redis_url = config.redis_url.clone();
    let mut env = config.child_env.clone();
    let supervisor = Supervisor::new(config).unwrap();
    supervisor.start().await.unwrap();
    let client = reqwest::Client::new();
    let created = post_product(&client, &base, "caught in the outage").await;
    let task_id = created["task_id"].as_str().unwrap().to_string();
    let redis = redis::Client::open(redis_url.as_str()).unwrap().get_multiplexed_async_connection().await.unwrap();
    test_support::wait::until("the task to be held by the worker", Duration::from_secs(20), || {
        let mut redis = redis.clone();
        async move {
            let held: usize = redis::cmd("HLEN").arg("unacked").query_async(&mut redis).await.unwrap_or(0);
            (held == 1).then_some(())
        }
    })
    .await;

    // Redis stops answering (paused), the worker dies, and its successor is due long before
    // Redis answers again.
    env.push(("NOTIFY_SIMULATED_SECS".into(), "0.02".into()));
    supervisor.set_child_env(env).await.unwrap();
    let redis_pid = nix::unistd::Pid::from_raw(state(&supervisor, ProcessKind::Redis).pid.unwrap() as i32);
    nix::sys::signal::kill(redis_pid, nix::sys::signal::Signal::SIGSTOP).unwrap();
    supervisor.kill_process(ProcessKind::Worker).await.unwrap();
    test_support::wait::until("the put-back to wait for Redis", Duration::from_secs(20), || {
        let lines = supervisor.logs().tail(ProcessKind::Worker, 50);
        async move { lines.iter().any(|l| l.contains("cannot put the tasks of the dead worker back yet")).then_some(()) }
    })
    .await;
    test_support::wait::until("the next worker to be due", Duration::from_secs(20), || {
        let worker = state(&supervisor, ProcessKind::Worker);
        async move { (worker.reason == Some(supervisor::Reason::WaitingForPutBack)).then_some(()) }
    })
    .await;
    nix::sys::signal::kill(redis_pid, nix::sys::signal::Signal::SIGCONT).unwrap();

    let Ok(meta) = tokio::time::timeout(Duration::from_secs(15), succeeded(&redis_url, &task_id)).await else {
        panic!(
            "the task did not succeed; worker: {:?}\n{}",
            state(&supervisor, ProcessKind::Worker),
            supervisor.logs().tail(ProcessKind::Worker, 200).join("\n")
        );
    };
    assert_eq!(meta["status"], "SUCCESS");
    let log = supervisor.logs().tail(ProcessKind::Worker, 200).join("\n");
    assert!(log.contains("put 1 unfinished task(s) of the dead worker back on the queue"), "{log}");
    supervisor.shutdown().await;
}

/// The reason of `kind`'s next BackingOff state on `events`.
async fn next_back_off(
    events: &mut tokio::sync::broadcast::Receiver<supervisor::Event>,
    kind: ProcessKind,
) -> supervisor::Reason {
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            if let supervisor::Event::State { status, .. } = events.recv().await.unwrap()
                && status.process == kind
                && status.state == ProcessState::BackingOff
            {
                return status.reason.unwrap();
            }
        }
    })
    .await
    .expect("a back-off within 20 s")
}

async fn running_again(supervisor: &Supervisor, kind: ProcessKind) {
    test_support::wait::until("it to run again", Duration::from_secs(20), || {
        std::future::ready((state(supervisor, kind).state == ProcessState::Running).then_some(()))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_back_off_starts_afresh_after_a_healthy_run() {
    let data = tempfile::tempdir().unwrap();
    let mut config = config(data.path());
    config.restart = RestartPolicy {
        initial_backoff: Duration::from_millis(100),
        reset_after: Duration::from_secs(1),
        crash_limit: 10,
        ..RestartPolicy::default()
    };
    let supervisor = Supervisor::new(config).unwrap();
    supervisor.start().await.unwrap();
    let mut events = supervisor.subscribe();
    let delay = |reason: supervisor::Reason| match reason {
        supervisor::Reason::RestartingIn { secs, .. } => (secs * 1000.0).round() as u64,
        other => panic!("{other:?}"),
    };
    supervisor.kill_process(ProcessKind::Api).await.unwrap();
    assert_eq!(delay(next_back_off(&mut events, ProcessKind::Api).await), 100);
    running_again(&supervisor, ProcessKind::Api).await;
    supervisor.kill_process(ProcessKind::Api).await.unwrap();
    assert_eq!(delay(next_back_off(&mut events, ProcessKind::Api).await), 200, "a crash soon after: twice as long");
    running_again(&supervisor, ProcessKind::Api).await;
    test_support::wait::until("a healthy run longer than reset_after", Duration::from_secs(20), || {
        let up = state(&supervisor, ProcessKind::Api).uptime_secs.unwrap_or(0.0);
        std::future::ready((up > 1.2).then_some(()))
    })
    .await;
    supervisor.kill_process(ProcessKind::Api).await.unwrap();
    assert_eq!(
        delay(next_back_off(&mut events, ProcessKind::Api).await),
        100,
        "after a healthy run: the first delay again"
    );
    running_again(&supervisor, ProcessKind::Api).await;
    supervisor.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_process_whose_redis_is_down_waits_for_it_and_no_crash_is_counted() {
    let data = tempfile::tempdir().unwrap();
    let mut config = config(data.path());
    // A single counted crash would pause restarts: waiting for Redis must not count.
    config.restart = RestartPolicy { crash_limit: 1, ..config.restart };
    let supervisor = Supervisor::new(config).unwrap();
    supervisor.start().await.unwrap();
    let mut events = supervisor.subscribe();
    supervisor.stop_process(ProcessKind::Redis).await.unwrap();
    supervisor.kill_process(ProcessKind::Api).await.unwrap();
    let reason = next_back_off(&mut events, ProcessKind::Api).await;
    assert!(matches!(reason, supervisor::Reason::WaitingForRedis { .. }), "{reason:?}");
    assert_eq!(state(&supervisor, ProcessKind::Api).pid, None, "not started while Redis is down");
    supervisor.start_process(ProcessKind::Redis).await.unwrap();
    running_again(&supervisor, ProcessKind::Api).await;
    let api = state(&supervisor, ProcessKind::Api);
    assert_eq!((api.restarts, api.reason), (1, None));
    supervisor.shutdown().await;
}
