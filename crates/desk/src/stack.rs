//! The stack behind the Start and Stop buttons: one [`Supervisor`] built from the saved settings
//! at each Start, the task monitor beside it (in this process: one recorder per stack), and one
//! event stream for every open UI (the window and any browser) that outlives the supervisors
//! behind it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use supervisor::{Event, Mode, ProcessKind, ProcessStatus, Stream, Supervisor, SupervisorConfig, SupervisorError};
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use ts_rs::TS;

use crate::actions::{ProcessAction, StackAction};
use crate::error::{DeskError, ProblemKind, Result};
use crate::health::{ProbeTargets, Prober, StackHealth};
use crate::prefs::{Prefs, SaveOutcome, SettingsUpdate, SettingsView};

/// How many events a slow UI may fall behind before it is told it missed some.
const EVENT_CAPACITY: usize = 8192;

/// Where the stack lives and what it runs.
#[derive(Debug, Clone)]
pub struct StackOptions {
    /// Where `settings.json` is kept (the app's config directory).
    pub config_dir: PathBuf,
    /// Where Redis data and logs go, unless `STACKDESK_DATA_DIR` says otherwise.
    pub data_dir: PathBuf,
    /// The `stackdesk` executable that runs `api` and `worker` (the app's sidecar).
    pub stackdesk_exe: PathBuf,
    /// The environment the settings fall back on (saved values win).
    pub env: HashMap<String, String>,
    /// Origins of the pages that call the API (the app's own page, the control endpoint's).
    pub cors_origins: Vec<String>,
    /// How long each process may take to become ready.
    pub ready_timeout: Duration,
    /// How long each process may take to stop before it is killed.
    pub stop_timeout: Duration,
}

impl StackOptions {
    /// Options with the usual timeouts and this process's environment.
    pub fn new(config_dir: PathBuf, data_dir: PathBuf, stackdesk_exe: PathBuf) -> Self {
        Self {
            config_dir,
            data_dir,
            stackdesk_exe,
            env: std::env::vars().collect(),
            cors_origins: Vec::new(),
            ready_timeout: Duration::from_secs(20),
            stop_timeout: Duration::from_secs(10),
        }
    }
}

/// Everything an open UI is told, in order.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[ts(export_to = "DeskEvent.ts")]
pub enum DeskEvent {
    /// A process changed state.
    State {
        /// Its status now.
        status: ProcessStatus,
    },
    /// A process printed a line (secrets masked).
    Log {
        /// Which process.
        process: ProcessKind,
        /// From where.
        stream: Stream,
        /// The line.
        line: String,
    },
    /// The stack as a whole was started or stopped.
    Stack {
        /// Whether it is up now.
        running: bool,
    },
    /// The settings were saved (by this UI or another one).
    Settings {
        /// The settings now.
        settings: SettingsView,
    },
    /// The processes' health changed (a process can run and still be unable to do its job).
    Health {
        /// The health of the three processes now.
        health: StackHealth,
        /// Which telling of the health this is (see [`Snapshot::health_revision`]).
        #[ts(type = "number")]
        revision: u64,
    },
    /// This UI fell behind and missed events: it should reload the snapshot.
    Lagged {
        /// How many.
        missed: u64,
    },
    /// The window's close button was pressed while the stack runs: the UI asks what to do. Sent
    /// by the desktop app on its window's channel only, never to a browser.
    CloseRequested,
}

