//! Schemathesis against the API's and the monitor's own OpenAPI documents: every check, a
//! bounded number of examples per operation, zero failures. A failure prints its reproduction
//! (`curl …`) and the seed to replay it.

use std::time::Duration;

use test_support::python::{ChildProcess, Venv};
use test_support::redis::RedisServer;

use crate::process;

/// Examples per operation (`STACKDESK_FUZZ_EXAMPLES` for a longer run).
fn examples() -> String {
    std::env::var("STACKDESK_FUZZ_EXAMPLES").unwrap_or_else(|_| "30".into())
}

/// A fixed seed, so that a red run is a real finding and the same again (`STACKDESK_FUZZ_SEED`
/// for another).
fn seed() -> String {
    std::env::var("STACKDESK_FUZZ_SEED").unwrap_or_else(|_| "20261201".into())
}

async fn fuzz(name: &str, base: &str) -> String {
    let mut run = ChildProcess::spawn(
        &format!("schemathesis-{name}"),
        std::process::Command::new(Venv::get().bin("schemathesis"))
            .args(["run", &format!("{base}/openapi.json"), "--checks", "all", "--no-color"])
            .args(["--max-examples", &examples(), "--seed", &seed(), "--request-timeout", "10"]),
    );
    let (status, output) = run.wait_exit(Duration::from_secs(600)).await;
    assert!(status.success(), "schemathesis found problems in the {name}'s OpenAPI document:\n{output}");
    let summary = output.lines().rev().find(|l| l.contains("generated")).unwrap_or_default().trim().to_string();
    eprintln!("schemathesis, {name}: {summary}");
    summary
}

#[tokio::test(flavor = "multi_thread")]
async fn schemathesis_finds_nothing_wrong_with_the_api_or_the_monitor() {
    let redis = RedisServer::start();
    let (_api, api) = process::api(&redis.url(), &[("NOTIFY_SIMULATED_SECS", "0")]).await;
    let (_monitor, monitor) = process::monitor(&redis.url()).await;
    for (name, base) in [("API", api), ("monitor", monitor)] {
        let summary = fuzz(name, &base).await;
        let passed =
            summary.split(',').nth(1).and_then(|p| p.split_whitespace().next()).and_then(|n| n.parse::<u32>().ok());
        assert!(passed.is_some_and(|n| n > 100), "{name}: too few cases ran: {summary:?}");
    }
}
