//! The one task that owns every process's state. Commands (start, stop), child exits, readiness
//! results and restart timers all arrive here, one at a time, so every transition is explicit and
//! published in order.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use taskq::{Broker, BrokerOptions, EventKind, EventReceiver};
use tokio::sync::{broadcast, mpsc, oneshot, watch};

use crate::child::{self, ChildHandle, Exit, Launch};
use crate::error::{Result, SupervisorError};
use crate::logs::Logs;
use crate::paths::{self, RedisBinary};
use crate::ports;
use crate::probe;
use crate::state::{Event, Mode, ProcessKind, ProcessState, ProcessStatus, Stream};
use crate::supervisor::SupervisorConfig;
use crate::sys;

/// Lines of a process's log quoted in error reports.
const QUOTED_LINES: usize = 12;

pub(crate) enum Command {
    Start(oneshot::Sender<Result<()>>),
    Stop(oneshot::Sender<()>),
    StartProcess(ProcessKind, oneshot::Sender<Result<()>>),
    StopProcess(ProcessKind, oneshot::Sender<Result<()>>),
    KillProcess(ProcessKind, oneshot::Sender<Result<()>>),
    SetChildEnv(Vec<(String, String)>, oneshot::Sender<()>),
}

struct Proc {
    status: ProcessStatus,
    child: Option<ChildHandle>,
    generation: u64,
    crashes: VecDeque<Instant>,
    restart_at: Option<tokio::time::Instant>,
}

/// A readiness probe in progress.
type Probe = std::pin::Pin<Box<dyn Future<Output = std::result::Result<(), String>> + Send>>;

struct Ready {
    kind: ProcessKind,
    generation: u64,
    result: std::result::Result<(), String>,
}

pub(crate) struct Actor {
    config: SupervisorConfig,
    logs: Arc<Logs>,
    events: broadcast::Sender<Event>,
    status: watch::Sender<Vec<ProcessStatus>>,
    procs: [Proc; 3],
    lifeline: sys::Lifeline,
    exits_tx: mpsc::UnboundedSender<Exit>,
    exits: mpsc::UnboundedReceiver<Exit>,
    ready_tx: mpsc::UnboundedSender<Ready>,
    ready: mpsc::UnboundedReceiver<Ready>,
    /// For the worker's readiness (its events) and restoring a dead worker's tasks.
    broker: Option<Broker>,
    redis_binary: Option<RedisBinary>,
    /// Whether the stack is up (started and not stopped).
    up: bool,
}

impl Actor {
    pub(crate) fn new(
        config: SupervisorConfig,
        logs: Arc<Logs>,
        events: broadcast::Sender<Event>,
    ) -> Result<(Self, watch::Receiver<Vec<ProcessStatus>>)> {
        let port_of = |kind| match kind {
            ProcessKind::Redis => Some(config.redis_port),
            ProcessKind::Api => Some(config.api_port),
            ProcessKind::Worker => None,
        };
        let procs = ProcessKind::ALL.map(|kind| Proc {
            status: ProcessStatus::new(kind, config.mode(kind), port_of(kind)),
            child: None,
            generation: 0,
            crashes: VecDeque::new(),
            restart_at: None,
        });
        let (status, status_rx) = watch::channel(procs.iter().map(|p| p.status.clone()).collect());
        let lifeline = sys::Lifeline::new().map_err(|e| SupervisorError::io("tying children to the supervisor", e))?;
        let (exits_tx, exits) = mpsc::unbounded_channel();
        let (ready_tx, ready) = mpsc::unbounded_channel();
        let actor = Self {
            config,
            logs,
            events,
            status,
            procs,
            lifeline,
            exits_tx,
            exits,
            ready_tx,
            ready,
            broker: None,
            redis_binary: None,
            up: false,
        };
        Ok((actor, status_rx))
    }

    pub(crate) async fn run(mut self, mut inbox: mpsc::Receiver<Command>) {
        loop {
            let next_restart = self.procs.iter().filter_map(|p| p.restart_at).min();
            tokio::select! {
                command = inbox.recv() => match command {
                    Some(Command::Start(reply)) => { let _ = reply.send(self.start().await); }
                    Some(Command::Stop(reply)) => { self.stop().await; let _ = reply.send(()); }
                    Some(Command::StartProcess(kind, reply)) => { let _ = reply.send(self.start_process(kind).await); }
                    Some(Command::StopProcess(kind, reply)) => { let _ = reply.send(self.stop_process(kind).await); }
                    Some(Command::KillProcess(kind, reply)) => { let _ = reply.send(self.kill_process(kind)); }
                    Some(Command::SetChildEnv(env, reply)) => { self.config.child_env = env; let _ = reply.send(()); }
                    None => { self.stop().await; return; }
                },
                Some(exit) = self.exits.recv() => self.on_exit(exit).await,
                Some(ready) = self.ready.recv() => self.on_ready(ready),
                () = sleep_until(next_restart) => self.restart_due().await,
            }
        }
    }

