//! What the window is told through its channel: the stack's events, and the window's own.

use serde::Serialize;

/// Events of the window itself.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WindowEvent {
    /// The user closed the window while the stack runs: the UI asks what to do.
    CloseRequested,
}

/// One message on the window's channel.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum AppEvent {
    /// From the stack.
    Desk(desk::DeskEvent),
    /// From the window.
    Window(WindowEvent),
}