/// What the dashboard shows at a glance.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export_to = "Snapshot.ts")]
pub struct Snapshot {
    /// Whether the stack is up (started and not stopped).
    pub running: bool,
    /// The three processes.
    pub processes: Vec<ProcessStatus>,
    /// How each process is doing beside its state: healthy, degraded (and why) or down.
    pub health: StackHealth,
    /// How many health changes had been told when `health` was read. A snapshot can reach a UI
    /// after a newer [`DeskEvent::Health`] (an action's answer overtaken by the event stream): a
    /// UI keeps whichever of the two has the higher revision, so an older snapshot never
    /// overwrites a newer health.
    #[ts(type = "number")]
    pub health_revision: u64,
    /// The processes that run with older settings than the saved ones and see them only after a
    /// restart of the stack (ports, the Redis URL, external processes, secrets); empty when stopped.
    pub restart_pending: Vec<ProcessKind>,
    /// The API's base URL: the running API's while the stack runs (a saved new port applies
    /// after the restart), else the saved one.
    pub api_url: String,
    /// Swagger UI.
    pub docs_url: String,
    /// The task monitor's base URL (history, live feed, controls): the running one's while the
    /// stack runs, else the saved one.
    pub monitor_url: String,
    /// The Redis URL, password masked.
    pub redis_url: String,
    /// Redis data.
    #[ts(type = "string")]
    pub data_dir: PathBuf,
    /// The processes' log files.
    #[ts(type = "string")]
    pub logs_dir: PathBuf,
}

/// Whether the redis-server a managed Redis needs can be found (the first-run screen's question).
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export_to = "RedisServerCheck.ts")]
pub struct RedisServerCheck {
    /// Whether Stackdesk starts Redis itself (otherwise nothing needs to be found).
    pub managed: bool,
    /// The redis-server found, when found.
    #[ts(type = "string | null")]
    pub path: Option<PathBuf>,
    /// Its version (`7.0.15`), when found.
    pub version: Option<String>,
    /// Where it looked, when not found.
    pub searched: Option<String>,
    /// What to do about it, for this OS, when not found.
    pub advice: Option<String>,
    /// `windows`, `linux` or `macos`: the first-run screen's choices differ.
    #[ts(type = "string")]
    pub os: &'static str,
}

/// The monitor of a running stack: stopped with it.
#[derive(Debug)]
struct MonitorRun {
    /// Its port, as started (a saved new one applies after the restart).
    port: u16,
    /// Stops it.
    shutdown: CancellationToken,
    /// Owns its server and recorder.
    tracker: TaskTracker,
}

/// How long the monitor may take to stop before its tasks are left behind.
const MONITOR_STOP: Duration = Duration::from_secs(3);

/// The stack and its settings.
#[derive(Debug)]
pub struct Stack {
    options: StackOptions,
    prefs: Mutex<Prefs>,
    /// Start, stop and restart of the whole stack one at a time.
    lifecycle: tokio::sync::Mutex<()>,
    /// The supervisor of the last Start: kept after Stop so its logs and states stay readable.
    current: Mutex<Option<Arc<Supervisor>>>,
    /// What the last Start ran with: a single process picks up newer settings only while these
    /// stay the same (ports, Redis URL, modes, masked secrets).
    started_with: Mutex<Option<SupervisorConfig>>,
    running: AtomicBool,
    events: broadcast::Sender<DeskEvent>,
    /// How many health changes have been told (every prober's, across Starts).
    health_told: Arc<AtomicU64>,
    /// Probes the health of the running stack (from Start until Stop).
    prober: Mutex<Option<Prober>>,
    /// The task monitor of the running stack (from Start until Stop).
    monitor: Mutex<Option<MonitorRun>>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding one of these locks leaves plain data behind, still usable.
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Stack {
    /// The stack with the saved settings (nothing runs until [`Stack::start`]).
    pub fn new(options: StackOptions) -> Result<Self> {
        let prefs = Prefs::load(&options.config_dir)?;
        Ok(Self {
            options,
            prefs: Mutex::new(prefs),
            lifecycle: tokio::sync::Mutex::new(()),
            current: Mutex::new(None),
            started_with: Mutex::new(None),
            running: AtomicBool::new(false),
            events: broadcast::channel(EVENT_CAPACITY).0,
            health_told: Arc::default(),
            prober: Mutex::new(None),
            monitor: Mutex::new(None),
        })
    }

    /// Every event from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<DeskEvent> {
        self.events.subscribe()
    }

