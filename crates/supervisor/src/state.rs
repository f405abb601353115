//! The processes, their states, and the events the supervisor publishes.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::reason::Reason;

/// The three processes of the stack, in start order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export_to = "ProcessKind.ts")]
pub enum ProcessKind {
    /// redis-server.
    Redis,
    /// `stackdesk api`.
    Api,
    /// `stackdesk worker`.
    Worker,
}

impl ProcessKind {
    /// Start order.
    pub const ALL: [ProcessKind; 3] = [ProcessKind::Redis, ProcessKind::Api, ProcessKind::Worker];

    /// The short name used in logs (`redis`, `api`, `worker`).
    pub fn name(self) -> &'static str {
        match self {
            ProcessKind::Redis => "redis",
            ProcessKind::Api => "api",
            ProcessKind::Worker => "worker",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl std::str::FromStr for ProcessKind {
    type Err = String;

    /// `redis`, `api` or `worker`.
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        ProcessKind::ALL
            .into_iter()
            .find(|kind| kind.name() == name.trim())
            .ok_or_else(|| format!("unknown process {name:?}: expected redis, api or worker"))
    }
}

impl std::fmt::Display for ProcessKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether the supervisor runs a process or only probes one run by someone else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export_to = "Mode.ts")]
pub enum Mode {
    /// Started, watched and stopped by the supervisor.
    #[default]
    Managed,
    /// Not started: only probed (a learner's own Redis, FastAPI app or Celery worker).
    External,
}

/// Where a process is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "kebab-case")]
#[ts(export_to = "ProcessState.ts")]
pub enum ProcessState {
    /// Not running.
    Stopped,
    /// Started; waiting for its readiness probe.
    Starting,
    /// Ready.
    Running,
    /// Asked to stop; waiting for it to exit.
    Stopping,
    /// Exited unexpectedly (and, when restarts are used up, given up on).
    Crashed,
    /// Crashed; will be restarted after a delay.
    BackingOff,
    /// Run by someone else and answering its probe.
    External,
}

/// A process as the UI shows it.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export_to = "ProcessStatus.ts")]
pub struct ProcessStatus {
    /// Which process.
    pub process: ProcessKind,
    /// Managed or external.
    pub mode: Mode,
    /// Its state.
    pub state: ProcessState,
    /// Its pid while running.
    pub pid: Option<u32>,
    /// The port it serves (Redis, API).
    pub port: Option<u16>,
    /// Seconds since it became ready.
    pub uptime_secs: Option<f64>,
    /// Restarts after crashes since the stack was started.
    pub restarts: u32,
    /// Why it is in this state (crashes, back-offs, waits).
    pub reason: Option<Reason>,
    /// When it became ready (not serialized: `uptime_secs` says it).
    #[serde(skip)]
    #[ts(skip)]
    pub ready_since: Option<SystemTime>,
}

impl ProcessStatus {
    /// A process that is not running (yet).
    pub fn new(process: ProcessKind, mode: Mode, port: Option<u16>) -> Self {
        Self {
            process,
            mode,
            state: ProcessState::Stopped,
            pid: None,
            port,
            uptime_secs: None,
            restarts: 0,
            reason: None,
            ready_since: None,
        }
    }

    /// The status with `uptime_secs` computed now.
    pub fn now(&self) -> Self {
        let mut status = self.clone();
        status.uptime_secs = self.ready_since.and_then(|t| t.elapsed().ok()).map(|d: Duration| d.as_secs_f64());
        status
    }
}

/// Which output stream a log line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export_to = "Stream.ts")]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
    /// Written by the supervisor itself about the process.
    Supervisor,
}

/// Everything the supervisor tells its subscribers.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// A process changed state.
    State {
        /// The state before.
        old: ProcessState,
        /// The status now (new state, pid, port, uptime, restarts, reason).
        status: ProcessStatus,
    },
    /// A process printed a line.
    Log {
        /// Which process.
        process: ProcessKind,
        /// From where.
        stream: Stream,
        /// The line, with secrets masked.
        line: String,
    },
}
