//! Turning the operating system's stop requests into a cancellation: Ctrl+C and SIGTERM on Unix;
//! Ctrl+C, Ctrl+Break and closing the console on Windows. A second request exits at once.

use tokio_util::sync::CancellationToken;

/// Cancels `token` on the first stop request; exits the process (code 130) on the second.
pub fn on_signal(token: CancellationToken) {
    tokio::spawn(async move {
        if stop_requested().await.is_err() {
            tracing::warn!("cannot listen for stop signals; stop the process with kill");
            return;
        }
        tracing::info!("stopping (again to stop at once)");
        token.cancel();
        if stop_requested().await.is_ok() {
            tracing::warn!("stopping at once");
            std::process::exit(130);
        }
    });
}

#[cfg(unix)]
async fn stop_requested() -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    tokio::select! {
        _ = terminate.recv() => {}
        _ = interrupt.recv() => {}
    }
    Ok(())
}

#[cfg(windows)]
async fn stop_requested() -> std::io::Result<()> {
    use tokio::signal::windows::{ctrl_break, ctrl_c, ctrl_close};
    let mut interrupt = ctrl_c()?;
    let mut brk = ctrl_break()?;
    let mut close = ctrl_close()?;
    tokio::select! {
        _ = interrupt.recv() => {}
        _ = brk.recv() => {}
        _ = close.recv() => {}
    }
    Ok(())
}
