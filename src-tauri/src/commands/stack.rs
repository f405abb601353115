//! The stack, its processes, logs and settings: thin calls into the desk.

use desk::actions::{ProcessAction, StackAction};
use desk::{SaveOutcome, SettingsUpdate, SettingsView, Snapshot};
use supervisor::ProcessKind;
use tauri::State;

use crate::error::Result;
use crate::state::AppState;

/// The dashboard's facts.
#[tauri::command]
pub fn snapshot(state: State<'_, AppState>) -> Snapshot {
    state.stack.snapshot()
}

/// Starts, stops or restarts the whole stack.
#[tauri::command]
pub async fn stack(state: State<'_, AppState>, action: StackAction) -> Result<Snapshot> {
    Ok(state.stack.act(action).await?)
}

/// Starts, stops, restarts or kills (as a crash would) one process.
#[tauri::command]
pub async fn process_action(
    state: State<'_, AppState>,
    process: ProcessKind,
    action: ProcessAction,
) -> Result<Snapshot> {
    Ok(state.stack.process_action(process, action).await?)
}

/// A process's last lines.
#[tauri::command]
pub fn logs(state: State<'_, AppState>, process: ProcessKind, lines: usize) -> Vec<String> {
    state.stack.logs(process, lines.min(5000))
}

/// The settings (secrets only as "set").
#[tauri::command]
pub fn settings(state: State<'_, AppState>) -> SettingsView {
    state.stack.settings()
}

/// Checks and saves a change.
#[tauri::command]
pub fn save_settings(state: State<'_, AppState>, update: SettingsUpdate) -> Result<SaveOutcome> {
    Ok(state.stack.save_settings(&update)?)
}

/// `getMe`, then a test message; typed values win over saved ones.
#[tauri::command]
pub async fn test_telegram(
    state: State<'_, AppState>,
    token: Option<String>,
    chat_id: Option<String>,
) -> Result<desk::telegram::TelegramCheck> {
    let form = desk::control::TelegramTest { token, chat_id };
    Ok(desk::control::test_telegram_with(&state.stack, form).await?)
}

/// Whether a redis-server for a managed Redis can be found (the first-run screen).
#[tauri::command]
pub async fn redis_server(state: State<'_, AppState>) -> Result<desk::RedisServerCheck> {
    Ok(state.stack.redis_server().await?)
}

/// Saves an exported diagram under the data folder; returns where.
#[tauri::command]
pub fn save_export(state: State<'_, AppState>, name: String, bytes: Vec<u8>) -> Result<std::path::PathBuf> {
    Ok(state.stack.save_export(&name, &bytes)?)
}
