//! The actions the UI can ask for, as the control endpoint's paths and the app's commands name
//! them: parsed once, at the edge, into these enums.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// What can be done to the whole stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export_to = "StackAction.ts")]
pub enum StackAction {
    /// Start Redis, the API, the worker and the monitor.
    Start,
    /// Stop them all.
    Stop,
    /// Stop, then start with the settings saved now.
    Restart,
}

/// What can be done to one process of a running stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export_to = "ProcessAction.ts")]
pub enum ProcessAction {
    /// Start it (after it was stopped on its own, or gave up crashing).
    Start,
    /// Stop it and keep it stopped; the rest runs on.
    Stop,
    /// Stop it, then start it.
    Restart,
    /// Kill it at once, as a crash would (the supervisor's crash path follows).
    Kill,
}

/// What can be opened on this machine with the desktop's own program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "kebab-case")]
#[ts(export_to = "OpenTarget.ts")]
pub enum OpenTarget {
    /// The API's Swagger UI.
    Swagger,
    /// The monitor's Swagger UI.
    MonitorDocs,
    /// The data folder (Redis data, exports).
    DataDir,
    /// The logs folder.
    Logs,
    /// This UI in the default browser, with this run's token (the desktop app only: a browser
    /// already shows it).
    Browser,
}

/// The answer to the window's close prompt (the desktop app only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export_to = "CloseAnswer.ts")]
pub enum CloseAnswer {
    /// Stop the stack and quit.
    Quit,
    /// Keep the stack running in the tray.
    Hide,
    /// Keep the window open.
    Cancel,
}
