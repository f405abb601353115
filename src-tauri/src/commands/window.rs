//! The window's own commands: events, opening things, the close prompt's answer.

use std::sync::atomic::Ordering;

use desk::actions::{CloseAnswer, OpenTarget};
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager as _, State};

use crate::error::Result;
use crate::events::AppEvent;
use crate::state::AppState;

/// Streams the stack's events to the window (a new call replaces the previous stream).
#[tauri::command]
pub fn subscribe(state: State<'_, AppState>, channel: Channel<AppEvent>) {
    let mut events = state.stack.subscribe();
    let forward_to = channel.clone();
    let task = tauri::async_runtime::spawn(async move {
        use tokio::sync::broadcast::error::RecvError;
        loop {
            let event = match events.recv().await {
                Ok(event) => event,
                Err(RecvError::Lagged(missed)) => desk::DeskEvent::Lagged { missed },
                Err(RecvError::Closed) => return,
            };
            if forward_to.send(event).is_err() {
                return;
            }
        }
    });
    *state.channel.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(channel);
    if let Some(old) = state.forwarder.lock().unwrap_or_else(std::sync::PoisonError::into_inner).replace(task) {
        old.abort();
    }
}

/// Opens Swagger UI, the data or logs folder, or this UI in the default browser.
#[tauri::command]
pub fn open_target(state: State<'_, AppState>, target: OpenTarget) -> Result<()> {
    if target == OpenTarget::Browser {
        return Ok(desk::open::open(&state.browser_url)?);
    }
    Ok(desk::control::open_target(&state.stack, target)?)
}

/// The link that opens this UI in a browser, with this run's token.
#[tauri::command]
pub fn browser_url(state: State<'_, AppState>) -> String {
    state.browser_url.clone()
}

/// The close prompt's answer: quit (stopping the stack), hide to the tray, or cancel.
#[tauri::command]
pub fn close_answer(app: AppHandle, state: State<'_, AppState>, action: CloseAnswer) -> Result<()> {
    match action {
        CloseAnswer::Quit => {
            state.quitting.store(true, Ordering::SeqCst);
            app.exit(0);
        }
        CloseAnswer::Hide => {
            if let Some(window) = app.get_webview_window("main") {
                window.hide()?;
            }
        }
        CloseAnswer::Cancel => {}
    }
    Ok(())
}

/// Puts the window in or out of full screen (presentation mode).
#[tauri::command]
pub fn set_fullscreen(app: AppHandle, on: bool) -> Result<()> {
    if let Some(window) = app.get_webview_window("main") {
        window.set_fullscreen(on)?;
    }
    Ok(())
}
