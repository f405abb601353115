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
