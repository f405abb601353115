//! What the app keeps, handed to commands through `.manage()`.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use tauri::ipc::Channel;

use crate::events::AppEvent;

/// The app's state.
pub struct AppState {
    /// The stack behind Start and Stop.
    pub stack: Arc<desk::Stack>,
    /// The control endpoint's link (with this run's token), for "Open in browser".
    pub browser_url: String,
    /// The window's event channel; a reload subscribes again and replaces it.
    pub channel: Mutex<Option<Channel<AppEvent>>>,
    /// The task forwarding the stack's events to `channel`.
    pub forwarder: Mutex<Option<tauri::async_runtime::JoinHandle<()>>>,
    /// Set once quitting began, so closing the window no longer asks.
    pub quitting: AtomicBool,
}

impl AppState {
    /// Sends `event` to the window, if it listens.
    pub fn send(&self, event: AppEvent) {
        let channel = self.channel.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        if let Some(channel) = channel {
            let _ = channel.send(event);
        }
    }
}