    fn set(&mut self, kind: ProcessKind, state: ProcessState, reason: Option<String>) {
        let proc = &mut self.procs[kind.index()];
        let old = proc.status.state;
        proc.status.state = state;
        proc.status.reason = reason;
        proc.status.pid = proc.child.as_ref().map(|c| c.pid);
        proc.status.ready_since = match state {
            ProcessState::Running | ProcessState::External => proc.status.ready_since.or(Some(SystemTime::now())),
            _ => None,
        };
        let status = proc.status.now();
        tracing::debug!(process = %kind, ?old, new = ?state, pid = ?status.pid, reason = ?status.reason, "state");
        self.status.send_replace(self.procs.iter().map(|p| p.status.clone()).collect());
        let _ = self.events.send(Event::State { old, status });
    }

    fn note(&self, kind: ProcessKind, line: &str) {
        self.logs.line(kind, Stream::Supervisor, line);
    }

    fn last_lines(&self, kind: ProcessKind) -> Vec<String> {
        self.logs.tail(kind, QUOTED_LINES)
    }

    fn launch(&self, kind: ProcessKind) -> Result<Launch> {
        let c = &self.config;
        let mut env = c.child_env.clone();
        env.push(("REDIS_URL".to_string(), c.redis_url.clone()));
        let (program, args, redis_port) = match kind {
            ProcessKind::Redis => {
                let binary = self.redis_binary.as_ref().ok_or_else(|| SupervisorError::StartFailed {
                    process: kind,
                    reason: "no redis-server binary".into(),
                    last_lines: Vec::new(),
                })?;
                (binary.path.clone(), vec![c.data_dir.join("redis.conf").display().to_string()], Some(c.redis_port))
            }
            ProcessKind::Api => {
                env.push(("API_HOST".into(), "127.0.0.1".into()));
                env.push(("API_PORT".into(), c.api_port.to_string()));
                (c.stackdesk_exe.clone(), vec!["api".into()], None)
            }
            ProcessKind::Worker => {
                (c.stackdesk_exe.clone(), vec!["worker".into(), "--hostname".into(), c.worker_name.clone()], None)
            }
        };
        Ok(Launch { kind, program, args, env, redis_port, stop_timeout: c.stop_timeout })
    }

    /// Checks what can be checked before anything starts: the redis-server binary, its config,
    /// the ports.
    fn preflight(&mut self) -> Result<()> {
        let c = &self.config;
        if c.mode(ProcessKind::Redis) == Mode::Managed {
            let exe_dir = c.stackdesk_exe.parent().map(std::path::Path::to_path_buf);
            let binary = paths::find_redis(c.redis_binary.as_deref(), exe_dir.as_deref())?;
            let data = c.data_dir.join("redis");
            std::fs::create_dir_all(&data)
                .map_err(|e| SupervisorError::io(format!("creating {}", data.display()), e))?;
            let conf = c.data_dir.join("redis.conf");
            std::fs::write(&conf, paths::redis_conf(c.redis_port, &data))
                .map_err(|e| SupervisorError::io(format!("writing {}", conf.display()), e))?;
            self.note(
                ProcessKind::Redis,
                &format!("using {} (Redis {}), config {}", binary.path.display(), binary.version, conf.display()),
            );
            self.redis_binary = Some(binary);
        }
        for (kind, port) in [(ProcessKind::Redis, c.redis_port), (ProcessKind::Api, c.api_port)] {
            if c.mode(kind) == Mode::Managed
                && let Some(owner) = ports::check(port)
            {
                return Err(SupervisorError::PortTaken { process: kind, port, owner });
            }
        }
        Ok(())
    }

