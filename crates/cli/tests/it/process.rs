//! Starting `stackdesk` subcommands as processes.

use std::process::Command;
use std::time::Duration;

use test_support::python::ChildProcess;

/// The binary under test.
pub fn stackdesk() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_stackdesk"));
    // No stray .env from wherever the tests run.
    command.current_dir(std::env::temp_dir()).env("RUST_LOG", "info");
    for key in config::KEYS {
        command.env_remove(key.name);
    }
    command
}

/// `stackdesk api` on a free port; returns the process and its base URL once /health is 200.
pub async fn api(redis_url: &str, env: &[(&str, &str)]) -> (ChildProcess, String) {
    let port = test_support::redis::free_port();
    let mut command = stackdesk();
    command.args(["api", "--port", &port.to_string()]).env("REDIS_URL", redis_url).envs(env.iter().copied());
    let child = ChildProcess::spawn("stackdesk-api", &mut command);
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    test_support::wait::until("the API to answer /health", Duration::from_secs(30), || {
        let request = client.get(format!("{base}/health")).send();
        async move { request.await.ok().filter(|r| r.status() == 200).map(|_| ()) }
    })
    .await;
    (child, base)
}

/// `stackdesk worker`.
pub fn worker(redis_url: &str, env: &[(&str, &str)]) -> ChildProcess {
    let mut command = stackdesk();
    command.args(["worker", "--hostname", "e2e@test"]).env("REDIS_URL", redis_url).envs(env.iter().copied());
    ChildProcess::spawn("stackdesk-worker", &mut command)
}

/// Asks a process to stop (SIGTERM) and checks that it exits cleanly.
pub async fn stop(child: &mut ChildProcess) {
    child.terminate();
    let (status, output) = child.wait_exit(Duration::from_secs(30)).await;
    assert!(status.success(), "did not exit cleanly ({status}):\n{output}");
}

/// `stackdesk monitor` on a free port; returns the process and its base URL once /health is 200.
pub async fn monitor(redis_url: &str) -> (ChildProcess, String) {
    let port = test_support::redis::free_port();
    let mut command = stackdesk();
    command.args(["monitor", "--port", &port.to_string()]).env("REDIS_URL", redis_url);
    let child = ChildProcess::spawn("stackdesk-monitor", &mut command);
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    test_support::wait::until("the monitor to answer /health", Duration::from_secs(30), || {
        let request = client.get(format!("{base}/health")).send();
        async move { request.await.ok().filter(|r| r.status() == 200).map(|_| ()) }
    })
    .await;
    (child, base)
}

/// The task monitor in this process, as `up` and the app run it beside a supervisor once it has
/// started: watching `redis_url`. Stopped when dropped.
pub struct InProcessMonitor {
    /// Its base URL.
    pub base: String,
    stop: tokio_util::sync::CancellationToken,
}

impl InProcessMonitor {
    pub async fn start(redis_url: &str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let stop = tokio_util::sync::CancellationToken::new();
        let tracker = tokio_util::task::TaskTracker::new();
        let monitor =
            monitor::start(listener, redis_url.to_string(), monitor::MonitorOptions::default(), &tracker, stop.clone());
        assert!(monitor.until_following(Duration::from_secs(10)).await, "the monitor follows the events");
        Self { base, stop }
    }
}

impl Drop for InProcessMonitor {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}
