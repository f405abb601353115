//! Start, stop, status, logs and settings: thin calls into the desk.

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

/// Starts Redis, the API and the worker.
#[tauri::command]
pub async fn start(state: State<'_, AppState>) -> Result<Snapshot> {
    Ok(state.stack.start().await?)
}

/// Stops the worker, the API and Redis.
#[tauri::command]
pub async fn stop(state: State<'_, AppState>) -> Result<Snapshot> {
    Ok(state.stack.stop().await?)
}

/// Stops everything, then starts it with the settings saved now.
#[tauri::command]
pub async fn restart(state: State<'_, AppState>) -> Result<Snapshot> {
    Ok(state.stack.restart().await?)
}

/// Starts, stops, restarts or kills (as a crash would) one process.
#[tauri::command]
pub async fn process_action(state: State<'_, AppState>, process: ProcessKind, action: String) -> Result<Snapshot> {
    Ok(state.stack.process_action(process, &action).await?)
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

/// What Redis holds now, sampled for the diagrams.
#[tauri::command]
pub async fn redis_glance(state: State<'_, AppState>) -> Result<desk::glance::RedisGlance> {
    Ok(state.stack.redis_glance().await?)
}

/// One Redis key's contents.
#[tauri::command]
pub async fn redis_key(state: State<'_, AppState>, name: String) -> Result<desk::glance::KeyContents> {
    Ok(state.stack.redis_key(&name).await?)
}

/// Saves an exported diagram under the data folder; returns where.
#[tauri::command]
pub fn save_export(state: State<'_, AppState>, name: String, bytes: Vec<u8>) -> Result<std::path::PathBuf> {
    Ok(state.stack.save_export(&name, &bytes)?)
}