    async fn start(&mut self) -> Result<()> {
        if self.up {
            return Err(SupervisorError::Busy("running"));
        }
        self.preflight()?;
        self.up = true;
        for proc in &mut self.procs {
            proc.status.restarts = 0;
            proc.crashes.clear();
        }
        for kind in ProcessKind::ALL {
            if let Err(err) = self.start_one(kind).await {
                self.stop().await;
                return Err(err);
            }
            if kind == ProcessKind::Redis {
                match Broker::connect(&self.config.redis_url, BrokerOptions::default()).await {
                    Ok(broker) => self.broker = Some(broker),
                    Err(err) => {
                        self.stop().await;
                        return Err(SupervisorError::StartFailed {
                            process: kind,
                            reason: format!("cannot connect: {err}"),
                            last_lines: self.last_lines(kind),
                        });
                    }
                }
            }
        }
        Ok(())
    }

    /// Starts one process of a running stack again (after it was stopped on its own or gave up
    /// crashing). Nothing to do when it is already starting or running.
    async fn start_process(&mut self, kind: ProcessKind) -> Result<()> {
        if !self.up {
            return Err(SupervisorError::NotUp);
        }
        let proc = &mut self.procs[kind.index()];
        if proc.child.is_some() || proc.status.state == ProcessState::External {
            return Ok(());
        }
        proc.restart_at = None;
        proc.crashes.clear();
        let port = match kind {
            ProcessKind::Redis => Some(self.config.redis_port),
            ProcessKind::Api => Some(self.config.api_port),
            ProcessKind::Worker => None,
        };
        if self.config.mode(kind) == Mode::Managed
            && let Some(port) = port
            && let Some(owner) = ports::check(port)
        {
            return Err(SupervisorError::PortTaken { process: kind, port, owner });
        }
        self.note(kind, "start asked for");
        self.start_one(kind).await
    }

    /// Kills one managed process at once, as a crash would: what follows is the crash path
    /// (its tasks restored if it is the worker, then a restart after the back-off).
    fn kill_process(&mut self, kind: ProcessKind) -> Result<()> {
        if !self.up {
            return Err(SupervisorError::NotUp);
        }
        let Some(pid) = self.procs[kind.index()].child.as_ref().filter(|c| !c.has_exited()).map(|c| c.pid) else {
            return Err(SupervisorError::NotRunning(kind));
        };
        self.note(kind, &format!("killing pid {pid} on request, as a crash would"));
        sys::kill_now(pid).map_err(|e| SupervisorError::io(format!("killing {kind} (pid {pid})"), e))
    }

    /// Stops one process of a running stack and keeps it stopped (no restart) until
    /// [`Self::start_process`] or a new start. The others keep running: the API answers 503
    /// without Redis, the worker reconnects, tasks wait in the queue without a worker.
    async fn stop_process(&mut self, kind: ProcessKind) -> Result<()> {
        if !self.up {
            return Err(SupervisorError::NotUp);
        }
        self.procs[kind.index()].restart_at = None;
        if let Some(child) = self.procs[kind.index()].child.take() {
            self.set(kind, ProcessState::Stopping, None);
            child.stop().await;
            self.note(kind, "stopped on request; the rest of the stack keeps running");
            if kind == ProcessKind::Worker
                && let Some(broker) = &self.broker
                && let Ok(n @ 1..) = restore_all(broker).await
            {
                self.note(kind, &format!("put {n} unfinished task(s) back on the queue"));
            }
        }
        if self.procs[kind.index()].status.state != ProcessState::Stopped {
            self.set(kind, ProcessState::Stopped, None);
        }
        Ok(())
    }

    /// Starts (or, when external, probes) one process and waits until it is ready.
    async fn start_one(&mut self, kind: ProcessKind) -> Result<()> {
        let deadline = self.config.ready_timeout;
        let probe = self.probe(kind).await;
        if self.config.mode(kind) == Mode::External {
            self.set(kind, ProcessState::Starting, Some("external: probing".into()));
            if let Ok(Ok(())) = tokio::time::timeout(deadline, probe).await {
                self.set(kind, ProcessState::External, None);
                return Ok(());
            }
            let reason = format!(
                "the external {kind} does not answer ({}); start it, or let Stackdesk run it",
                self.probe_target(kind)
            );
            self.set(kind, ProcessState::Stopped, Some(reason.clone()));
            return Err(SupervisorError::StartFailed { process: kind, reason, last_lines: Vec::new() });
        }
        self.spawn(kind)?;
        let started = Instant::now();
        let mut probe = std::pin::pin!(probe);
        let mut tick = tokio::time::interval(Duration::from_millis(10));
        let result = loop {
            tokio::select! {
                result = &mut probe => break result,
                _ = tick.tick() => {
                    if self.procs[kind.index()].child.as_ref().is_some_and(ChildHandle::has_exited) {
                        break Err("exited during start-up".to_string());
                    }
                    if started.elapsed() > deadline {
                        break Err(format!("not ready within {deadline:?}"));
                    }
                }
            }
        };
        match result {
            Ok(()) => {
                self.set(kind, ProcessState::Running, None);
                Ok(())
            }
            Err(reason) => {
                self.note(kind, &format!("start failed: {reason}"));
                if let Some(child) = self.procs[kind.index()].child.take() {
                    child.stop().await;
                }
                self.set(kind, ProcessState::Crashed, Some(reason.clone()));
                Err(SupervisorError::StartFailed { process: kind, reason, last_lines: self.last_lines(kind) })
            }
        }
    }

