//! The one task that owns every process's state. Commands (start, stop), child exits, probe
//! reports and restart timers all arrive here, one at a time, so every transition is explicit and
//! published in order. Nothing here waits on a readiness probe: each probe runs in a task of its
//! own and reports back ([`Report`]); a start is a sequence the reports move along.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use taskq::{Broker, Restored};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::task::AbortHandle;

use crate::child::{self, ChildHandle, Exit, Launch};
use crate::config::SupervisorConfig;
use crate::error::{Result, SupervisorError};
use crate::logs::Logs;
use crate::paths::{self, RedisBinary};
use crate::ports;
use crate::probe::{self, NotReady, Target};
use crate::reason::{Cause, Reason, StartFailure};
use crate::state::{Event, Mode, ProcessKind, ProcessState, ProcessStatus, Stream};
use crate::sys;

/// Lines of a process's log quoted in error reports.
const QUOTED_LINES: usize = 12;
/// How long putting a stopped worker's tasks back may take while the stack stops (a Redis that
/// answers takes milliseconds; one that does not has them put back at the next start).
const RESTORE_ON_STOP: Duration = Duration::from_secs(1);
/// How often a dead worker's tasks are tried again while Redis does not answer, and for how long.
const RESTORE_RETRY: (Duration, Duration) = (Duration::from_millis(500), Duration::from_secs(600));

/// What the supervisor's handle asks for.
pub(crate) enum Command {
    Start(Reply),
    Stop(oneshot::Sender<()>),
    StartProcess(ProcessKind, Reply),
    StopProcess(ProcessKind, Reply),
    KillProcess(ProcessKind, Reply),
    SetChildEnv(Vec<(String, String)>, oneshot::Sender<()>),
}

type Reply = oneshot::Sender<Result<()>>;

/// What a probe task reports.
enum Report {
    /// The probe is prepared (the worker's event subscription exists): the process may start.
    Armed { kind: ProcessKind, generation: u64, result: std::result::Result<(), NotReady> },
    /// The process is ready (a Redis with the supervisor's connection to it), or will not be.
    Ready { kind: ProcessKind, generation: u64, result: std::result::Result<Option<Broker>, NotReady> },
    /// The observer follows the stack (or did not within the deadline): the start goes on.
    Observed { following: bool },
    /// A dead worker's tasks are back on the queue (or the put-back gave up): a worker may start.
    PutBack,
}

/// A start in progress: of the whole stack (each process after the one before is ready), or of
/// one process.
struct Starting {
    /// The process being started now.
    current: ProcessKind,
    /// Those after it.
    next: VecDeque<ProcessKind>,
    /// Whether it is the whole stack's (a failure then stops what was started).
    whole: bool,
    reply: Reply,
}

struct Proc {
    status: ProcessStatus,
    child: Option<ChildHandle>,
    /// Bumped at every start: reports and exits of an older start are ignored.
    generation: u64,
    /// Crashes within the policy's window.
    crashes: VecDeque<Instant>,
    /// Crashes since it last ran for a while (the back-off's exponent).
    streak: u32,
    /// When it became ready (its run's length decides whether a crash resets the back-off).
    ready_at: Option<Instant>,
    restart_at: Option<tokio::time::Instant>,
    /// Waiting for Redis before it restarts (it cannot start without it; no crash is counted).
    waiting_for_redis: bool,
    /// A worker waiting for its predecessor's tasks to be put back before it starts (else the
    /// put-back would take the new worker's messages from it too).
    waiting_for_put_back: bool,
    /// The probe task of the current start, aborted when the start is abandoned.
    probe: Option<AbortHandle>,
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
    reports_tx: mpsc::UnboundedSender<Report>,
    reports: mpsc::UnboundedReceiver<Report>,
    /// For the worker's probe (its events) and restoring a dead worker's tasks.
    broker: Option<Broker>,
    redis_binary: Option<RedisBinary>,
    /// The start in progress, if any.
    starting: Option<Starting>,
    /// Work the actor started and does not wait for (putting a dead worker's tasks back while
    /// Redis is down); aborted when the stack stops.
    background: tokio::task::JoinSet<()>,
    /// The put-back of a dead worker's tasks still trying; no worker starts until it is done.
    put_back: Option<tokio::task::AbortHandle>,
    /// The probe tasks (each process's current one is also in its `Proc`); aborted when the
    /// supervisor ends.
    probes: tokio::task::JoinSet<()>,
    /// Whether the stack is up (started and not stopped).
    up: bool,
}

