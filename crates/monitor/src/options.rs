//! How the monitor runs: its limits and timeouts, and what it writes.

use std::time::Duration;

/// The monitor's options.
#[derive(Debug, Clone)]
pub struct MonitorOptions {
    /// How long one Redis call may take before a request fails with 503.
    pub redis_timeout: Duration,
    /// How long a request may take in all before it fails with 504 (live streams excepted).
    pub request_timeout: Duration,
    /// Most tasks the history keeps (`TASK_HISTORY_MAX`); the oldest are trimmed.
    pub history_max: usize,
    /// The TTL of the REVOKED results it writes (`RESULT_EXPIRES_SECS`; `None` keeps them).
    pub result_expires: Option<Duration>,
    /// Origins whose pages may call the monitor from a browser (CORS); empty: none.
    pub cors_origins: Vec<String>,
    /// How long a revoke is remembered for workers that start later (Celery's `REVOKE_EXPIRES`).
    pub revoke_keep: Duration,
    /// How long a broadcast to the workers waits for their replies.
    pub reply_window: Duration,
    /// How often the queue is looked at (its depth, and messages the history does not know yet).
    pub sample_interval: Duration,
    /// How many of the newest queued messages each look reads to find tasks nobody recorded.
    pub notice_depth: usize,
}

impl Default for MonitorOptions {
    fn default() -> Self {
        Self {
            redis_timeout: Duration::from_secs(1),
            request_timeout: Duration::from_secs(10),
            history_max: 10_000,
            result_expires: Some(Duration::from_secs(86_400)),
            cors_origins: Vec::new(),
            revoke_keep: Duration::from_secs(3 * 3600),
            reply_window: Duration::from_millis(500),
            sample_interval: Duration::from_secs(1),
            notice_depth: 100,
        }
    }
}

impl MonitorOptions {
    /// The options a stack's settings give (history cap, result TTL, CORS origins).
    pub fn from_settings(settings: &config::Settings) -> Self {
        Self {
            history_max: settings.task_history_max,
            result_expires: settings.result_expires,
            cors_origins: settings.api_cors_origins.clone(),
            ..Self::default()
        }
    }
}
