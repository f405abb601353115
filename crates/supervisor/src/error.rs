//! What can keep the stack from starting, in words a learner can act on.

use crate::reason::StartFailure;
use crate::state::ProcessKind;

/// Shorthand for results of this crate.
pub type Result<T, E = SupervisorError> = std::result::Result<T, E>;

/// Who holds a port we need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortOwner {
    /// A Redis answers PING there: it could be used as an external Redis.
    Redis,
    /// Another program; its name and pid when the OS tells.
    Program {
        /// Process name.
        name: Option<String>,
        /// Process id.
        pid: Option<u32>,
    },
}

/// Why the stack could not start (or a process not run).
#[derive(Debug, thiserror::Error)]
pub enum SupervisorError {
    /// No redis-server binary was found.
    #[error("no redis-server found ({searched}). {advice}")]
    RedisNotFound {
        /// Where we looked.
        searched: String,
        /// How to get one on this OS.
        advice: String,
    },
    /// A port we must listen on is taken.
    #[error("{}", port_taken_message(*.process, *.port, .owner))]
    PortTaken {
        /// The process that needs the port.
        process: ProcessKind,
        /// The port.
        port: u16,
        /// Who has it.
        owner: PortOwner,
    },
    /// A process did not become ready (or an external one did not answer).
    #[error("{process} did not start: {reason}{}", last_lines_text(.last_lines))]
    StartFailed {
        /// Which process.
        process: ProcessKind,
        /// What failed.
        reason: StartFailure,
        /// Its last log lines.
        last_lines: Vec<String>,
    },
    /// A single process was asked to start or stop while the stack is not running.
    #[error("the stack is not running: press Start first")]
    NotUp,
    /// A process that is not running (or not ours to run) was asked to do something only a
    /// running managed process can.
    #[error("{0} is not running here, so there is nothing to kill")]
    NotRunning(ProcessKind),
    /// The stack is already running (or starting).
    #[error("the stack is already {0}")]
    Busy(&'static str),
    /// A file or process operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What we were doing.
        what: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The supervisor has stopped.
    #[error("the supervisor is no longer running")]
    Gone,
}

impl SupervisorError {
    /// An I/O error while doing `what`.
    pub fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io { what: what.into(), source }
    }
}

fn port_taken_message(process: ProcessKind, port: u16, owner: &PortOwner) -> String {
    match owner {
        PortOwner::Redis => format!(
            "port {port} is already used by a running Redis. To use that Redis, set {process} to external; \
             otherwise stop it or choose another port in REDIS_URL"
        ),
        PortOwner::Program { name, pid } => {
            let who = match (name, pid) {
                (Some(name), Some(pid)) => format!("{name} (pid {pid})"),
                (None, Some(pid)) => format!("process {pid}"),
                _ => "another program".into(),
            };
            let key = if process == ProcessKind::Redis { "the port in REDIS_URL" } else { "API_PORT" };
            format!("port {port}, needed by {process}, is already used by {who}. Stop it, or change {key}")
        }
    }
}

fn last_lines_text(lines: &[String]) -> String {
    if lines.is_empty() { String::new() } else { format!("\nlast log lines:\n  {}", lines.join("\n  ")) }
}