    fn emit(&self, event: DeskEvent) {
        let _ = self.events.send(event);
    }

    fn supervisor(&self) -> Option<Arc<Supervisor>> {
        lock(&self.current).clone()
    }

    fn running_supervisor(&self) -> Result<Arc<Supervisor>> {
        match self.supervisor() {
            Some(supervisor) if self.running.load(Ordering::SeqCst) => Ok(supervisor),
            _ => Err(SupervisorError::NotUp.into()),
        }
    }

    /// The effective configuration and the supervisor's configuration made from it.
    fn configs(&self) -> Result<(config::Settings, SupervisorConfig)> {
        let prefs = lock(&self.prefs).clone();
        let settings = prefs
            .resolve(&self.options.env)
            .map_err(|err| DeskError::InvalidSettings(vec![crate::error::SettingProblem::from_config(&err)]))?;
        let mut config = supervisor_config(&settings, &prefs.external, self.options.stackdesk_exe.clone())?;
        if settings.data_dir.is_none() {
            config.data_dir.clone_from(&self.options.data_dir);
        }
        config.ready_timeout = self.options.ready_timeout;
        config.stop_timeout = self.options.stop_timeout;
        config.child_env = prefs.effective_values().into_iter().collect();
        config.child_env.push(("API_CORS_ORIGINS".into(), self.options.cors_origins.join(",")));
        Ok((settings, config))
    }

    /// Starts, stops or restarts the whole stack.
    pub async fn act(&self, action: StackAction) -> Result<Snapshot> {
        match action {
            StackAction::Start => self.start().await,
            StackAction::Stop => self.stop().await,
            StackAction::Restart => self.restart().await,
        }
    }

    /// Starts Redis, the API and the worker, each once the one before is ready, then the monitor.
    pub async fn start(&self) -> Result<Snapshot> {
        let _one_at_a_time = self.lifecycle.lock().await;
        self.start_locked().await
    }

    async fn start_locked(&self) -> Result<Snapshot> {
        if self.running.load(Ordering::SeqCst) {
            return Err(SupervisorError::Busy("running").into());
        }
        let (settings, mut config) = self.configs()?;
        // The monitor first, its port checked before anything runs: it waits for Redis, and the
        // API and the worker start once it follows the stack's events (nothing of theirs is missed).
        let port = settings.monitor_port;
        let listener = tokio::task::spawn_blocking(move || bind_monitor(port))
            .await
            .map_err(|e| DeskError::io("binding the monitor's port", std::io::Error::other(e)))??;
        config.observer = Some(self.start_monitor(listener, &settings)?);
        let targets = ProbeTargets::of(&config);
        *lock(&self.started_with) = Some(config.clone());
        let supervisor = match Supervisor::new(config) {
            Ok(supervisor) => Arc::new(supervisor),
            Err(err) => {
                self.stop_monitor().await;
                return Err(err.into());
            }
        };
        tokio::spawn(forward(supervisor.subscribe(), self.events.clone()));
        let previous = lock(&self.current).replace(supervisor.clone());
        if let Some(previous) = previous.and_then(|p| Arc::try_unwrap(p).ok()) {
            previous.shutdown().await;
        }
        self.running.store(true, Ordering::SeqCst);
        self.emit(DeskEvent::Stack { running: true });
        if let Err(err) = supervisor.start().await {
            self.stop_monitor().await;
            self.running.store(false, Ordering::SeqCst);
            self.emit(DeskEvent::Stack { running: false });
            return Err(err.into());
        }
        self.start_prober(&supervisor, targets);
        Ok(self.snapshot())
    }

