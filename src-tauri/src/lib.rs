//! # stackdesk-app
//!
//! The desktop shell: one window over [`desk::Stack`] (which owns the supervisor), a tray icon
//! with Start / Stop / Quit, and the control endpoint so the same UI also opens in a browser.
//! Glue only: what the buttons do lives in the `desk` and `supervisor` crates.
//!
//! # Layout
//! - [`run`] (here): builds the app — state, control endpoint, tray, window close prompt, and
//!   stopping the stack on every way out (Quit, the last window, SIGTERM).
//! - [`commands`]: what the UI calls, one thin function per command.
//! - [`state`]: what commands share. [`events`]: what the window's channel carries.
//! - [`error`]: the commands' error type.

// The command list (`with_commands!`), shared with build.rs.
include!("commands/list.rs");

pub mod commands;
pub mod error;
pub mod events;
pub mod state;

/// `generate_handler!` over the command list.
macro_rules! handler {
    ($($command:ident),*) => {
        tauri::generate_handler![$(commands::$command),*]
    };
}

/// Every command the app exposes (`src/commands/list.rs`).
pub const COMMANDS: &[&str] = with_commands!(names);

use std::borrow::Cow;
use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tauri::menu::{Menu, MenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager as _, RunEvent, WindowEvent};
use tokio_util::sync::CancellationToken;

use crate::events::AppEvent;
use crate::state::AppState;

/// The origins of the app's own page (Linux and macOS, then Windows) — allowed to call the API.
const APP_ORIGINS: [&str; 3] = ["tauri://localhost", "http://tauri.localhost", "https://tauri.localhost"];

/// The UI's files from what the app embeds, for the control endpoint.
struct EmbeddedAssets(tauri::AssetResolver<tauri::Wry>);

impl desk::assets::Assets for EmbeddedAssets {
    fn get(&self, path: &str) -> Option<desk::assets::Asset> {
        let asset = self.0.get(path.to_string())?;
        Some(desk::assets::Asset { bytes: Cow::Owned(asset.bytes), mime: desk::assets::mime_of(path).to_string() })
    }
}

/// The `stackdesk` CLI shipped beside the app (`bundle.externalBin`).
fn sidecar() -> std::io::Result<std::path::PathBuf> {
    let exe = tauri::utils::platform::current_exe()?;
    let dir = exe.parent().ok_or_else(|| std::io::Error::other("the app's directory"))?;
    Ok(dir.join(format!("stackdesk-cli{}", std::env::consts::EXE_SUFFIX)))
}

/// Sets up the stack, the control endpoint and the tray.
fn setup(app: &tauri::App, shutdown: CancellationToken) -> Result<(), Box<dyn std::error::Error>> {
    let config_dir = app.path().app_config_dir()?;
    let data_dir = app.path().app_data_dir()?;
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    listener.set_nonblocking(true)?;
    let port = listener.local_addr()?.port();
    let token = desk::control::new_token();
    let mut options = desk::StackOptions::new(config_dir, data_dir, sidecar()?);
    options.cors_origins = APP_ORIGINS.iter().map(ToString::to_string).chain(desk::control::origins(port)).collect();
    let stack = Arc::new(desk::Stack::new(options)?);
    let assets = Arc::new(EmbeddedAssets(app.asset_resolver()));
    let control = desk::control::ControlState::new(stack.clone(), assets, token.clone(), port, shutdown);
    tauri::async_runtime::spawn(async move {
        match tokio::net::TcpListener::from_std(listener) {
            Ok(listener) => {
                if let Err(err) = desk::control::serve(listener, control).await {
                    tracing::error!(%err, "the control endpoint stopped");
                }
            }
            Err(err) => tracing::error!(%err, "cannot serve the control endpoint"),
        }
    });
    let browser_url = desk::control::browser_url(port, &token);
    // The user's own terminal: where to open the same UI in a browser (e.g. under Xvfb).
    let _ = writeln!(std::io::stdout(), "Stackdesk in a browser: {browser_url}");
    app.manage(AppState {
        stack,
        browser_url,
        channel: Default::default(),
        forwarder: Default::default(),
        quitting: AtomicBool::new(false),
    });
    if let Err(err) = tray(app.handle()) {
        // A desktop without a tray area still has the window.
        tracing::warn!(%err, "no tray icon");
    }
    #[cfg(unix)]
    {
        let handle = app.handle().clone();
        tauri::async_runtime::spawn(async move {
            if let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                term.recv().await;
                tracing::info!("SIGTERM: stopping the stack and quitting");
                quit(&handle);
            }
        });
    }
    Ok(())
}