impl Actor {
    pub(crate) fn new(
        config: SupervisorConfig,
        logs: Arc<Logs>,
        events: broadcast::Sender<Event>,
    ) -> Result<(Self, watch::Receiver<Vec<ProcessStatus>>)> {
        let procs = ProcessKind::ALL.map(|kind| Proc {
            status: ProcessStatus::new(kind, config.mode(kind), config.port_of(kind)),
            child: None,
            generation: 0,
            crashes: VecDeque::new(),
            streak: 0,
            ready_at: None,
            restart_at: None,
            waiting_for_redis: false,
            waiting_for_put_back: false,
            probe: None,
        });
        let (status, status_rx) = watch::channel(procs.iter().map(|p| p.status.clone()).collect());
        let lifeline = sys::Lifeline::new().map_err(|e| SupervisorError::io("tying children to the supervisor", e))?;
        let (exits_tx, exits) = mpsc::unbounded_channel();
        let (reports_tx, reports) = mpsc::unbounded_channel();
        let actor = Self {
            config,
            logs,
            events,
            status,
            procs,
            lifeline,
            exits_tx,
            exits,
            reports_tx,
            reports,
            broker: None,
            redis_binary: None,
            starting: None,
            background: tokio::task::JoinSet::new(),
            put_back: None,
            probes: tokio::task::JoinSet::new(),
            up: false,
        };
        Ok((actor, status_rx))
    }

    pub(crate) async fn run(mut self, mut inbox: mpsc::Receiver<Command>) {
        loop {
            let next_restart = self.procs.iter().filter_map(|p| p.restart_at).min();
            tokio::select! {
                command = inbox.recv() => match command {
                    Some(Command::Start(reply)) => self.start(reply),
                    Some(Command::Stop(reply)) => { self.stop().await; let _ = reply.send(()); }
                    Some(Command::StartProcess(kind, reply)) => self.start_process(kind, reply),
                    Some(Command::StopProcess(kind, reply)) => { let _ = reply.send(self.stop_process(kind).await); }
                    Some(Command::KillProcess(kind, reply)) => { let _ = reply.send(self.kill_process(kind)); }
                    Some(Command::SetChildEnv(env, reply)) => { self.config.child_env = env; let _ = reply.send(()); }
                    None => { self.stop().await; self.background.abort_all(); self.probes.abort_all(); return; }
                },
                Some(exit) = self.exits.recv() => self.on_exit(exit).await,
                Some(report) = self.reports.recv() => self.on_report(report).await,
                () = sleep_until(next_restart) => self.restart_due(),
            }
        }
    }

    fn proc(&mut self, kind: ProcessKind) -> &mut Proc {
        &mut self.procs[kind.index()]
    }

