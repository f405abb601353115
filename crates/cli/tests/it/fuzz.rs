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
    // Its cache (`.schemathesis/`) goes to a directory of the test's own, not the checkout.
    let scratch = tempfile::tempdir().expect("a scratch directory for schemathesis");
    let mut run = ChildProcess::spawn(
        &format!("schemathesis-{name}"),
        std::process::Command::new(Venv::get().bin("schemathesis"))
            .args(["run", &format!("{base}/openapi.json"), "--checks", "all", "--no-color"])
            .args(["--max-examples", &examples(), "--seed", &seed(), "--request-timeout", "10"])
            .current_dir(scratch.path()),
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
        let passed = passed_cases(&summary);
        assert!(passed.is_some_and(|n| n > 100), "{name}: too few cases ran: {summary:?}");
    }
}

/// The number before "passed" in schemathesis's summary line ("… 489 passed, …").
fn passed_cases(summary: &str) -> Option<u32> {
    let words: Vec<&str> = summary.split(|c: char| c.is_whitespace() || c == ',').filter(|w| !w.is_empty()).collect();
    words.windows(2).find(|pair| pair[1].starts_with("passed")).and_then(|pair| pair[0].parse().ok())
}

#[test]
fn the_summary_is_read_wherever_passed_stands() {
    assert_eq!(passed_cases("30 generated, 489 passed, 0 failed"), Some(489));
    assert_eq!(passed_cases("489 passed"), Some(489));
    assert_eq!(passed_cases("no cases"), None);
}
