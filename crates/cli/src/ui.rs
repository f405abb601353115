//! `stackdesk ui`: the desktop app without its window — the stack behind the control endpoint,
//! and the app's UI served to a browser (for projecting, or where no webview is installed).

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use desk::control::{self, ControlState};
use desk::{Stack, StackOptions};
use tokio_util::sync::CancellationToken;

/// What `stackdesk ui` was asked for.
pub struct UiOptions {
    /// The built UI (`ui/dist`).
    pub dir: PathBuf,
    /// The control endpoint's port (0: any free one).
    pub port: u16,
    /// Where settings are saved (default: the app's).
    pub config_dir: Option<PathBuf>,
    /// Start the stack at once instead of waiting for the Start button.
    pub start: bool,
}

/// Serves the UI until `shutdown`, then stops the stack.
pub async fn run(
    sources: &config::Sources,
    settings: &config::Settings,
    options: UiOptions,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let assets = desk::assets::DirAssets::new(&options.dir)?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", options.port))
        .await
        .with_context(|| format!("cannot listen on 127.0.0.1:{}", options.port))?;
    let port = listener.local_addr()?.port();
    let token = control::new_token();
    let mut stack_options = StackOptions::new(
        options.config_dir.unwrap_or_else(desk::default_config_dir),
        settings.data_dir.as_ref().map_or_else(supervisor::paths::default_data_dir, PathBuf::from),
        std::env::current_exe().context("finding the stackdesk executable")?,
    );
    stack_options.env = sources.merged();
    stack_options.cors_origins = control::origins(port);
    let stack = Arc::new(Stack::new(stack_options)?);
    let state = ControlState::new(stack.clone(), Arc::new(assets), token.clone(), port, shutdown.clone());
    let server = tokio::spawn(control::serve(listener, state));
    let mut out = std::io::stdout().lock();
    writeln!(out, "Stackdesk UI: {}", control::browser_url(port, &token))?;
    writeln!(out, "(the link holds this run's token; Ctrl+C stops the stack and the UI)")?;
    drop(out);
    if options.start
        && let Err(err) = stack.start().await
    {
        eprintln!("stackdesk: {err}");
    }
    shutdown.cancelled().await;
    stack.shutdown().await;
    server.await.context("the control endpoint")?.context("serving the control endpoint")?;
    Ok(())
}