    /// Starts probing the health of the stack `supervisor` runs.
    /// Without a prober (it could not be made) the stack runs on and health is read from the
    /// process states alone.
    fn start_prober(&self, supervisor: &Arc<Supervisor>, targets: ProbeTargets) {
        // Weak: the prober never keeps a stopped supervisor alive.
        let source = Arc::downgrade(supervisor);
        let statuses = Arc::new(move || source.upgrade().map(|s| s.status()).unwrap_or_default());
        let (events, told) = (self.events.clone(), self.health_told.clone());
        // The prober tells one change at a time, in order, so the revisions follow the changes.
        let sink = Arc::new(move |health: &StackHealth| {
            let revision = told.fetch_add(1, Ordering::SeqCst) + 1;
            let _ = events.send(DeskEvent::Health { health: health.clone(), revision });
        });
        match Prober::start(targets, statuses, supervisor.subscribe(), sink) {
            Ok(prober) => *lock(&self.prober) = Some(prober),
            Err(err) => tracing::warn!(%err, "health is not probed"),
        }
    }

    /// Starts the task monitor of this stack on `listener` (it connects once Redis answers);
    /// returns whether it follows the stack's events, for the supervisor to wait on.
    fn start_monitor(
        &self,
        listener: std::net::TcpListener,
        settings: &config::Settings,
    ) -> Result<tokio::sync::watch::Receiver<bool>> {
        let port = settings.monitor_port;
        let listener = tokio::net::TcpListener::from_std(listener)
            .map_err(|e| DeskError::io(format!("serving the monitor on port {port}"), e))?;
        let mut options = monitor::MonitorOptions::from_settings(settings);
        options.cors_origins.clone_from(&self.options.cors_origins);
        let shutdown = CancellationToken::new();
        let tracker = TaskTracker::new();
        let monitor =
            monitor::start(listener, settings.redis_url.expose().to_string(), options, &tracker, shutdown.clone());
        tracker.close();
        *lock(&self.monitor) = Some(MonitorRun { port, shutdown, tracker });
        Ok(monitor.following())
    }

    async fn stop_monitor(&self) {
        let run = lock(&self.monitor).take();
        if let Some(run) = run {
            run.shutdown.cancel();
            if tokio::time::timeout(MONITOR_STOP, run.tracker.wait()).await.is_err() {
                tracing::warn!("the monitor did not stop within {MONITOR_STOP:?}");
            }
        }
    }

    async fn stop_prober(&self) {
        let prober = lock(&self.prober).take();
        if let Some(prober) = prober {
            prober.stop().await;
        }
    }

    /// Stops the worker, the API and Redis, in that order.
    pub async fn stop(&self) -> Result<Snapshot> {
        let _one_at_a_time = self.lifecycle.lock().await;
        self.stop_locked().await
    }

    async fn stop_locked(&self) -> Result<Snapshot> {
        self.stop_prober().await;
        if let Some(supervisor) = self.supervisor() {
            // The worker first, while the monitor still hears its last words (the tasks it
            // finishes, its `worker-offline`); then the monitor; then the API and Redis.
            if self.running.load(Ordering::SeqCst) && started_worker(&supervisor) {
                let _ = supervisor.stop_process(ProcessKind::Worker).await;
            }
            self.stop_monitor().await;
            supervisor.stop().await?;
        } else {
            self.stop_monitor().await;
        }
        if self.running.swap(false, Ordering::SeqCst) {
            self.emit(DeskEvent::Stack { running: false });
        }
        Ok(self.snapshot())
    }

    /// Stops everything, then starts it with the settings saved now.
    pub async fn restart(&self) -> Result<Snapshot> {
        let _one_at_a_time = self.lifecycle.lock().await;
        self.stop_locked().await?;
        self.start_locked().await
    }

