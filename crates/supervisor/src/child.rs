//! One child process: started with the platform's lifetime ties, its output captured line by
//! line, and stopped politely, then after a deadline killed, and always waited for.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt as _, AsyncRead, BufReader};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::config::RedisAuth;
use crate::logs::Logs;
use crate::probe;
use crate::reason::ExitHow;
use crate::state::{ProcessKind, Stream};
use crate::sys;

/// How to start a process.
#[derive(Debug, Clone)]
pub struct Launch {
    /// Which process.
    pub kind: ProcessKind,
    /// The executable.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// Extra environment.
    pub env: Vec<(String, String)>,
    /// The port a Redis child listens on and its credentials (its polite stop is `SHUTDOWN`
    /// there).
    pub redis_port: Option<(u16, RedisAuth)>,
    /// How long a polite stop may take before the process is killed.
    pub stop_timeout: Duration,
}

/// A process that exited.
#[derive(Debug, Clone)]
pub struct Exit {
    /// Which process.
    pub kind: ProcessKind,
    /// Which start of it.
    pub generation: u64,
    /// How it ended, in words (`exit code 1`, `killed by signal 9`).
    pub how: ExitHow,
}

/// A running child. Dropping the handle stops the child.
#[derive(Debug)]
pub struct ChildHandle {
    /// Its pid.
    pub pid: u32,
    stop: Option<oneshot::Sender<()>>,
    done: JoinHandle<()>,
}

impl ChildHandle {
    /// Asks the child to stop and waits until it has exited (it is killed after the stop timeout).
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.done).await;
    }

    /// Whether the process has exited.
    pub fn has_exited(&self) -> bool {
        self.done.is_finished()
    }
}

/// How long Redis gets to act on `SHUTDOWN` before it is sent SIGTERM.
const REDIS_SHUTDOWN: Duration = Duration::from_millis(500);

/// Starts `launch`; its exit is reported on `exits`.
pub fn spawn(
    launch: &Launch,
    generation: u64,
    lifeline: &sys::Lifeline,
    logs: &Arc<Logs>,
    exits: &mpsc::UnboundedSender<Exit>,
) -> std::io::Result<ChildHandle> {
    // Our own processes are asked to stop by closing their stdin, a pipe only we hold (see
    // `STOP_PIPE_ENV`): the same on every OS, and it needs no console (a desktop app has none, so
    // Windows console control events cannot reach its children). Redis is asked with `SHUTDOWN`.
    let stop_pipe = launch.redis_port.is_none();
    let mut command = tokio::process::Command::new(&launch.program);
    command
        .args(&launch.args)
        .envs(launch.env.iter().cloned())
        .stdin(if stop_pipe { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if stop_pipe {
        command.env(crate::STOP_PIPE_ENV, "1");
    }
    sys::prepare(&mut command);
    let mut child = command.spawn()?;
    let stop_pipe = child.stdin.take();
    if let Err(err) = lifeline.adopt(&child) {
        tracing::warn!(%err, process = %launch.kind, "could not tie the process to the supervisor's lifetime");
    }
    let pid = child.id().unwrap_or_default();
    let kind = launch.kind;
    let mut readers = Vec::new();
    if let Some(out) = child.stdout.take() {
        readers.push(tokio::spawn(pump(out, kind, Stream::Stdout, logs.clone())));
    }
    if let Some(err) = child.stderr.take() {
        readers.push(tokio::spawn(pump(err, kind, Stream::Stderr, logs.clone())));
    }
    let (stop, stop_requested) = oneshot::channel::<()>();
    let (exits, launch) = (exits.clone(), launch.clone());
    let done = tokio::spawn(async move {
        let status = tokio::select! {
            status = child.wait() => status,
            _ = stop_requested => {
                ask_to_stop(&launch, stop_pipe).await;
                let redis = launch.redis_port.is_some();
                let patience = if redis { REDIS_SHUTDOWN.min(launch.stop_timeout) } else { launch.stop_timeout };
                let mut waited = tokio::time::timeout(patience, child.wait()).await;
                if waited.is_err() && redis {
                    // A Redis that did not take SHUTDOWN (paused, or it refused us) gets SIGTERM,
                    // which it handles the same way, rather than a kill at the stop timeout.
                    if let Err(err) = sys::terminate_even_if_paused(pid) {
                        tracing::warn!(%err, pid, "could not send SIGTERM to Redis");
                    }
                    waited = tokio::time::timeout(launch.stop_timeout, child.wait()).await;
                }
                match waited {
                    Ok(status) => status,
                    Err(_) => {
                        tracing::warn!(process = %kind, pid, "did not stop within {:?}; killing it", launch.stop_timeout);
                        let _ = child.kill().await;
                        child.wait().await
                    }
                }
            }
        };
        // Let the readers reach the end of the output so the last lines are kept.
        for reader in readers {
            let _ = tokio::time::timeout(Duration::from_secs(1), reader).await;
        }
        let how = match status {
            Ok(status) => ExitHow::from(status),
            Err(err) => ExitHow::Unknown { detail: err.to_string() },
        };
        let _ = exits.send(Exit { kind, generation, how });
    });
    Ok(ChildHandle { pid, stop: Some(stop), done })
}

/// Asks politely: `SHUTDOWN` for Redis (it writes its append-only file before it exits); for our
/// own processes, the end of their stdin.
async fn ask_to_stop(launch: &Launch, stop_pipe: Option<tokio::process::ChildStdin>) {
    if let Some((port, auth)) = launch.redis_port.clone() {
        let _ = tokio::task::spawn_blocking(move || probe::redis_command(port, &auth, &["SHUTDOWN"])).await;
    }
    drop(stop_pipe);
}

async fn pump(output: impl AsyncRead + Unpin, kind: ProcessKind, stream: Stream, logs: Arc<Logs>) {
    let mut lines = BufReader::new(output).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        logs.line(kind, stream, &line);
    }
}
