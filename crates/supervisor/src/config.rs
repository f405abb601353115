//! What the supervisor runs, where, and its restart policy.

use std::path::PathBuf;
use std::time::Duration;

use crate::state::{Mode, ProcessKind};

/// When and how often crashed processes are restarted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestartPolicy {
    /// Delay before the first restart; doubled after each crash.
    pub initial_backoff: Duration,
    /// The longest delay.
    pub max_backoff: Duration,
    /// Stop restarting for a while after this many crashes …
    pub crash_limit: usize,
    /// … within this window.
    pub crash_window: Duration,
    /// How long a process must have run for its next crash to start the back-off afresh.
    pub reset_after: Duration,
    /// How long a crash loop pauses restarts before the process is tried again on its own.
    pub give_up_pause: Duration,
}

impl Default for RestartPolicy {
    fn default() -> Self {
        Self {
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(8),
            crash_limit: 5,
            crash_window: Duration::from_secs(60),
            reset_after: Duration::from_secs(30),
            give_up_pause: Duration::from_secs(60),
        }
    }
}

impl RestartPolicy {
    /// The delay before the restart after `streak` crashes in a row (none yet: the first delay).
    pub fn backoff(&self, streak: u32) -> Duration {
        let factor = 2u32.saturating_pow(streak.min(16));
        self.initial_backoff.saturating_mul(factor).min(self.max_backoff)
    }
}

/// What the supervisor runs and where.
#[derive(Debug, Clone)]
pub struct SupervisorConfig {
    /// Redis data, the generated `redis.conf` and the logs go here.
    pub data_dir: PathBuf,
    /// The Redis port (from `REDIS_URL`).
    pub redis_port: u16,
    /// The Redis URL the API and worker are given.
    pub redis_url: String,
    /// `REDIS_SERVER`, if set.
    pub redis_binary: Option<PathBuf>,
    /// The API port.
    pub api_port: u16,
    /// The `stackdesk` executable that runs `api` and `worker`.
    pub stackdesk_exe: PathBuf,
    /// Managed or external, per process (indexed in start order).
    pub modes: [Mode; 3],
    /// The worker's node name; its `worker-online` is the readiness probe.
    pub worker_name: String,
    /// Values masked in every log line (bot token, Redis password).
    pub secrets: Vec<String>,
    /// Environment given to the API and the worker on top of the supervisor's own.
    pub child_env: Vec<(String, String)>,
    /// How long each process may take to become ready.
    pub ready_timeout: Duration,
    /// How long each process may take to stop before it is killed.
    pub stop_timeout: Duration,
    /// Restarts after crashes.
    pub restart: RestartPolicy,
    /// What must follow the stack before the API and the worker start (the task monitor, so that
    /// no event of theirs is missed): once Redis is ready, the start waits until it says `true`,
    /// at most `ready_timeout` (then it goes on, and says so in Redis's log).
    pub observer: Option<tokio::sync::watch::Receiver<bool>>,
}

impl SupervisorConfig {
    /// The credentials in `redis_url` (a managed Redis is started with them; every probe and
    /// `SHUTDOWN` sends them).
    pub fn redis_auth(&self) -> RedisAuth {
        RedisAuth::from_url(&self.redis_url)
    }

    /// The mode of `kind`.
    pub fn mode(&self, kind: ProcessKind) -> Mode {
        self.modes[kind.index()]
    }

    /// The port `kind` serves (Redis, the API; the worker serves none).
    pub fn port_of(&self, kind: ProcessKind) -> Option<u16> {
        match kind {
            ProcessKind::Redis => Some(self.redis_port),
            ProcessKind::Api => Some(self.api_port),
            ProcessKind::Worker => None,
        }
    }
}

/// The credentials a Redis URL carries (`redis://[user]:password@host…`), percent-decoded.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RedisAuth {
    /// The ACL user, when the URL names one other than `default`.
    pub username: Option<String>,
    /// The password, when the URL has one.
    pub password: Option<String>,
}

impl RedisAuth {
    /// Reads them from `url`; none when it has none or does not parse (the config checks it).
    pub fn from_url(url: &str) -> Self {
        use redis::IntoConnectionInfo as _;
        let Ok(info) = url.into_connection_info() else { return Self::default() };
        let settings = info.redis_settings();
        Self {
            username: settings.username().filter(|u| !u.is_empty() && *u != "default").map(str::to_string),
            password: settings.password().filter(|p| !p.is_empty()).map(str::to_string),
        }
    }

    /// The `AUTH` command that logs in with them, when there is a password.
    pub fn command(&self) -> Option<Vec<&str>> {
        let password = self.password.as_deref()?;
        Some(match self.username.as_deref() {
            Some(user) => vec!["AUTH", user, password],
            None => vec!["AUTH", password],
        })
    }
}

impl std::fmt::Debug for RedisAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisAuth")
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .finish()
    }
}
