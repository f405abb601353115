//! `stackdesk up`: the supervisor in a terminal — a status line per process on every change, and
//! one merged log with a prefix per process, as three terminals would show — with the task
//! monitor beside it in this process (one recorder per stack).

use std::io::Write as _;
use std::time::Duration;

use anyhow::{Context as _, bail};
use config::Settings;
use supervisor::{Event, Mode, ProcessKind, ProcessState, ProcessStatus, Reason, Supervisor, SupervisorConfig};
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Runs the stack until `shutdown`, then stops it.
pub async fn run(settings: &Settings, external: &[String], shutdown: CancellationToken) -> anyhow::Result<()> {
    let mut config = supervisor_config(settings, external)?;
    // The monitor's port first, like the others: a taken one stops `up` before anything runs.
    let monitor_addr = format!("127.0.0.1:{}", settings.monitor_port);
    let listener = match tokio::net::TcpListener::bind(&monitor_addr).await {
        Ok(listener) => listener,
        Err(err) => match supervisor::ports::check(settings.monitor_port) {
            Some(owner) => bail!("{}", desk::error::DeskError::MonitorPortTaken { port: settings.monitor_port, owner }),
            None => return Err(err).with_context(|| format!("cannot listen on {monitor_addr} for the monitor")),
        },
    };
    // The monitor first: it waits for Redis, and the API and the worker start once it follows the
    // stack's events (so nothing they say is missed).
    let monitor_stop = CancellationToken::new();
    let monitor_tasks = TaskTracker::new();
    let options = monitor::MonitorOptions::from_settings(settings);
    let redis_url = settings.redis_url.expose().to_string();
    let monitor = monitor::start(listener, redis_url, options, &monitor_tasks, monitor_stop.clone());
    monitor_tasks.close();
    config.observer = Some(monitor.following());
    let supervisor = Supervisor::new(config)?;
    let mut events = supervisor.subscribe();
    let printer = tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(event) => print(&event),
                Err(RecvError::Lagged(missed)) => say(&format!("({missed} lines not shown: output too fast)")),
                Err(RecvError::Closed) => return,
            }
        }
    });
    let started = tokio::select! {
        result = supervisor.start() => result,
        () = shutdown.cancelled() => Ok(()),
    };
    if let Err(err) = started {
        monitor_stop.cancel();
        supervisor.shutdown().await;
        printer.abort();
        bail!("{err}");
    }
    if !shutdown.is_cancelled() {
        let api = supervisor
            .status()
            .iter()
            .find(|s| s.process == ProcessKind::Api)
            .and_then(|s| s.port)
            .unwrap_or(settings.api_port);
        say(&format!(
            "ready: API on http://127.0.0.1:{api}  (Swagger UI: /docs), task monitor on http://{monitor_addr}.  \
             Ctrl+C stops everything."
        ));
        shutdown.cancelled().await;
    }
    say("stopping: the worker, the monitor, then API, then Redis");
    // The worker first, while the monitor still hears its last words.
    let worker_ours = supervisor.status().iter().any(|s| s.process == ProcessKind::Worker && s.mode == Mode::Managed);
    if worker_ours {
        let _ = supervisor.stop_process(ProcessKind::Worker).await;
    }
    monitor_stop.cancel();
    if tokio::time::timeout(Duration::from_secs(3), monitor_tasks.wait()).await.is_err() {
        say("the monitor did not stop within 3 s");
    }
    supervisor.shutdown().await;
    // Let the last state lines reach the terminal.
    let _ = tokio::time::timeout(Duration::from_millis(200), printer).await;
    Ok(())
}

/// The supervisor's configuration from the settings (the app's own rules), with `--external`.
pub fn supervisor_config(settings: &Settings, external: &[String]) -> anyhow::Result<SupervisorConfig> {
    let external = external.iter().map(|name| name.parse::<ProcessKind>()).collect::<Result<Vec<_>, _>>();
    let external = external.map_err(|err| anyhow::anyhow!("invalid --external: {err}"))?;
    let exe = std::env::current_exe().context("finding the stackdesk executable")?;
    let config = desk::supervisor_config(settings, &external, exe)?;
    if config.mode(ProcessKind::Redis) == Mode::External && !external.contains(&ProcessKind::Redis) {
        say(&format!("REDIS_URL points at {}: using that Redis as external", settings.redis_url.redacted_url()));
    }
    Ok(config)
}

/// A line of `up`'s own, in the merged log.
fn say(line: &str) {
    let _ = writeln!(std::io::stdout().lock(), "{:<6} | {line}", "up");
}

fn print(event: &Event) {
    let mut out = std::io::stdout().lock();
    let _ = match event {
        Event::Log { process, line, .. } => writeln!(out, "{:<6} | {line}", process.name()),
        Event::State { status, .. } => writeln!(out, "{:<6} | {}", "up", state_line(status)),
    };
}

/// A process's new state as `up` prints it, with what to do about a crash loop from here.
fn state_line(status: &ProcessStatus) -> String {
    let light = match status.state {
        ProcessState::Running | ProcessState::External => "●",
        ProcessState::Starting | ProcessState::Stopping | ProcessState::BackingOff => "◐",
        ProcessState::Crashed => "✖",
        ProcessState::Stopped => "○",
    };
    let mut line = format!("{light} {:<6} {:<11}", status.process.name(), format!("{:?}", status.state).to_lowercase());
    if let Some(pid) = status.pid {
        line.push_str(&format!(" pid {pid}"));
    }
    if let Some(port) = status.port {
        line.push_str(&format!(" port {port}"));
    }
    if status.restarts > 0 {
        line.push_str(&format!(" restarts {}", status.restarts));
    }
    if let Some(reason) = &status.reason {
        line.push_str(&format!(" — {reason}"));
        if matches!(reason, Reason::CrashLoop { .. }) {
            line.push_str("; to try sooner, stop `stackdesk up` (Ctrl+C) and run it again");
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use supervisor::{Cause, ExitHow};

    use super::*;

    #[test]
    fn a_crash_loop_says_what_to_do_in_the_terminal() {
        let mut status = ProcessStatus::new(ProcessKind::Worker, Mode::Managed, None);
        status.state = ProcessState::Crashed;
        status.reason = Some(Reason::CrashLoop {
            count: 5,
            window_secs: 60,
            pause_secs: 60,
            cause: Cause::Exited { how: ExitHow::Code { code: 3 } },
        });
        let line = state_line(&status);
        assert!(line.starts_with("✖ worker crashed"), "{line}");
        assert!(line.contains("crashed 5 times within 60 s") && line.contains("exit code 3"), "{line}");
        assert!(line.ends_with("to try sooner, stop `stackdesk up` (Ctrl+C) and run it again"), "{line}");
    }
}
