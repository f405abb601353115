//! One error type for everything the app's buttons can run into, serialized for the UI as
//! `{"kind", "message", ...details}` so that it can offer the right way out (another port, an
//! external Redis, the field to fix).

use axum::http::StatusCode;
use serde::Serialize;
use supervisor::{PortOwner, ProcessKind, StartFailure, SupervisorError};
use ts_rs::TS;

/// Shorthand for results of this crate.
pub type Result<T, E = DeskError> = std::result::Result<T, E>;

/// A setting that does not pass its check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export_to = "SettingProblem.ts")]
pub struct SettingProblem {
    /// The configuration key (`API_PORT`).
    pub key: String,
    /// What is expected, in English words.
    pub message: String,
    /// The same, machine-readable, serialized as FastAPI's `type` and `ctx`: the UI words it in
    /// its own language.
    #[serde(flatten)]
    pub kind: ProblemKind,
}

impl SettingProblem {
    /// A problem with `key`, said in `message` and typed by `kind`.
    pub fn new(key: impl Into<String>, message: impl Into<String>, kind: ProblemKind) -> Self {
        Self { key: key.into(), message: message.into(), kind }
    }

    /// A value that broke a rule of the configuration.
    pub fn from_config(err: &config::ConfigError) -> Self {
        Self::new(err.key, format!("expected {}", err.expected), ProblemKind::Config(err.rule.clone()))
    }
}

/// What is wrong with a setting: a rule of the configuration it broke, or one of the app's own:
/// `{"type": "whole_number", "ctx": {"min": 1, "max": 64}}`, `{"type": "not_editable"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(untagged)]
#[ts(export_to = "ProblemKind.ts")]
pub enum ProblemKind {
    /// A rule every way of running Stackdesk checks (the command line too).
    Config(config::Rule),
    /// A rule of the app's settings.
    App(AppRule),
}

/// The rules only the app's settings have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
#[ts(export_to = "AppRule.ts")]
pub enum AppRule {
    /// A Redis reached over TCP is expected (not a Unix socket).
    RedisTcp,
    /// The key is not one the app can change.
    NotEditable,
}

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    /// Settings that do not pass their checks; nothing was saved.
    #[error("{}", invalid_message(.0))]
    InvalidSettings(Vec<SettingProblem>),
    /// The supervisor refused or failed.
    #[error(transparent)]
    Supervisor(#[from] SupervisorError),
    /// The monitor's port is taken: the stack cannot start with its monitor.
    #[error("{}", monitor_port_message(*.port, .owner))]
    MonitorPortTaken {
        /// `MONITOR_PORT`.
        port: u16,
        /// Who has it.
        owner: PortOwner,
    },
    /// A request the UI should never make: a path naming no process, action or target (404).
    #[error("{0}")]
    NotFound(String),
    /// The Telegram check failed; the message says why in plain words.
    #[error("{0}")]
    Telegram(String),
    /// An export name that is not a plain file name ending in `.svg` or `.png`.
    #[error("cannot export as {0:?}: expected a plain file name ending in .svg or .png")]
    BadExportName(String),
    /// A file or program operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What we were doing.
        what: String,
        /// Why it failed.
        source: std::io::Error,
    },
}

fn invalid_message(problems: &[SettingProblem]) -> String {
    let parts: Vec<String> = problems.iter().map(|p| format!("{}: {}", p.key, p.message)).collect();
    format!("invalid settings, nothing saved: {}", parts.join("; "))
}

fn monitor_port_message(port: u16, owner: &PortOwner) -> String {
    let who = match owner {
        PortOwner::Redis => "a Redis".to_string(),
        PortOwner::Program { name: Some(name), pid: Some(pid) } => format!("{name} (pid {pid})"),
        PortOwner::Program { pid: Some(pid), .. } => format!("process {pid}"),
        PortOwner::Program { .. } => "another program".into(),
    };
    format!("port {port}, needed by the task monitor, is already used by {who}. Stop it, or change MONITOR_PORT")
}

/// What kind of error, for the UI to offer the right way out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export_to = "ErrorKind.ts")]
pub enum ErrorKind {
    /// Settings that do not pass their checks (see `problems`).
    InvalidSettings,
    /// A port is taken (see `process`, `port`, `owner`, `free_port`, `fix`).
    PortTaken,
    /// No redis-server for a managed Redis.
    RedisNotFound,
    /// A process did not become ready (see `process`, `last_lines`).
    StartFailed,
    /// The stack is already running or starting.
    Busy,
    /// The stack is not running.
    NotRunning,
    /// The process is not running (nothing to kill).
    ProcessNotRunning,
    /// Another supervisor failure.
    Supervisor,
    /// A request the UI should never make.
    NotFound,
    /// A bad export name.
    BadExportName,
    /// The Telegram check failed.
    Telegram,
    /// A file or program operation failed.
    Io,
}

