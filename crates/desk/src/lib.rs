//! # stackdesk-desk
//!
//! Everything the desktop app does that does not need a window: the settings a learner saves,
//! the stack behind the Start and Stop buttons (with its task monitor), a Telegram check, and the
//! local HTTP control endpoint through which the same UI runs in a plain browser (for
//! projecting, and for tests in Chromium). `src-tauri` is glue over this crate; `stackdesk ui`
//! serves it too.
//!
//! # Layout
//! Bottom to top; each module uses only those above it in this list.
//! - [`actions`]: what the UI can ask for (stack, process, open, close), as enums.
//! - [`error`]: one error type, serializable for the UI; [`open`]: the desktop's own opener.
//! - [`prefs`]: the saved settings (`settings.json` in the app's config directory), checked key by
//!   key with the same rules as the command line.
//! - [`health`]: health beside the process states — a prober (owned by the [`Stack`] while it
//!   runs) that pings Redis, reads the API's `/health` and follows the worker's heartbeats.
//! - [`telegram`]: the "Test Telegram" button: `getMe`, then a test message.
//! - [`exports`]: exported diagrams, saved under the data folder.
//! - [`Stack`] (in `stack.rs`): owns the [`supervisor::Supervisor`] built from the saved settings
//!   and the [`monitor`] of the running stack; start, stop, restart (all or one process),
//!   snapshot, logs, and one event stream for the UI.
//! - [`assets`]: where the control endpoint finds the UI's files; [`control`]: the control
//!   endpoint — the UI's files and a JSON API over the [`Stack`], guarded by a per-run token and
//!   an Origin/Host check.

pub mod actions;
pub mod assets;
pub mod control;
pub mod error;
pub mod exports;
pub mod health;
pub mod open;
pub mod prefs;
mod stack;
pub mod telegram;

pub use error::{DeskError, Result};
pub use health::{Health, Problem, StackHealth};
pub use prefs::{Prefs, SaveOutcome, SettingsUpdate, SettingsView};
pub use stack::{DeskEvent, RedisServerCheck, Snapshot, Stack, StackOptions, supervisor_config};

/// The app's identifier (as in `tauri.conf.json`); names its config directory.
pub const APP_IDENTIFIER: &str = "dev.stackdesk.app";

/// Where the app keeps `settings.json`: the per-user config directory, as Tauri names it
/// (`~/.config/dev.stackdesk.app` on Linux, `%APPDATA%\dev.stackdesk.app` on Windows), so the
/// window and `stackdesk ui` share one set of settings.
pub fn default_config_dir() -> std::path::PathBuf {
    dirs::config_dir().unwrap_or_else(std::env::temp_dir).join(APP_IDENTIFIER)
}