fn quit(app: &AppHandle) {
    app.state::<AppState>().quitting.store(true, Ordering::SeqCst);
    app.exit(0);
}

/// The tray icon: Show, Start, Stop, Quit.
fn tray(app: &AppHandle) -> tauri::Result<()> {
    let show = MenuItem::with_id(app, "show", "Stackdesk", true, None::<&str>)?;
    let start = MenuItem::with_id(app, "start", "Start / Запустить", true, None::<&str>)?;
    let stop = MenuItem::with_id(app, "stop", "Stop / Остановить", true, None::<&str>)?;
    let quit_item = MenuItem::with_id(app, "quit", "Quit / Выйти", true, None::<&str>)?;
    let menu = Menu::with_items(app, &[&show, &start, &stop, &quit_item])?;
    let mut builder = TrayIconBuilder::with_id("stackdesk").menu(&menu).tooltip("Stackdesk");
    if let Some(icon) = app.default_window_icon() {
        builder = builder.icon(icon.clone());
    }
    builder
        .on_menu_event(|app, event| {
            let stack = app.state::<AppState>().stack.clone();
            match event.id.as_ref() {
                "show" => {
                    if let Some(window) = app.get_webview_window("main") {
                        let _ = window.show();
                        let _ = window.set_focus();
                    }
                }
                "start" => {
                    tauri::async_runtime::spawn(async move {
                        if let Err(err) = stack.start().await {
                            tracing::warn!(%err, "start from the tray");
                        }
                    });
                }
                "stop" => {
                    tauri::async_runtime::spawn(async move {
                        let _ = stack.stop().await;
                    });
                }
                "quit" => quit(app),
                _ => {}
            }
        })
        .build(app)?;
    Ok(())
}

/// Runs the app until it quits; the stack is always stopped on the way out.
pub fn run() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_target(false)
        .init();
    let shutdown = CancellationToken::new();
    let setup_shutdown = shutdown.clone();
    let app = tauri::Builder::default()
        .setup(move |app| setup(app, setup_shutdown))
        .on_window_event(|window, event| {
            if let WindowEvent::CloseRequested { api, .. } = event {
                let state = window.state::<AppState>();
                if !state.quitting.load(Ordering::SeqCst) && state.stack.snapshot().running {
                    // Ask in the UI: stop and quit, keep running in the tray, or cancel.
                    api.prevent_close();
                    state.send(AppEvent::CloseRequested);
                }
            }
        })
        .invoke_handler(with_commands!(handler))
        .build(tauri::generate_context!());
    let app = match app {
        Ok(app) => app,
        Err(err) => {
            tracing::error!(%err, "the app could not start");
            std::process::exit(1);
        }
    };
    app.run(move |handle, event| {
        if let RunEvent::Exit = event {
            // Quitting always stops the stack: worker, API, then Redis.
            let stack = handle.state::<AppState>().stack.clone();
            shutdown.cancel();
            tauri::async_runtime::block_on(async move {
                if tokio::time::timeout(Duration::from_secs(30), stack.shutdown()).await.is_err() {
                    tracing::warn!("the stack did not stop within 30 s");
                }
            });
        }
    });
}

#[cfg(test)]
mod tests {
    /// `capabilities/default.json` grants exactly the commands the list names (tauri-build and
    /// `generate_handler!` take theirs from that list).
    #[test]
    fn the_capability_grants_exactly_the_listed_commands() {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/capabilities/default.json")).unwrap();
        let capability: serde_json::Value = serde_json::from_str(&text).unwrap();
        let mut granted: Vec<String> =
            capability["permissions"].as_array().unwrap().iter().map(|p| p.as_str().unwrap().to_string()).collect();
        let mut listed: Vec<String> =
            super::COMMANDS.iter().map(|c| format!("allow-{}", c.replace('_', "-"))).collect();
        granted.sort();
        listed.sort();
        assert_eq!(granted, listed, "capabilities/default.json and src/commands/list.rs disagree");
    }
}