    /// Starts, stops, restarts or kills (as a crash would) one process of the running stack.
    ///
    /// A process started or restarted on its own gets the settings saved now, as long as they
    /// do not change what the rest of the stack was started with (ports, Redis URL, which
    /// processes are external, the secrets masked in logs); otherwise it keeps the last Start's
    /// and the whole stack must be restarted to see them.
    pub async fn process_action(&self, process: ProcessKind, action: ProcessAction) -> Result<Snapshot> {
        let supervisor = self.running_supervisor()?;
        if matches!(action, ProcessAction::Start | ProcessAction::Restart) {
            self.refresh_child_env(&supervisor).await?;
        }
        match action {
            ProcessAction::Start => supervisor.start_process(process).await?,
            ProcessAction::Stop => supervisor.stop_process(process).await?,
            ProcessAction::Restart => supervisor.restart_process(process).await?,
            ProcessAction::Kill => supervisor.kill_process(process).await?,
        }
        Ok(self.snapshot())
    }

    /// Hands the supervisor the environment of the settings saved now, if they fit the running
    /// stack (see [`Stack::process_action`]).
    async fn refresh_child_env(&self, supervisor: &Supervisor) -> Result<()> {
        let Ok((_, next)) = self.configs() else { return Ok(()) };
        let fits = lock(&self.started_with).as_ref().is_some_and(|was| {
            was.redis_port == next.redis_port
                && was.redis_url == next.redis_url
                && was.api_port == next.api_port
                && was.modes == next.modes
                && was.secrets == next.secrets
        });
        if fits {
            supervisor.set_child_env(next.child_env.clone()).await?;
            *lock(&self.started_with) = Some(next);
        }
        Ok(())
    }

    /// Whether a redis-server can be found for a managed Redis, as Start would look for it.
    pub async fn redis_server(&self) -> Result<RedisServerCheck> {
        let (_, config) = self.configs()?;
        let managed = config.mode(ProcessKind::Redis) == Mode::Managed;
        let mut check = RedisServerCheck {
            managed,
            path: None,
            version: None,
            searched: None,
            advice: None,
            os: std::env::consts::OS,
        };
        if !managed {
            return Ok(check);
        }
        let found = tokio::task::spawn_blocking(move || {
            let exe_dir = config.stackdesk_exe.parent().map(std::path::Path::to_path_buf);
            supervisor::paths::find_redis(config.redis_binary.as_deref(), exe_dir.as_deref())
        })
        .await
        .map_err(|e| DeskError::io("looking for redis-server", std::io::Error::other(e)))?;
        match found {
            Ok(binary) => (check.path, check.version) = (Some(binary.path), Some(binary.version)),
            Err(SupervisorError::RedisNotFound { searched, advice }) => {
                (check.searched, check.advice) = (Some(searched), Some(advice));
            }
            Err(other) => return Err(other.into()),
        }
        Ok(check)
    }

    /// Saves an exported diagram under the data folder's `exports/`; returns its path.
    pub fn save_export(&self, name: &str, bytes: &[u8]) -> Result<PathBuf> {
        crate::exports::save(&self.snapshot().data_dir, name, bytes)
    }

    /// Stops the stack for good (the app is quitting).
    pub async fn shutdown(&self) {
        let _one_at_a_time = self.lifecycle.lock().await;
        let _ = self.stop_locked().await;
        let supervisor = lock(&self.current).take();
        if let Some(supervisor) = supervisor.and_then(|s| Arc::try_unwrap(s).ok()) {
            supervisor.shutdown().await;
        }
    }

