//! Why a process is in its state, typed: the app words each reason in the learner's language
//! (its types are generated from these), and `Display` words it for the terminal and the logs.

use serde::Serialize;
use ts_rs::TS;

/// How a process ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[ts(export_to = "ExitHow.ts")]
pub enum ExitHow {
    /// It exited with this code.
    Code {
        /// The exit code.
        code: i32,
    },
    /// A signal ended it (SIGKILL is 9).
    Signal {
        /// The signal number.
        signal: i32,
    },
    /// The OS could not say (the text is its error).
    Unknown {
        /// What the OS said.
        detail: String,
    },
}

impl From<std::process::ExitStatus> for ExitHow {
    fn from(status: std::process::ExitStatus) -> Self {
        if let Some(code) = status.code() {
            return ExitHow::Code { code };
        }
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt as _;
            if let Some(signal) = status.signal() {
                return ExitHow::Signal { signal };
            }
        }
        ExitHow::Unknown { detail: status.to_string() }
    }
}

impl std::fmt::Display for ExitHow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExitHow::Code { code } => write!(f, "exit code {code}"),
            ExitHow::Signal { signal } => write!(f, "killed by signal {signal}"),
            ExitHow::Unknown { detail } => write!(f, "could not be waited for: {detail}"),
        }
    }
}

/// What went wrong with a process: it ended, or it never became ready.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[ts(export_to = "Cause.ts")]
pub enum Cause {
    /// It exited on its own.
    Exited {
        /// How.
        how: ExitHow,
    },
    /// It did not become ready.
    NotReady {
        /// Why.
        why: NotReady,
    },
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cause::Exited { how } => write!(f, "exited unexpectedly ({how})"),
            Cause::NotReady { why } => write!(f, "{why}"),
        }
    }
}

/// Why a process is in its state.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[ts(export_to = "Reason.ts")]
pub enum Reason {
    /// Run by someone else: being probed.
    Probing,
    /// Run by someone else, and it does not answer its probe: start it, or let Stackdesk run it.
    ExternalSilent,
    /// It crashed (and is not restarted: a start failed, or the stack stops).
    Crashed {
        /// What happened.
        cause: Cause,
    },
    /// It crashed and starts again after a back-off.
    RestartingIn {
        /// Seconds until it starts again.
        secs: f64,
        /// What happened.
        cause: Cause,
    },
    /// It stopped while Redis was down: it starts again once Redis is back (no crash counted).
    WaitingForRedis {
        /// What happened.
        cause: Cause,
    },
    /// A worker waiting for the tasks of the worker before it to be back on the queue.
    WaitingForPutBack,
    /// It crashed `count` times within `window_secs`: restarts pause for `pause_secs`, then it
    /// is tried again on its own (or started by hand before).
    CrashLoop {
        /// Crashes counted.
        count: usize,
        /// Within this many seconds.
        window_secs: u64,
        /// Restarts pause this long.
        pause_secs: u64,
        /// The last crash.
        cause: Cause,
    },
}

impl std::fmt::Display for Reason {
    /// The reason in English, for the terminal (`stackdesk up`) and the logs. What to do about
    /// it depends on where it is read, so that is left to the reader (the app, `up`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::Probing => f.write_str("external: probing"),
            Reason::ExternalSilent => {
                f.write_str("external, and it does not answer: start it, or let Stackdesk run it")
            }
            Reason::Crashed { cause } => write!(f, "{cause}"),
            Reason::RestartingIn { secs, cause } => write!(f, "restarting in {secs:.1} s after: {cause}"),
            Reason::WaitingForRedis { cause } => write!(f, "restarts once Redis is back (it stopped: {cause})"),
            Reason::WaitingForPutBack => {
                f.write_str("waiting until the tasks of the worker before it are back on the queue")
            }
            Reason::CrashLoop { count, window_secs, pause_secs, cause } => write!(
                f,
                "crashed {count} {} within {window_secs} s, so Stackdesk stopped restarting it for {pause_secs} s; \
                 the last crash: {cause}. See its log for the cause. It is tried again on its own then",
                if *count == 1 { "time" } else { "times" }
            ),
        }
    }
}

/// Why a process did not become ready.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[ts(export_to = "NotReady.ts")]
pub enum NotReady {
    /// It exited before it was ready.
    #[error("exited during start-up ({how})")]
    Exited {
        /// How.
        how: ExitHow,
    },
    /// It could not be started at all (the text is the OS's error).
    #[error("could not be started: {detail}")]
    Spawn {
        /// What the OS said.
        detail: String,
    },
    /// It did not answer its probe in time.
    #[error("not ready within {:.1} s", *millis as f64 / 1000.0)]
    Timeout {
        /// The deadline, in milliseconds.
        millis: u64,
    },
    /// The worker's probe needs Redis, and there is no connection to it.
    #[error("Redis is not connected")]
    NoRedis,
    /// The connection to Redis broke while waiting for the worker.
    #[error("lost the connection to Redis while waiting for the worker")]
    LostRedis,
    /// The worker's events could not be followed.
    #[error("cannot follow worker events: {detail}")]
    Events {
        /// The Redis client's error.
        detail: String,
    },
    /// Redis answered PING, but a connection for the supervisor's own work could not be made.
    #[error("cannot connect: {detail}")]
    Connect {
        /// The Redis client's error.
        detail: String,
    },
    /// Redis answered, and refused the login (or its absence).
    #[error("{}", refusal(reply, *had_password))]
    Refused {
        /// What Redis said (`NOAUTH …`, `WRONGPASS …`).
        reply: String,
        /// Whether `REDIS_URL` has a password.
        had_password: bool,
    },
}

fn refusal(reply: &str, had_password: bool) -> String {
    if had_password {
        format!(
            "Redis refused the user name or password in REDIS_URL ({reply}); \
             correct them (redis://:PASSWORD@host:port/db, or redis://USER:PASSWORD@…)"
        )
    } else {
        format!("Redis wants a password ({reply}); put it in REDIS_URL: redis://:PASSWORD@host:port/db")
    }
}

/// Why a start did not complete (the process is named beside it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[ts(export_to = "StartFailure.ts")]
pub enum StartFailure {
    /// A managed Redis was asked for and no redis-server binary was found.
    #[error("no redis-server binary")]
    NoRedisBinary,
    /// It is external and does not answer: on its port (Redis: PING; the API: `/health`), or,
    /// for a worker, with heartbeats on this Redis.
    #[error("it is external and does not answer{}; start it, or let Stackdesk run it", port.map_or_else(|| " (no heartbeat on this Redis)".to_string(), |p| format!(" on port {p}")))]
    ExternalSilent {
        /// The port it was asked on (none for a worker).
        port: Option<u16>,
    },
    /// It did not become ready.
    #[error("{why}")]
    NotReady {
        /// Why not.
        why: NotReady,
    },
    /// Stop was asked for while it was starting.
    #[error("the stack was stopped before it was ready")]
    StoppedBeforeReady,
}
