//! Turning stop requests into a cancellation: Ctrl+C and SIGTERM on Unix; Ctrl+C, Ctrl+Break and
//! closing the console on Windows (a second one exits at once); and, under the supervisor, the end
//! of stdin (`supervisor::STOP_PIPE_ENV`).

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

/// Under the supervisor (`STACKDESK_STOP_PIPE=1`), cancels `token` when stdin ends: the supervisor
/// closed it to stop us, or it died. Read on a plain thread, which never holds up the exit.
pub fn on_stop_pipe(token: CancellationToken) {
    if std::env::var_os(supervisor::STOP_PIPE_ENV).is_none_or(|v| v != "1") {
        return;
    }
    let watch = move || {
        let mut stdin = std::io::stdin().lock();
        let mut buf = [0_u8; 256];
        while matches!(std::io::Read::read(&mut stdin, &mut buf), Ok(n) if n > 0) {}
        tracing::info!("the supervisor asked to stop");
        token.cancel();
    };
    if let Err(err) = std::thread::Builder::new().name("stop-pipe".into()).spawn(watch) {
        tracing::warn!(%err, "cannot watch the supervisor's stop pipe");
    }
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