/// Who holds a taken port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export_to = "PortOwnerKind.ts")]
pub enum PortOwnerKind {
    /// A Redis answering PING.
    Redis,
    /// Another program.
    Program,
}

/// A setting that would get round an error: the key and the value to save.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export_to = "SettingFix.ts")]
pub struct SettingFix {
    /// The configuration key (`API_PORT`, `REDIS_URL`, `MONITOR_PORT`).
    pub key: String,
    /// Its new value.
    pub value: String,
}

/// An error as the UI receives it: `{"kind", "message", ...}`, the details that its kind has.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export_to = "ErrorBody.ts")]
pub struct ErrorBody {
    /// What kind of error.
    pub kind: ErrorKind,
    /// What went wrong, in English words.
    pub message: String,
    /// `invalid_settings`: every wrong setting.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub problems: Option<Vec<SettingProblem>>,
    /// `port_taken`, `start_failed`: the process concerned (none for the monitor's port).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub process: Option<ProcessKind>,
    /// `port_taken`: the port.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub port: Option<u16>,
    /// `port_taken`: who has it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub owner: Option<PortOwnerKind>,
    /// `port_taken`: the owner's process name, when the OS tells.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub owner_name: Option<String>,
    /// `port_taken`: the owner's pid, when the OS tells.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub owner_pid: Option<u32>,
    /// `port_taken`: the first free port after it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub free_port: Option<u16>,
    /// `port_taken`: the setting that moves to `free_port`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub fix: Option<SettingFix>,
    /// `port_taken`: whether the owner is a Redis that could be used as the external Redis.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub can_use_external: Option<bool>,
    /// `start_failed`: the process's last log lines.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub last_lines: Option<Vec<String>>,
    /// `start_failed`: why, typed (the UI words it in its language; `message` has it in English).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub start_failure: Option<StartFailure>,
}

impl DeskError {
    /// An I/O error with what we were doing.
    pub fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io { what: what.into(), source }
    }

    /// What kind of error this is, for the UI.
    pub fn kind(&self) -> ErrorKind {
        match self {
            DeskError::InvalidSettings(_) => ErrorKind::InvalidSettings,
            DeskError::Supervisor(SupervisorError::PortTaken { .. }) | DeskError::MonitorPortTaken { .. } => {
                ErrorKind::PortTaken
            }
            DeskError::Supervisor(SupervisorError::RedisNotFound { .. }) => ErrorKind::RedisNotFound,
            DeskError::Supervisor(SupervisorError::StartFailed { .. }) => ErrorKind::StartFailed,
            DeskError::Supervisor(SupervisorError::Busy(_)) => ErrorKind::Busy,
            DeskError::Supervisor(SupervisorError::NotUp) => ErrorKind::NotRunning,
            DeskError::Supervisor(SupervisorError::NotRunning(_)) => ErrorKind::ProcessNotRunning,
            DeskError::Supervisor(_) => ErrorKind::Supervisor,
            DeskError::NotFound(_) => ErrorKind::NotFound,
            DeskError::BadExportName(_) => ErrorKind::BadExportName,
            DeskError::Telegram(_) => ErrorKind::Telegram,
            DeskError::Io { .. } => ErrorKind::Io,
        }
    }

    /// The HTTP status the control endpoint answers it with.
    pub fn status(&self) -> StatusCode {
        match self.kind() {
            ErrorKind::InvalidSettings | ErrorKind::BadExportName => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Telegram => StatusCode::BAD_GATEWAY,
            ErrorKind::Io | ErrorKind::Supervisor => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorKind::PortTaken
            | ErrorKind::RedisNotFound
            | ErrorKind::StartFailed
            | ErrorKind::Busy
            | ErrorKind::NotRunning
            | ErrorKind::ProcessNotRunning => StatusCode::CONFLICT,
        }
    }

    /// The error as the UI receives it.
    pub fn body(&self) -> ErrorBody {
        let mut body = ErrorBody {
            kind: self.kind(),
            message: self.to_string(),
            problems: None,
            process: None,
            port: None,
            owner: None,
            owner_name: None,
            owner_pid: None,
            free_port: None,
            fix: None,
            can_use_external: None,
            last_lines: None,
            start_failure: None,
        };
        let mut taken = |process: Option<ProcessKind>, port: u16, owner: &PortOwner, key: &str| {
            body.process = process;
            body.port = Some(port);
            match owner {
                PortOwner::Redis => body.owner = Some(PortOwnerKind::Redis),
                PortOwner::Program { name, pid } => {
                    body.owner = Some(PortOwnerKind::Program);
                    body.owner_name.clone_from(name);
                    body.owner_pid = *pid;
                }
            }
            body.free_port = next_free_port(port);
            body.fix = body.free_port.map(|free| SettingFix {
                key: key.into(),
                value: if key == "REDIS_URL" { format!("redis://127.0.0.1:{free}/0") } else { free.to_string() },
            });
            body.can_use_external = Some(process == Some(ProcessKind::Redis) && *owner == PortOwner::Redis);
        };
        match self {
            DeskError::InvalidSettings(problems) => body.problems = Some(problems.clone()),
            DeskError::Supervisor(SupervisorError::PortTaken { process, port, owner }) => {
                let key = if *process == ProcessKind::Redis { "REDIS_URL" } else { "API_PORT" };
                taken(Some(*process), *port, owner, key);
            }
            DeskError::MonitorPortTaken { port, owner } => taken(None, *port, owner, "MONITOR_PORT"),
            DeskError::Supervisor(SupervisorError::StartFailed { process, last_lines, reason }) => {
                body.process = Some(*process);
                body.last_lines = Some(last_lines.clone());
                body.start_failure = Some(reason.clone());
            }
            _ => {}
        }
        body
    }
}

