//! One error type for everything the app's buttons can run into, serialized for the UI as
//! `{"kind", "message", ...details}` so that it can offer the right way out (another port, an
//! external Redis, the field to fix).

use serde::Serialize;
use serde::ser::SerializeMap as _;
use supervisor::{PortOwner, ProcessKind, SupervisorError};

/// Shorthand for results of this crate.
pub type Result<T, E = DeskError> = std::result::Result<T, E>;

/// A setting that does not pass its check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum ProblemKind {
    /// A rule every way of running Stackdesk checks (the command line too).
    Config(config::Rule),
    /// A rule of the app's settings.
    App(AppRule),
}

/// The rules only the app's settings have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
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
    /// A name that is not one of the three processes.
    #[error("unknown process {0:?}: expected redis, api or worker")]
    UnknownProcess(String),
    /// An action that is not start, stop or restart.
    #[error("unknown action {0:?}: expected start, stop, restart or kill")]
    UnknownAction(String),
    /// The Telegram check failed; the message says why in plain words.
    #[error("{0}")]
    Telegram(String),
    /// Something to open that is not known.
    #[error("unknown target {0:?}: expected swagger, data-dir or logs")]
    UnknownTarget(String),
    /// Redis did not answer a look at its keys.
    #[error("Redis is unavailable: {0}")]
    RedisUnavailable(String),
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

impl DeskError {
    /// An I/O error with what we were doing.
    pub fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io { what: what.into(), source }
    }

    /// A short machine-readable name of the error, for the UI.
    pub fn kind(&self) -> &'static str {
        match self {
            DeskError::InvalidSettings(_) => "invalid_settings",
            DeskError::Supervisor(SupervisorError::PortTaken { .. }) => "port_taken",
            DeskError::Supervisor(SupervisorError::RedisNotFound { .. }) => "redis_not_found",
            DeskError::Supervisor(SupervisorError::StartFailed { .. }) => "start_failed",
            DeskError::Supervisor(SupervisorError::Busy(_)) => "busy",
            DeskError::Supervisor(SupervisorError::NotUp) => "not_running",
            DeskError::Supervisor(SupervisorError::NotRunning(_)) => "process_not_running",
            DeskError::Supervisor(_) => "supervisor",
            DeskError::UnknownProcess(_) | DeskError::UnknownAction(_) | DeskError::UnknownTarget(_) => "bad_request",
            DeskError::BadExportName(_) => "bad_export_name",
            DeskError::RedisUnavailable(_) => "redis_unavailable",
            DeskError::Telegram(_) => "telegram",
            DeskError::Io { .. } => "io",
        }
    }
}

impl Serialize for DeskError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("kind", self.kind())?;
        map.serialize_entry("message", &self.to_string())?;
        match self {
            DeskError::InvalidSettings(problems) => map.serialize_entry("problems", problems)?,
            DeskError::Supervisor(SupervisorError::PortTaken { process, port, owner }) => {
                map.serialize_entry("process", process)?;
                map.serialize_entry("port", port)?;
                match owner {
                    PortOwner::Redis => map.serialize_entry("owner", "redis")?,
                    PortOwner::Program { name, pid } => {
                        map.serialize_entry("owner", "program")?;
                        map.serialize_entry("owner_name", name)?;
                        map.serialize_entry("owner_pid", pid)?;
                    }
                }
                map.serialize_entry("free_port", &next_free_port(*port))?;
                map.serialize_entry(
                    "can_use_external",
                    &(*process == ProcessKind::Redis && *owner == PortOwner::Redis),
                )?;
            }
            DeskError::Supervisor(SupervisorError::StartFailed { process, last_lines, .. }) => {
                map.serialize_entry("process", process)?;
                map.serialize_entry("last_lines", last_lines)?;
            }
            _ => {}
        }
        map.end()
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
    }
}