    fn probe_target(&self, kind: ProcessKind) -> String {
        match kind {
            ProcessKind::Redis => format!("no PING answer on port {}", self.config.redis_port),
            ProcessKind::Api => format!("GET http://127.0.0.1:{}/health is not 200", self.config.api_port),
            ProcessKind::Worker => "no worker heartbeat on this Redis".into(),
        }
    }

    /// The readiness probe of `kind`, set up now (so the worker's `worker-online` cannot be
    /// missed: the event subscription exists before the worker starts) and resolving when ready.
    async fn probe(&self, kind: ProcessKind) -> Probe {
        let poll = |check: fn(u16) -> bool, port: u16| -> Probe {
            Box::pin(async move {
                loop {
                    if tokio::task::spawn_blocking(move || check(port)).await.unwrap_or(false) {
                        return Ok(());
                    }
                    // Processes are ready within milliseconds; a coarse poll would dominate start-up.
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            })
        };
        match kind {
            ProcessKind::Redis => poll(probe::redis_ping_once, self.config.redis_port),
            ProcessKind::Api => poll(probe::api_health_once, self.config.api_port),
            ProcessKind::Worker => {
                let Some(broker) = self.broker.clone() else {
                    return Box::pin(async { Err("Redis is not connected".to_string()) });
                };
                let receiver = EventReceiver::connect(&broker).await;
                let expected = (self.config.mode(kind) == Mode::Managed).then(|| self.config.worker_name.clone());
                Box::pin(async move {
                    let mut receiver = receiver.map_err(|e| format!("cannot follow worker events: {e}"))?;
                    while let Some(event) = receiver.next().await {
                        let alive = matches!(event.kind, EventKind::WorkerOnline | EventKind::WorkerHeartbeat);
                        if alive && expected.as_ref().is_none_or(|name| *name == event.hostname) {
                            return Ok(());
                        }
                    }
                    Err("lost the connection to Redis while waiting for the worker".to_string())
                })
            }
        }
    }

    fn spawn(&mut self, kind: ProcessKind) -> Result<()> {
        let launch = self.launch(kind)?;
        let proc = &mut self.procs[kind.index()];
        proc.generation += 1;
        let child = child::spawn(&launch, proc.generation, &self.lifeline, &self.logs, &self.exits_tx)
            .map_err(|e| SupervisorError::io(format!("starting {kind} ({})", launch.program.display()), e))?;
        self.note(kind, &format!("started {} (pid {})", launch.program.display(), child.pid));
        self.procs[kind.index()].child = Some(child);
        self.set(kind, ProcessState::Starting, None);
        Ok(())
    }

    /// A child exited. Expected exits (stops) were already handled; anything else is a crash.
    async fn on_exit(&mut self, exit: Exit) {
        let proc = &mut self.procs[exit.kind.index()];
        if proc.generation != exit.generation || proc.child.is_none() || !self.up {
            return;
        }
        proc.child = None;
        let kind = exit.kind;
        self.note(kind, &format!("exited unexpectedly ({})", exit.how));
        self.set(kind, ProcessState::Crashed, Some(format!("exited unexpectedly ({})", exit.how)));
        if kind == ProcessKind::Worker
            && let Some(broker) = &self.broker
        {
            // The worker is gone: whatever it held goes back to the queue now, not in an hour.
            match restore_all(broker).await {
                Ok(0) => {}
                Ok(n) => self.note(kind, &format!("put {n} unfinished task(s) of the dead worker back on the queue")),
                Err(err) => self.note(kind, &format!("could not restore the dead worker's tasks: {err}")),
            }
        }
        self.schedule_restart(kind, &exit.how);
    }

    fn schedule_restart(&mut self, kind: ProcessKind, why: &str) {
        let policy = self.config.restart;
        let proc = &mut self.procs[kind.index()];
        let now = Instant::now();
        proc.crashes.push_back(now);
        while proc.crashes.front().is_some_and(|t| now.duration_since(*t) > policy.crash_window) {
            proc.crashes.pop_front();
        }
        if proc.crashes.len() >= policy.crash_limit {
            let reason = format!(
                "{kind} crashed {} times within {} s, so Stackdesk stopped restarting it. The last crash: {why}. \
                 See its log for the cause, fix it, then press Start again.",
                proc.crashes.len(),
                policy.crash_window.as_secs()
            );
            self.note(kind, &reason);
            self.set(kind, ProcessState::Crashed, Some(reason));
            return;
        }
        let delay = policy.backoff(proc.status.restarts);
        proc.restart_at = Some(tokio::time::Instant::now() + delay);
        self.set(
            kind,
            ProcessState::BackingOff,
            Some(format!("restarting in {:.1} s after: {why}", delay.as_secs_f64())),
        );
    }

    async fn restart_due(&mut self) {
        let now = tokio::time::Instant::now();
        for kind in ProcessKind::ALL {
            let proc = &mut self.procs[kind.index()];
            if proc.restart_at.is_none_or(|at| at > now) {
                continue;
            }
            proc.restart_at = None;
            proc.status.restarts += 1;
            let probe = self.probe(kind).await;
            if let Err(err) = self.spawn(kind) {
                let why = err.to_string();
                self.schedule_restart(kind, &why);
                continue;
            }
            let generation = self.procs[kind.index()].generation;
            let deadline = self.config.ready_timeout;
            let ready = self.ready_tx.clone();
            tokio::spawn(async move {
                let result = match tokio::time::timeout(deadline, probe).await {
                    Ok(result) => result,
                    Err(_) => Err(format!("not ready within {deadline:?}")),
                };
                let _ = ready.send(Ready { kind, generation, result });
            });
        }
    }

    fn on_ready(&mut self, ready: Ready) {
        let kind = ready.kind;
        if self.procs[kind.index()].generation != ready.generation || self.procs[kind.index()].child.is_none() {
            return;
        }
        match ready.result {
            Ok(()) => self.set(kind, ProcessState::Running, None),
            Err(reason) => {
                self.note(kind, &format!("restart failed: {reason}"));
                // Dropping the handle stops the child; count it as a crash.
                self.procs[kind.index()].child = None;
                self.set(kind, ProcessState::Crashed, Some(reason.clone()));
                self.schedule_restart(kind, &reason);
            }
        }
    }

    /// Stops the worker, the API, then Redis (each politely, then killed after the timeout).
    async fn stop(&mut self) {
        self.up = false;
        for kind in [ProcessKind::Worker, ProcessKind::Api, ProcessKind::Redis] {
            self.procs[kind.index()].restart_at = None;
            if self.procs[kind.index()].child.is_some() {
                self.set(kind, ProcessState::Stopping, None);
                if let Some(child) = self.procs[kind.index()].child.take() {
                    child.stop().await;
                }
                self.note(kind, "stopped");
                if kind == ProcessKind::Worker
                    && let Some(broker) = &self.broker
                {
                    // Whatever the worker could not put back itself (it was killed at the deadline).
                    if let Ok(n @ 1..) = restore_all(broker).await {
                        self.note(kind, &format!("put {n} unfinished task(s) back on the queue"));
                    }
                }
                self.set(kind, ProcessState::Stopped, None);
            } else if self.procs[kind.index()].status.state != ProcessState::Stopped {
                self.set(kind, ProcessState::Stopped, None);
            }
        }
        self.broker = None;
    }
}

/// `restore_all`, tried again if the connection broke (Redis itself may just have restarted).
async fn restore_all(broker: &Broker) -> taskq::Result<usize> {
    let mut attempt = 0;
    loop {
        match broker.restore_all().await {
            Err(taskq::Error::Redis(err))
                if attempt < 20
                    && (err.is_io_error() || err.is_connection_dropped() || err.is_connection_refusal()) =>
            {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            result => return result,
        }
    }
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
