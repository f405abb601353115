//! Waiting on conditions with deadlines.

use std::future::Future;
use std::time::{Duration, Instant};

/// How often conditions are re-checked.
const RECHECK: Duration = Duration::from_millis(20);

/// Re-evaluates `check` until it returns `Some`, and returns that value. Panics with `what` when
/// `deadline` passes first — a condition that never holds is a failing test, not a hang.
pub async fn until<T, F, Fut>(what: &str, deadline: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(start.elapsed() < deadline, "timed out after {deadline:?} waiting for {what}");
        tokio::time::sleep(RECHECK).await;
    }
}

/// The blocking twin of [`until`], for code outside a runtime.
pub fn until_blocking<T>(what: &str, deadline: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(start.elapsed() < deadline, "timed out after {deadline:?} waiting for {what}");
        std::thread::sleep(RECHECK);
    }
}
