//! The supervisor's handle. All state lives in one actor task ([`crate::actor`]); the handle
//! sends it commands and reads what it publishes.

use std::sync::Arc;

use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::actor::{Actor, Command};
use crate::config::SupervisorConfig;
use crate::error::{Result, SupervisorError};
use crate::logs::Logs;
use crate::state::{Event, ProcessKind, ProcessStatus};

/// Runs the stack: start, stop, restart on crash, and publishes every state change and log line.
#[derive(Debug)]
pub struct Supervisor {
    commands: mpsc::Sender<Command>,
    events: broadcast::Sender<Event>,
    status: watch::Receiver<Vec<ProcessStatus>>,
    logs: Arc<Logs>,
    actor: JoinHandle<()>,
}

impl Supervisor {
    /// Starts the supervisor (nothing runs until [`Supervisor::start`]).
    pub fn new(config: SupervisorConfig) -> Result<Self> {
        crate::paths::private_dir(&config.data_dir)
            .map_err(|e| SupervisorError::io(format!("creating {}", config.data_dir.display()), e))?;
        let (events, _) = broadcast::channel(4096);
        let logs = Arc::new(Logs::new(&config.data_dir, events.clone(), config.secrets.clone()));
        let (commands, inbox) = mpsc::channel(16);
        let (actor, status) = Actor::new(config, logs.clone(), events.clone())?;
        let actor = tokio::spawn(actor.run(inbox));
        Ok(Self { commands, events, status, logs, actor })
    }

    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Command) -> Result<T> {
        let (reply, answer) = oneshot::channel();
        self.commands.send(make(reply)).await.map_err(|_| SupervisorError::Gone)?;
        answer.await.map_err(|_| SupervisorError::Gone)
    }

    /// Starts Redis, then the API, then the worker, each only once the one before is ready.
    /// On failure, stops what was started and says which step failed and why.
    pub async fn start(&self) -> Result<()> {
        self.ask(Command::Start).await?
    }

    /// Stops the worker, then the API, then Redis; each politely, then killed after the stop
    /// timeout; always waited for.
    pub async fn stop(&self) -> Result<()> {
        self.ask(Command::Stop).await
    }

    /// Starts one process of the running stack again (after [`Supervisor::stop_process`], or once
    /// it gave up restarting after a crash loop). Waits until it is ready.
    pub async fn start_process(&self, kind: ProcessKind) -> Result<()> {
        self.ask(|reply| Command::StartProcess(kind, reply)).await?
    }

    /// Stops one process and keeps it stopped while the rest of the stack runs on.
    pub async fn stop_process(&self, kind: ProcessKind) -> Result<()> {
        self.ask(|reply| Command::StopProcess(kind, reply)).await?
    }

    /// Stops one process, then starts it again.
    pub async fn restart_process(&self, kind: ProcessKind) -> Result<()> {
        self.stop_process(kind).await?;
        self.start_process(kind).await
    }

    /// Kills one process at once, as a crash would (the demo of a dying worker): the supervisor
    /// then does what it does after any crash — restores the worker's unfinished tasks to the
    /// queue and restarts the process after the back-off.
    pub async fn kill_process(&self, kind: ProcessKind) -> Result<()> {
        self.ask(|reply| Command::KillProcess(kind, reply)).await?
    }

    /// Replaces the environment given to the API and the worker from their next start on
    /// (running processes keep theirs until they are restarted).
    pub async fn set_child_env(&self, env: Vec<(String, String)>) -> Result<()> {
        self.ask(|reply| Command::SetChildEnv(env, reply)).await
    }

    /// Stops everything and ends the supervisor.
    pub async fn shutdown(self) {
        let _ = self.ask(Command::Stop).await;
        drop(self.commands);
        let _ = self.actor.await;
    }

    /// Every state change and log line from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// The processes as they are now.
    pub fn status(&self) -> Vec<ProcessStatus> {
        self.status.borrow().iter().map(ProcessStatus::now).collect()
    }

    /// Waits until the status changes.
    pub async fn changed(&mut self) -> Result<()> {
        self.status.changed().await.map_err(|_| SupervisorError::Gone)
    }

    /// The processes' logs.
    pub fn logs(&self) -> &Logs {
        &self.logs
    }
}