    /// The dashboard's facts now.
    pub fn snapshot(&self) -> Snapshot {
        let running = self.running.load(Ordering::SeqCst);
        let configs = self.configs();
        let processes = match (self.supervisor(), &configs) {
            (Some(supervisor), _) => supervisor.status(),
            (None, Ok((_, config))) => ProcessKind::ALL
                .iter()
                .map(|&kind| {
                    let port = match kind {
                        ProcessKind::Redis => Some(config.redis_port),
                        ProcessKind::Api => Some(config.api_port),
                        ProcessKind::Worker => None,
                    };
                    ProcessStatus::new(kind, config.mode(kind), port)
                })
                .collect(),
            (None, Err(_)) => Vec::new(),
        };
        let started_with = if running { lock(&self.started_with).clone() } else { None };
        let monitor_port = lock(&self.monitor).as_ref().map(|m| m.port);
        let (api_url, monitor_url, redis_url, data_dir) = match &configs {
            Ok((settings, config)) => (
                format!("http://127.0.0.1:{}", started_with.as_ref().map_or(settings.api_port, |was| was.api_port)),
                format!("http://127.0.0.1:{}", monitor_port.unwrap_or(settings.monitor_port)),
                settings.redis_url.redacted_url(),
                config.data_dir.clone(),
            ),
            Err(_) => (String::new(), String::new(), String::new(), self.options.data_dir.clone()),
        };
        let restart_pending = match (&started_with, &configs) {
            (Some(was), Ok((settings, now))) => {
                if monitor_port.is_some_and(|port| port != settings.monitor_port) {
                    // Only a restart of the whole stack moves its monitor.
                    ProcessKind::ALL.to_vec()
                } else {
                    restart_pending(was, now)
                }
            }
            _ => Vec::new(),
        };
        // Read before the health: a change told after this has a higher revision and wins.
        let health_revision = self.health_told.load(Ordering::SeqCst);
        let health = match lock(&self.prober).as_ref() {
            Some(prober) => prober.health(&processes),
            None => crate::health::unprobed(&processes),
        };
        Snapshot {
            running,
            processes,
            health,
            health_revision,
            restart_pending,
            docs_url: format!("{api_url}/docs"),
            api_url,
            monitor_url,
            redis_url,
            logs_dir: data_dir.join("logs"),
            data_dir,
        }
    }

    /// The last `lines` lines of a process's log (empty before the first Start).
    pub fn logs(&self, process: ProcessKind, lines: usize) -> Vec<String> {
        self.supervisor().map(|s| s.logs().tail(process, lines)).unwrap_or_default()
    }

    /// The settings as the UI shows them.
    pub fn settings(&self) -> SettingsView {
        lock(&self.prefs).view(&self.options.config_dir, &self.options.env)
    }

    /// Checks and saves a change; says which running processes must restart to see it.
    pub fn save_settings(&self, update: &SettingsUpdate) -> Result<SaveOutcome> {
        let mut prefs = lock(&self.prefs);
        let next = prefs.updated(update, &self.options.env)?;
        next.save(&self.options.config_dir)?;
        let restart = if self.running.load(Ordering::SeqCst) { prefs.restart_needed(&next) } else { Vec::new() };
        *prefs = next;
        let settings = prefs.view(&self.options.config_dir, &self.options.env);
        drop(prefs);
        self.emit(DeskEvent::Settings { settings: settings.clone() });
        Ok(SaveOutcome { settings, restart })
    }

    /// The text of one configuration key as the stack would use it: saved, else from the
    /// stack's environment; `None` when neither sets it (the key's default applies).
    pub fn setting(&self, key: &str) -> Option<String> {
        let saved = lock(&self.prefs).values.get(key).cloned();
        saved.or_else(|| self.options.env.get(key).cloned()).filter(|v| !v.trim().is_empty())
    }
}

/// The processes that run with other settings than `now` and that only a restart of the whole
/// stack gives them (what [`Stack::process_action`] cannot hand a single process).
fn restart_pending(was: &SupervisorConfig, now: &SupervisorConfig) -> Vec<ProcessKind> {
    if was.redis_port != now.redis_port || was.redis_url != now.redis_url || was.modes != now.modes {
        return ProcessKind::ALL.to_vec();
    }
    let mut pending = Vec::new();
    if was.api_port != now.api_port || was.secrets != now.secrets {
        pending.push(ProcessKind::Api);
    }
    if was.secrets != now.secrets {
        pending.push(ProcessKind::Worker);
    }
    pending
}