impl Serialize for DeskError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        self.body().serialize(serializer)
    }
}

/// The first free port after `port`, offered instead of a taken one.
pub fn next_free_port(port: u16) -> Option<u16> {
    (port.saturating_add(1)..=port.saturating_add(200)).find(|p| supervisor::ports::check(*p).is_none())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_setting_problem_carries_a_type_and_its_context() {
        let err = DeskError::InvalidSettings(vec![
            SettingProblem::new(
                "WORKER_CONCURRENCY",
                "expected a whole number from 1 to 64",
                ProblemKind::Config(config::Rule::WholeNumber { min: 1, max: 64 }),
            ),
            SettingProblem::new("X", "not a setting the app can change", ProblemKind::App(AppRule::NotEditable)),
        ]);
        let json = serde_json::to_value(&err).unwrap();
        assert_eq!(json["kind"], "invalid_settings");
        assert_eq!(
            json["problems"][0],
            serde_json::json!({"key": "WORKER_CONCURRENCY", "message": "expected a whole number from 1 to 64",
                "type": "whole_number", "ctx": {"min": 1, "max": 64}})
        );
        assert_eq!(
            json["problems"][1],
            serde_json::json!({"key": "X", "message": "not a setting the app can change", "type": "not_editable"})
        );
    }

    #[test]
    fn a_taken_port_tells_the_ui_its_ways_out() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let err = DeskError::Supervisor(SupervisorError::PortTaken {
            process: ProcessKind::Redis,
            port,
            owner: PortOwner::Redis,
        });
        let json = serde_json::to_value(&err).unwrap();
        assert_eq!(json["kind"], "port_taken");
        assert_eq!(json["process"], "redis");
        assert_eq!(json["port"], port);
        assert_eq!(json["owner"], "redis");
        assert_eq!(json["can_use_external"], true);
        let free = json["free_port"].as_u64().unwrap();
        assert!(free > u64::from(port), "a free port after the taken one");
        assert!(json["message"].as_str().unwrap().contains(&port.to_string()));
        let program = DeskError::Supervisor(SupervisorError::PortTaken {
            process: ProcessKind::Api,
            port,
            owner: PortOwner::Program { name: Some("nginx".into()), pid: Some(42) },
        });
        let json = serde_json::to_value(&program).unwrap();
        assert_eq!((json["owner_name"].as_str(), json["owner_pid"].as_u64()), (Some("nginx"), Some(42)));
        assert_eq!(json["can_use_external"], false, "only a Redis can stand in for ours");
        assert_eq!(json["fix"]["key"], "API_PORT");
        let monitor = DeskError::MonitorPortTaken { port, owner: PortOwner::Program { name: None, pid: None } };
        let json = serde_json::to_value(&monitor).unwrap();
        assert_eq!((json["kind"].as_str(), json.get("process")), (Some("port_taken"), None));
        assert_eq!(json["fix"]["key"], "MONITOR_PORT");
        assert!(json["message"].as_str().unwrap().contains("MONITOR_PORT"));
    }
}