    fn set(&mut self, kind: ProcessKind, state: ProcessState, reason: Option<Reason>) {
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
                    reason: StartFailure::NoRedisBinary,
                    last_lines: Vec::new(),
                })?;
                let conf = c.data_dir.join("redis.conf").display().to_string();
                (binary.path.clone(), vec![conf], Some((c.redis_port, c.redis_auth())))
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
            paths::private_dir(&data).map_err(|e| SupervisorError::io(format!("creating {}", data.display()), e))?;
            let conf = c.data_dir.join("redis.conf");
            let text = paths::redis_conf(c.redis_port, &data, &c.redis_auth(), &binary.version);
            paths::write_private(&conf, &text)
                .map_err(|e| SupervisorError::io(format!("writing {}", conf.display()), e))?;
            self.note(
                ProcessKind::Redis,
                &format!("using {} (Redis {}), config {}", binary.path.display(), binary.version, conf.display()),
            );
            self.redis_binary = Some(binary);
        }
        for kind in [ProcessKind::Redis, ProcessKind::Api] {
            self.check_port(kind)?;
        }
        Ok(())
    }

    /// A managed process's port must be free before it starts.
    fn check_port(&self, kind: ProcessKind) -> Result<()> {
        if self.config.mode(kind) == Mode::Managed
            && let Some(port) = self.config.port_of(kind)
            && let Some(owner) = ports::check(port)
        {
            return Err(SupervisorError::PortTaken { process: kind, port, owner });
        }
        Ok(())
    }

    /// Starts the stack: Redis, then the API, then the worker, each once the one before is ready.
    /// The answer is sent when the last is ready, or when one fails (what was started is stopped).
    fn start(&mut self, reply: Reply) {
        if self.up {
            let _ = reply.send(Err(SupervisorError::Busy("running")));
            return;
        }
        if let Err(err) = self.preflight() {
            let _ = reply.send(Err(err));
            return;
        }
        self.up = true;
        for proc in &mut self.procs {
            proc.status.restarts = 0;
            proc.streak = 0;
            proc.crashes.clear();
            proc.waiting_for_redis = false;
        }
        let next: VecDeque<ProcessKind> = ProcessKind::ALL[1..].iter().copied().collect();
        self.starting = Some(Starting { current: ProcessKind::Redis, next, whole: true, reply });
        self.begin(ProcessKind::Redis);
    }

    /// Starts one process of a running stack again (after it was stopped on its own or gave up
    /// crashing). Answers at once when it is already starting or running, else once it is ready.
    fn start_process(&mut self, kind: ProcessKind, reply: Reply) {
        if !self.up {
            let _ = reply.send(Err(SupervisorError::NotUp));
            return;
        }
        if self.starting.is_some() {
            let _ = reply.send(Err(SupervisorError::Busy("starting")));
            return;
        }
        let proc = self.proc(kind);
        if proc.child.is_some() || proc.probe.is_some() || proc.status.state == ProcessState::External {
            let _ = reply.send(Ok(()));
            return;
        }
        proc.restart_at = None;
        proc.waiting_for_redis = false;
        proc.crashes.clear();
        proc.streak = 0;
        if let Err(err) = self.check_port(kind) {
            let _ = reply.send(Err(err));
            return;
        }
        self.note(kind, "start asked for");
        self.starting = Some(Starting { current: kind, next: VecDeque::new(), whole: false, reply });
        self.begin(kind);
    }

    /// Begins starting `kind` (or probing it, when external): its probe is armed in a task of its
    /// own; the process is spawned once it is ([`Report::Armed`]).
    fn begin(&mut self, kind: ProcessKind) {
        let target = match kind {
            ProcessKind::Redis => Target::Redis {
                port: self.config.redis_port,
                url: self.config.redis_url.clone(),
                auth: self.config.redis_auth(),
            },
            ProcessKind::Api => Target::Api { port: self.config.api_port },
            ProcessKind::Worker => Target::Worker {
                broker: self.broker.clone(),
                name: (self.config.mode(kind) == Mode::Managed).then(|| self.config.worker_name.clone()),
            },
        };
        let deadline = self.config.ready_timeout;
        let reports = self.reports_tx.clone();
        if kind == ProcessKind::Worker && self.put_back.is_some() {
            // The dead worker's tasks go back first: a put-back after the new worker took
            // messages would take them from it too.
            self.proc(kind).waiting_for_put_back = true;
            self.set(kind, ProcessState::BackingOff, Some(Reason::WaitingForPutBack));
            return;
        }
        while self.probes.try_join_next().is_some() {}
        let proc = self.proc(kind);
        proc.generation += 1;
        let generation = proc.generation;
        let task = self.probes.spawn(async move {
            let armed = probe::arm(target).await;
            let (armed, result) = match armed {
                Ok(armed) => (Some(armed), Ok(())),
                Err(err) => (None, Err(err)),
            };
            let _ = reports.send(Report::Armed { kind, generation, result });
            if let Some(armed) = armed {
                let result = probe::ready(armed, deadline).await;
                let _ = reports.send(Report::Ready { kind, generation, result });
            }
        });
        self.proc(kind).probe = Some(task);
        let reason = (self.config.mode(kind) == Mode::External).then_some(Reason::Probing);
        self.set(kind, ProcessState::Starting, reason);
    }

    async fn on_report(&mut self, report: Report) {
        let (kind, generation) = match &report {
            Report::Armed { kind, generation, .. } | Report::Ready { kind, generation, .. } => (*kind, *generation),
            Report::PutBack => {
                self.put_back = None;
                if std::mem::take(&mut self.proc(ProcessKind::Worker).waiting_for_put_back) && self.up {
                    self.begin(ProcessKind::Worker);
                }
                return;
            }
            Report::Observed { following } => {
                if !following {
                    self.note(
                        ProcessKind::Redis,
                        "the task monitor does not follow the stack's events yet; starting the rest anyway",
                    );
                }
                if self.starting.as_ref().is_some_and(|s| s.current == ProcessKind::Redis) {
                    self.advance();
                }
                return;
            }
        };
        if self.procs[kind.index()].generation != generation || self.procs[kind.index()].probe.is_none() {
            return;
        }
        match report {
            Report::Armed { result: Err(why), .. } | Report::Ready { result: Err(why), .. } => {
                self.not_ready(kind, &why).await;
            }
            Report::Armed { result: Ok(()), .. } => {
                if self.config.mode(kind) == Mode::Managed
                    && let Err(err) = self.spawn(kind)
                {
                    self.not_ready(kind, &NotReady::Spawn { detail: err.to_string() }).await;
                }
            }
            Report::Ready { result: Ok(broker), .. } => {
                self.proc(kind).probe = None;
                if let Some(broker) = broker
                    && self.broker.is_none()
                {
                    self.broker = Some(broker);
                }
                self.ready(kind).await;
            }
            // Answered above, before the generation check (they are about no start).
            Report::Observed { .. } | Report::PutBack => {}
        }
    }

    /// `kind` answered its probe.
    async fn ready(&mut self, kind: ProcessKind) {
        let proc = self.proc(kind);
        proc.ready_at = Some(Instant::now());
        let state =
            if self.config.mode(kind) == Mode::External { ProcessState::External } else { ProcessState::Running };
        self.set(kind, state, None);
        if kind == ProcessKind::Redis {
            if self.starting.as_ref().is_some_and(|s| s.whole) && self.config.mode(kind) == Mode::Managed {
                // Our own Redis, before any worker of ours runs: whatever a worker of an earlier run
                // still held (it died, or Redis was down when it did) goes back on the queue.
                self.restore_now("left by a worker of an earlier run", RESTORE_ON_STOP).await;
            }
            self.redis_is_back();
            if let Some(observer) = self.config.observer.clone()
                && self.starting.as_ref().is_some_and(|s| s.whole)
            {
                // The API and the worker start once the observer follows what they will say.
                let (reports, deadline) = (self.reports_tx.clone(), self.config.ready_timeout);
                self.probes.spawn(async move {
                    let mut observer = observer;
                    let following =
                        tokio::time::timeout(deadline, observer.wait_for(|on| *on)).await.is_ok_and(|r| r.is_ok());
                    let _ = reports.send(Report::Observed { following });
                });
                return;
            }
        }
        if self.starting.as_ref().is_some_and(|s| s.current == kind) {
            self.advance();
        }
    }

    /// The start in progress moves to its next process, or ends.
    fn advance(&mut self) {
        let Some(starting) = self.starting.as_mut() else { return };
        match starting.next.pop_front() {
            Some(next) => {
                starting.current = next;
                self.begin(next);
            }
            None => {
                if let Some(done) = self.starting.take() {
                    let _ = done.reply.send(Ok(()));
                }
            }
        }
    }

    /// `kind` will not become ready: a start in progress fails (the whole stack's stops what it
    /// started); a restart counts as a crash.
    async fn not_ready(&mut self, kind: ProcessKind, why: &NotReady) {
        let proc = self.proc(kind);
        if let Some(probe) = proc.probe.take() {
            probe.abort();
        }
        let child = proc.child.take();
        let restarting = self.starting.as_ref().is_none_or(|s| s.current != kind);
        self.note(kind, &format!("{} failed: {why}", if restarting { "restart" } else { "start" }));
        if let Some(child) = child {
            child.stop().await;
        }
        let cause = Cause::NotReady { why: why.clone() };
        if restarting {
            self.set(kind, ProcessState::Crashed, Some(Reason::Crashed { cause: cause.clone() }));
            self.schedule_restart(kind, cause);
            return;
        }
        let Some(starting) = self.starting.take() else { return };
        let external = self.config.mode(kind) == Mode::External;
        let silent = external && matches!(why, NotReady::Timeout { .. });
        let reason = if silent {
            StartFailure::ExternalSilent { port: self.config.port_of(kind) }
        } else {
            StartFailure::NotReady { why: why.clone() }
        };
        let state = if external { ProcessState::Stopped } else { ProcessState::Crashed };
        self.set(kind, state, Some(if silent { Reason::ExternalSilent } else { Reason::Crashed { cause } }));
        let last_lines = if external { Vec::new() } else { self.last_lines(kind) };
        if starting.whole {
            self.stop().await;
        }
        let _ = starting.reply.send(Err(SupervisorError::StartFailed { process: kind, reason, last_lines }));
    }

    fn spawn(&mut self, kind: ProcessKind) -> Result<()> {
        let launch = self.launch(kind)?;
        let generation = self.procs[kind.index()].generation;
        let child = child::spawn(&launch, generation, &self.lifeline, &self.logs, &self.exits_tx)
            .map_err(|e| SupervisorError::io(format!("starting {kind} ({})", launch.program.display()), e))?;
        self.note(kind, &format!("started {} (pid {})", launch.program.display(), child.pid));
        self.proc(kind).child = Some(child);
        self.set(kind, ProcessState::Starting, None);
        Ok(())
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
        if self.starting.as_ref().is_some_and(|s| s.current == kind) {
            return Err(SupervisorError::Busy("starting"));
        }
        let proc = self.proc(kind);
        proc.restart_at = None;
        proc.waiting_for_redis = false;
        if let Some(probe) = proc.probe.take() {
            probe.abort();
        }
        if let Some(child) = proc.child.take() {
            self.set(kind, ProcessState::Stopping, None);
            child.stop().await;
            self.note(kind, "stopped on request; the rest of the stack keeps running");
            if kind == ProcessKind::Worker {
                self.restore_now("of the stopped worker", RESTORE_ON_STOP).await;
            }
        }
        if self.procs[kind.index()].status.state != ProcessState::Stopped {
            self.set(kind, ProcessState::Stopped, None);
        }
        Ok(())
    }

    /// A child exited. Expected exits (stops) were already handled; one during its start-up fails
    /// that start; anything else is a crash.
    async fn on_exit(&mut self, exit: Exit) {
        let proc = &mut self.procs[exit.kind.index()];
        if proc.generation != exit.generation || proc.child.is_none() || !self.up {
            return;
        }
        let kind = exit.kind;
        if proc.probe.is_some() {
            self.not_ready(kind, &NotReady::Exited { how: exit.how.clone() }).await;
        } else {
            proc.child = None;
            let cause = Cause::Exited { how: exit.how.clone() };
            self.note(kind, &cause.to_string());
            self.set(kind, ProcessState::Crashed, Some(Reason::Crashed { cause: cause.clone() }));
            self.schedule_restart(kind, cause);
        }
        if kind == ProcessKind::Worker {
            // The worker is gone: whatever it held goes back to the queue now, not in an hour.
            self.restore_in_background("of the dead worker");
        }
    }

    /// Puts every message in flight back on the queue now, waiting at most `deadline`.
    async fn restore_now(&self, whose: &str, deadline: Duration) {
        let Some(broker) = self.broker.clone() else { return };
        match tokio::time::timeout(deadline, broker.restore_all()).await {
            Ok(Ok(Restored::Moved(0))) => {}
            Ok(Ok(Restored::Moved(n))) => {
                self.note(ProcessKind::Worker, &format!("put {n} unfinished task(s) {whose} back on the queue"))
            }
            Ok(Ok(Restored::Busy)) => self.note(
                ProcessKind::Worker,
                &format!("could not put the tasks {whose} back: another restore holds Redis's unacked mutex"),
            ),
            Ok(Err(err)) => self.note(ProcessKind::Worker, &format!("could not put the tasks {whose} back: {err}")),
            Err(_) => self.note(
                ProcessKind::Worker,
                &format!("could not put the tasks {whose} back: Redis did not answer within {deadline:?}"),
            ),
        }
    }

    /// Puts every message in flight back on the queue, trying again while Redis does not answer
    /// (it may be down right now: the tasks must not wait for the visibility timeout).
    fn restore_in_background(&mut self, whose: &str) {
        while self.background.try_join_next().is_some() {}
        let Some(broker) = self.broker.clone() else { return };
        if let Some(earlier) = self.put_back.take() {
            earlier.abort();
        }
        let (logs, whose, reports) = (self.logs.clone(), whose.to_string(), self.reports_tx.clone());
        let note = move |line: &str| logs.line(ProcessKind::Worker, Stream::Supervisor, line);
        let put_back = async move {
            let (pause, patience) = RESTORE_RETRY;
            let began = Instant::now();
            let mut warned = false;
            loop {
                let why = match broker.restore_all().await {
                    Ok(Restored::Moved(0)) => return,
                    Ok(Restored::Moved(n)) => {
                        return note(&format!("put {n} unfinished task(s) {whose} back on the queue"));
                    }
                    // Another restore (a Celery worker's restore_visible) holds the mutex briefly.
                    Ok(Restored::Busy) => "another restore holds the unacked mutex".to_string(),
                    Err(err) => err.to_string(),
                };
                if began.elapsed() > patience {
                    return note(&format!("gave up putting the tasks {whose} back: {why}"));
                }
                if !warned {
                    note(&format!("cannot put the tasks {whose} back yet ({why}); trying again until it works"));
                    warned = true;
                }
                tokio::time::sleep(pause).await;
            }
        };
        self.put_back = Some(self.background.spawn(async move {
            put_back.await;
            let _ = reports.send(Report::PutBack);
        }));
    }

    /// Decides when a crashed process starts again: after the back-off (which decays once it
    /// ran for a while); after Redis is back, for the API and the worker when Redis is down
    /// (they cannot run without it, and that is no crash of theirs); after a long pause when it
    /// crashed too often.
    fn schedule_restart(&mut self, kind: ProcessKind, cause: Cause) {
        let policy = self.config.restart;
        let redis_down = kind != ProcessKind::Redis
            && self.config.mode(ProcessKind::Redis) == Mode::Managed
            && self.procs[ProcessKind::Redis.index()].status.state != ProcessState::Running;
        let proc = &mut self.procs[kind.index()];
        if redis_down {
            proc.waiting_for_redis = true;
            proc.restart_at = None;
            self.set(kind, ProcessState::BackingOff, Some(Reason::WaitingForRedis { cause }));
            return;
        }
        if proc.ready_at.take().is_some_and(|at| at.elapsed() >= policy.reset_after) {
            // It ran well for a while: this crash starts a new streak.
            proc.streak = 0;
            proc.crashes.clear();
        }
        let now = Instant::now();
        proc.crashes.push_back(now);
        while proc.crashes.front().is_some_and(|t| now.duration_since(*t) > policy.crash_window) {
            proc.crashes.pop_front();
        }
        if proc.crashes.len() >= policy.crash_limit {
            let count = proc.crashes.len();
            proc.crashes.clear();
            proc.streak = 0;
            proc.restart_at = Some(tokio::time::Instant::now() + policy.give_up_pause);
            let reason = Reason::CrashLoop {
                count,
                window_secs: policy.crash_window.as_secs(),
                pause_secs: policy.give_up_pause.as_secs(),
                cause,
            };
            self.note(kind, &format!("{kind} {reason}"));
            self.set(kind, ProcessState::Crashed, Some(reason));
            return;
        }
        let delay = policy.backoff(proc.streak);
        proc.streak += 1;
        proc.restart_at = Some(tokio::time::Instant::now() + delay);
        self.set(kind, ProcessState::BackingOff, Some(Reason::RestartingIn { secs: delay.as_secs_f64(), cause }));
    }

    /// Redis is ready again: what waited for it restarts now.
    fn redis_is_back(&mut self) {
        let now = tokio::time::Instant::now();
        for proc in &mut self.procs {
            if std::mem::take(&mut proc.waiting_for_redis) {
                proc.restart_at = Some(now);
            }
        }
    }

    fn restart_due(&mut self) {
        let now = tokio::time::Instant::now();
        for kind in ProcessKind::ALL {
            let proc = &mut self.procs[kind.index()];
            if proc.restart_at.is_none_or(|at| at > now) || proc.probe.is_some() || proc.child.is_some() {
                continue;
            }
            proc.restart_at = None;
            proc.status.restarts += 1;
            self.begin(kind);
        }
    }

    /// Stops the worker, the API, then Redis (each politely, then killed after the timeout).
    async fn stop(&mut self) {
        self.up = false;
        if let Some(starting) = self.starting.take() {
            let _ = starting.reply.send(Err(SupervisorError::StartFailed {
                process: starting.current,
                reason: StartFailure::StoppedBeforeReady,
                last_lines: Vec::new(),
            }));
        }
        // A put-back still trying is done once more below (if Redis answers), else at the next
        // start of our own Redis.
        self.background.abort_all();
        self.put_back = None;
        for kind in [ProcessKind::Worker, ProcessKind::Api, ProcessKind::Redis] {
            let proc = self.proc(kind);
            proc.restart_at = None;
            proc.waiting_for_redis = false;
            proc.waiting_for_put_back = false;
            if let Some(probe) = proc.probe.take() {
                probe.abort();
            }
            if let Some(child) = proc.child.take() {
                self.set(kind, ProcessState::Stopping, None);
                child.stop().await;
                self.note(kind, "stopped");
                if kind == ProcessKind::Worker {
                    // Whatever the worker could not put back itself (it was killed at the deadline).
                    self.restore_now("of the stopped worker", RESTORE_ON_STOP).await;
                }
                self.set(kind, ProcessState::Stopped, None);
            } else if self.procs[kind.index()].status.state != ProcessState::Stopped {
                self.set(kind, ProcessState::Stopped, None);
            }
        }
        self.broker = None;
    }
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