/// Whether the stack's worker is one the supervisor runs (not an external one) and is up.
fn started_worker(supervisor: &Supervisor) -> bool {
    supervisor.status().iter().any(|s| s.process == ProcessKind::Worker && s.mode == Mode::Managed && s.pid.is_some())
}

/// Binds the monitor's port on loopback, or says who holds it.
fn bind_monitor(port: u16) -> Result<std::net::TcpListener> {
    let bound = std::net::TcpListener::bind(("127.0.0.1", port)).and_then(|listener| {
        listener.set_nonblocking(true)?;
        Ok(listener)
    });
    bound.map_err(|err| match supervisor::ports::check(port) {
        Some(owner) => DeskError::MonitorPortTaken { port, owner },
        None => DeskError::io(format!("listening on 127.0.0.1:{port} for the monitor"), err),
    })
}

/// Passes a supervisor's events on to the UIs until that supervisor is gone.
async fn forward(mut from: broadcast::Receiver<Event>, to: broadcast::Sender<DeskEvent>) {
    loop {
        let event = match from.recv().await {
            Ok(Event::State { status, .. }) => DeskEvent::State { status },
            Ok(Event::Log { process, stream, line }) => DeskEvent::Log { process, stream, line },
            Err(RecvError::Lagged(missed)) => DeskEvent::Lagged { missed },
            Err(RecvError::Closed) => return,
        };
        let _ = to.send(event);
    }
}

/// The supervisor's configuration from the settings: Redis on the port of `REDIS_URL` (external
/// when `REDIS_URL` is not on this machine), the API on `API_PORT`, `external` processes probed
/// only. Shared by `stackdesk up` and the app.
pub fn supervisor_config(
    settings: &config::Settings,
    external: &[ProcessKind],
    stackdesk_exe: PathBuf,
) -> Result<SupervisorConfig> {
    let bad_url = |why: &str, kind: ProblemKind| {
        DeskError::InvalidSettings(vec![crate::error::SettingProblem::new("REDIS_URL", why, kind)])
    };
    let client = redis::Client::open(settings.redis_url.expose())
        .map_err(|e| bad_url(&e.to_string(), ProblemKind::Config(config::Rule::RedisUrl)))?;
    let info = client.get_connection_info();
    let (host, port) = match info.addr() {
        redis::ConnectionAddr::Tcp(host, port) | redis::ConnectionAddr::TcpTls { host, port, .. } => {
            (host.clone(), *port)
        }
        _ => {
            return Err(bad_url(
                "a TCP address (redis://host:port/db)",
                ProblemKind::App(crate::error::AppRule::RedisTcp),
            ));
        }
    };
    let mut modes = [Mode::Managed; 3];
    for kind in external {
        modes[*kind as usize] = Mode::External;
    }
    if !matches!(host.as_str(), "127.0.0.1" | "localhost" | "::1") {
        // A Redis on another machine can only be used, never started.
        modes[ProcessKind::Redis as usize] = Mode::External;
    }
    let mut secrets = Vec::new();
    if let Some(tg) = &settings.telegram {
        secrets.push(tg.bot_token.expose().to_string());
    }
    if let Some(password) = info.redis_settings().password() {
        secrets.push(password.to_string());
    }
    Ok(SupervisorConfig {
        data_dir: settings.data_dir.as_ref().map_or_else(supervisor::paths::default_data_dir, Into::into),
        redis_port: port,
        redis_url: settings.redis_url.expose().to_string(),
        redis_binary: settings.redis_server.as_ref().map(Into::into),
        api_port: settings.api_port,
        stackdesk_exe,
        modes,
        worker_name: format!("stackdesk@{}", taskq::send::hostname()),
        secrets,
        child_env: Vec::new(),
        ready_timeout: Duration::from_secs(20),
        stop_timeout: Duration::from_secs(10),
        restart: supervisor::RestartPolicy::default(),
        observer: None,
    })
}
