//! Health beside the supervisor's process state: a process can be up (its state `running` or
//! `external`) and still unable to do its job. The [`Prober`] looks at what a learner would look
//! at, while the stack runs:
//!
//! - **Redis**: `PING` on the stack's `REDIS_URL`;
//! - **the API**: its own `GET /health` (200, or 503 with the reason when it cannot reach Redis);
//! - **the worker**: its Redis (the same URL: when the prober cannot reach it, neither can the
//!   worker), and its `worker-heartbeat` events: silence for two heartbeat intervals (plus a second
//!   of grace, as `GET /workers` counts a worker online) means it is stuck or cut off.
//!
//! [`assess`] turns a process's status and what the probes last saw into a [`Health`]; it is a
//! pure function, so the rules are unit-tested without a clock or a socket. The prober's tasks
//! live in one `JoinSet` with a cancellation token: [`Prober::stop`] cancels them, waits with a
//! deadline, then aborts what is left.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use futures_util::StreamExt as _;
use serde::Serialize;
use supervisor::{Event, Mode, ProcessKind, ProcessState, ProcessStatus};
use tokio::sync::{Notify, broadcast};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::error::{DeskError, Result};

/// How often Redis and the API are probed (and silence is checked).
pub const PROBE_INTERVAL: Duration = Duration::from_millis(500);
/// How long one `PING` may take (Redis runs on this machine or nearby).
const PING_TIMEOUT: Duration = Duration::from_millis(500);
/// How long the API's `/health` may take: the API gives its own `PING` a second.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(2);
/// How long the prober's tasks get to end once cancelled, before they are aborted.
const STOP_DEADLINE: Duration = Duration::from_secs(2);

/// How a process is doing, beside its supervisor state.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "level", rename_all = "snake_case")]
pub enum Health {
    /// Not up (stopped, starting, stopping, crashed, restarting): its process state says why.
    Down,
    /// Up, and doing its job as far as the probes can tell.
    Healthy,
    /// Up, but unable to do its job.
    Degraded {
        /// What is wrong.
        problem: Problem,
        /// The technical detail (an error message, in English), when there is one.
        detail: Option<String>,
    },
}

/// Why a process that runs cannot do its job. The UI words each one in the learner's language.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Problem {
    /// Redis runs but does not answer `PING`.
    RedisNoAnswer,
    /// The API's `/health` answers 503: the API cannot reach Redis, so it cannot save products.
    ApiRedisUnreachable,
    /// The API runs but its `/health` does not answer (or answers something unexpected).
    ApiNoAnswer,
    /// The worker's Redis does not answer: it can neither take tasks nor store results.
    WorkerRedisUnreachable,
    /// No `worker-heartbeat` from the worker for longer than `limit_secs` (two intervals and a
    /// second of grace).
    WorkerSilent {
        /// The silence allowed, in seconds.
        limit_secs: f64,
    },
}

/// The health of the three processes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StackHealth {
    /// redis-server.
    pub redis: Health,
    /// The API.
    pub api: Health,
    /// The worker.
    pub worker: Health,
}

impl StackHealth {
    /// All three down (nothing runs).
    pub fn down() -> Self {
        Self { redis: Health::Down, api: Health::Down, worker: Health::Down }
    }

    /// The health of one process.
    pub fn of(&self, kind: ProcessKind) -> &Health {
        match kind {
            ProcessKind::Redis => &self.redis,
            ProcessKind::Api => &self.api,
            ProcessKind::Worker => &self.worker,
        }
    }

    fn of_mut(&mut self, kind: ProcessKind) -> &mut Health {
        match kind {
            ProcessKind::Redis => &mut self.redis,
            ProcessKind::Api => &mut self.api,
            ProcessKind::Worker => &mut self.worker,
        }
    }
}

/// What the API's `/health` last answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiAnswer {
    /// 200.
    Healthy,
    /// 503: Redis is unreachable; the API's own words.
    RedisUnreachable(String),
    /// No answer, or an unexpected one.
    NoAnswer(String),
}

/// What the probes last saw. `None` means "not probed yet": the supervisor's readiness probe
/// has just passed, so the process counts as healthy until a probe says otherwise.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Seen {
    /// The last `PING`: `Err` with the reason when it failed.
    pub redis: Option<std::result::Result<(), String>>,
    /// When Redis last began answering again after failing (silence before it is not counted).
    pub redis_back_at: Option<SystemTime>,
    /// The API's last `/health`, while the API is up.
    pub api: Option<ApiAnswer>,
    /// When the last `worker-online` or `worker-heartbeat` of the watched worker arrived.
    pub heartbeat_at: Option<SystemTime>,
    /// The interval that worker announced (`freq`).
    pub heartbeat_freq: Option<Duration>,
    /// When the prober began watching.
    pub watching_since: Option<SystemTime>,
}

/// The rules' numbers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rules {
    /// The heartbeat interval assumed until a worker announces its own.
    pub default_heartbeat: Duration,
    /// Added to two intervals before silence counts (network and scheduling jitter).
    pub heartbeat_grace: Duration,
}

impl Default for Rules {
    /// Celery's heartbeat interval (2 s), and `GET /workers`'s second of grace.
    fn default() -> Self {
        Self {
            default_heartbeat: Duration::from_secs_f64(taskq::events::HEARTBEAT_FREQ_SECS),
            heartbeat_grace: Duration::from_secs(1),
        }
    }
}

impl Rules {
    /// The longest silence allowed from a worker that announced `freq`.
    pub fn silence_limit(&self, freq: Option<Duration>) -> Duration {
        freq.unwrap_or(self.default_heartbeat) * 2 + self.heartbeat_grace
    }
}

/// Whether a process in this state is up (and so has a health of its own).
pub fn is_up(state: ProcessState) -> bool {
    matches!(state, ProcessState::Running | ProcessState::External)
}

/// The health of one process, from its status, what the probes saw, and the managed Redis's
/// status (when Redis is ours and not up, the worker cannot reach it either).
pub fn assess(
    status: &ProcessStatus,
    redis: Option<&ProcessStatus>,
    seen: &Seen,
    now: SystemTime,
    rules: &Rules,
) -> Health {
    if !is_up(status.state) {
        return Health::Down;
    }
    let degraded = |problem: Problem, detail: Option<String>| Health::Degraded { problem, detail };
    match status.process {
        ProcessKind::Redis => match &seen.redis {
            Some(Err(why)) => degraded(Problem::RedisNoAnswer, Some(why.clone())),
            _ => Health::Healthy,
        },
        ProcessKind::Api => match &seen.api {
            Some(ApiAnswer::RedisUnreachable(why)) => degraded(Problem::ApiRedisUnreachable, Some(why.clone())),
            Some(ApiAnswer::NoAnswer(why)) => degraded(Problem::ApiNoAnswer, Some(why.clone())),
            Some(ApiAnswer::Healthy) | None => Health::Healthy,
        },
        ProcessKind::Worker => {
            let ours_down = redis.is_some_and(|r| r.mode == Mode::Managed && !is_up(r.state));
            if ours_down {
                let state = redis.map_or("stopped", |r| state_name(r.state));
                return degraded(Problem::WorkerRedisUnreachable, Some(format!("Redis is {state}")));
            }
            if let Some(Err(why)) = &seen.redis {
                return degraded(Problem::WorkerRedisUnreachable, Some(why.clone()));
            }
            let quiet_since = [seen.heartbeat_at, status.ready_since, seen.redis_back_at, seen.watching_since]
                .into_iter()
                .flatten()
                .max();
            let limit = rules.silence_limit(seen.heartbeat_freq);
            let silent = quiet_since.and_then(|since| now.duration_since(since).ok()).unwrap_or_default();
            if silent > limit {
                // Worded without the growing silence, so that the health changes once, not every round.
                let detail = match seen.heartbeat_at {
                    Some(_) => format!("no worker-heartbeat for more than {:.1} s", limit.as_secs_f64()),
                    None => "no worker-heartbeat since the worker started".to_string(),
                };
                return degraded(Problem::WorkerSilent { limit_secs: limit.as_secs_f64() }, Some(detail));
            }
            Health::Healthy
        }
    }
}

fn state_name(state: ProcessState) -> &'static str {
    match state {
        ProcessState::Stopped => "stopped",
        ProcessState::Starting => "starting",
        ProcessState::Running => "running",
        ProcessState::Stopping => "stopping",
        ProcessState::Crashed => "crashed",
        ProcessState::BackingOff => "restarting",
        ProcessState::External => "external",
    }
}

/// The health of every process in `statuses` (a process not listed is down).
pub fn assess_all(statuses: &[ProcessStatus], seen: &Seen, now: SystemTime, rules: &Rules) -> StackHealth {
    let redis = statuses.iter().find(|s| s.process == ProcessKind::Redis);
    let mut health = StackHealth::down();
    for status in statuses {
        *health.of_mut(status.process) = assess(status, redis, seen, now, rules);
    }
    health
}

/// What the prober watches.
#[derive(Debug, Clone)]
pub struct ProbeTargets {
    /// The stack's Redis (`redis://…`, password and all: never logged).
    pub redis_url: String,
    /// The port of the running API (on 127.0.0.1).
    pub api_port: u16,
    /// The worker whose heartbeats count; `None` counts any worker's (an external one has its own
    /// name).
    pub worker_name: Option<String>,
    /// How often to probe.
    pub interval: Duration,
    /// The heartbeat rules.
    pub rules: Rules,
}

impl ProbeTargets {
    /// The targets of a stack run with `config`.
    pub fn of(config: &supervisor::SupervisorConfig) -> Self {
        Self {
            redis_url: config.redis_url.clone(),
            api_port: config.api_port,
            worker_name: (config.mode(ProcessKind::Worker) == Mode::Managed).then(|| config.worker_name.clone()),
            interval: PROBE_INTERVAL,
            rules: Rules::default(),
        }
    }
}

/// Reads the processes' statuses now.
pub type StatusSource = Arc<dyn Fn() -> Vec<ProcessStatus> + Send + Sync>;
/// Told each new [`StackHealth`], once per change.
pub type HealthSink = Arc<dyn Fn(&StackHealth) + Send + Sync>;

/// What the prober's tasks share.
struct Shared {
    targets: ProbeTargets,
    seen: Mutex<Seen>,
    statuses: StatusSource,
    sink: HealthSink,
    last: Mutex<Option<StackHealth>>,
    /// Wakes the probes at once (a process changed state).
    poke: Notify,
    /// Tells the heartbeat listener to subscribe again (Redis stopped answering).
    resubscribe: Notify,
    http: reqwest::Client,
    token: CancellationToken,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Plain data behind these locks stays usable after a panic elsewhere.
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shared {
    fn status(&self, kind: ProcessKind) -> Option<ProcessStatus> {
        (self.statuses)().into_iter().find(|s| s.process == kind)
    }

    fn health_now(&self) -> StackHealth {
        let statuses = (self.statuses)();
        let seen = lock(&self.seen).clone();
        assess_all(&statuses, &seen, SystemTime::now(), &self.targets.rules)
    }

    /// Tells the sink when the health changed.
    fn publish(&self) {
        let health = self.health_now();
        let mut last = lock(&self.last);
        if last.as_ref() != Some(&health) {
            tracing::debug!(?health, "health changed");
            *last = Some(health.clone());
            drop(last);
            (self.sink)(&health);
        }
    }

    /// Waits for the next round: the interval, a poke, or cancellation (then `false`).
    async fn next_round(&self) -> bool {
        tokio::select! {
            () = self.token.cancelled() => false,
            () = tokio::time::sleep(self.targets.interval) => true,
            () = self.poke.notified() => true,
        }
    }
}

/// Probes the stack's Redis, API and worker while the stack runs, and tells a sink each time
/// their health changes. Owned by the stack; [`Prober::stop`] ends it.
pub struct Prober {
    shared: Arc<Shared>,
    tasks: JoinSet<()>,
}

impl std::fmt::Debug for Prober {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prober").field("api_port", &self.shared.targets.api_port).finish_non_exhaustive()
    }
}

impl Prober {
    /// Starts probing `targets`. `statuses` says which processes are up; `changes` (the
    /// supervisor's events) wakes the probes at once when a process changes state; `sink` is told
    /// every new health.
    pub fn start(
        targets: ProbeTargets,
        statuses: StatusSource,
        changes: broadcast::Receiver<Event>,
        sink: HealthSink,
    ) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(HEALTH_TIMEOUT)
            .no_proxy()
            .build()
            .map_err(|e| DeskError::io("making the health prober's HTTP client", std::io::Error::other(e)))?;
        let seen = Seen { watching_since: Some(SystemTime::now()), ..Seen::default() };
        let shared = Arc::new(Shared {
            targets,
            seen: Mutex::new(seen),
            statuses,
            sink,
            last: Mutex::new(None),
            poke: Notify::new(),
            resubscribe: Notify::new(),
            http,
            token: CancellationToken::new(),
        });
        let mut tasks = JoinSet::new();
        tasks.spawn(redis_loop(shared.clone()));
        tasks.spawn(api_loop(shared.clone()));
        tasks.spawn(heartbeat_loop(shared.clone()));
        tasks.spawn(change_loop(shared.clone(), changes));
        Ok(Self { shared, tasks })
    }

    /// The health of `statuses` by what the probes saw last.
    pub fn health(&self, statuses: &[ProcessStatus]) -> StackHealth {
        let seen = lock(&self.shared.seen).clone();
        assess_all(statuses, &seen, SystemTime::now(), &self.shared.targets.rules)
    }

    /// Stops probing: cancels the tasks, waits for them with a deadline, then aborts the rest.
    pub async fn stop(mut self) {
        self.shared.token.cancel();
        let drained =
            tokio::time::timeout(STOP_DEADLINE, async { while self.tasks.join_next().await.is_some() {} }).await;
        if drained.is_err() {
            tracing::warn!("the health prober did not stop in time; aborting it");
            self.tasks.shutdown().await;
        }
    }
}

/// Health for a stack without a prober (not started): from the statuses alone.
pub fn unprobed(statuses: &[ProcessStatus]) -> StackHealth {
    assess_all(statuses, &Seen::default(), SystemTime::now(), &Rules::default())
}

/// `PING` every round, on one connection kept while it works.
async fn redis_loop(shared: Arc<Shared>) {
    let client = match redis::Client::open(shared.targets.redis_url.as_str()) {
        Ok(client) => Some(client),
        Err(err) => {
            tracing::warn!(%err, "the health prober cannot use REDIS_URL");
            None
        }
    };
    let mut conn: Option<redis::aio::MultiplexedConnection> = None;
    loop {
        let answer = match &client {
            Some(client) => ping(client, &mut conn).await,
            None => Err("REDIS_URL is not a Redis URL".to_string()),
        };
        let lost = {
            let mut seen = lock(&shared.seen);
            let was_ok = matches!(seen.redis, Some(Ok(())));
            if answer.is_ok() && !was_ok {
                seen.redis_back_at = Some(SystemTime::now());
            }
            let lost = was_ok && answer.is_err();
            seen.redis = Some(answer);
            lost
        };
        if lost {
            shared.resubscribe.notify_one();
        }
        shared.publish();
        if !shared.next_round().await {
            return;
        }
    }
}

async fn ping(
    client: &redis::Client,
    conn: &mut Option<redis::aio::MultiplexedConnection>,
) -> std::result::Result<(), String> {
    if conn.is_none() {
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(PING_TIMEOUT))
            .set_response_timeout(Some(PING_TIMEOUT));
        match client.get_multiplexed_async_connection_with_config(&config).await {
            Ok(fresh) => *conn = Some(fresh),
            Err(err) => return Err(format!("cannot connect to Redis: {err}")),
        }
    }
    let Some(connection) = conn.as_mut() else { return Err("no connection to Redis".into()) };
    match tokio::time::timeout(PING_TIMEOUT, redis::cmd("PING").query_async::<String>(connection)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(err)) => {
            *conn = None;
            Err(format!("Redis does not answer PING: {err}"))
        }
        Err(_) => {
            *conn = None;
            Err(format!("Redis did not answer PING within {} ms", PING_TIMEOUT.as_millis()))
        }
    }
}

/// `GET /health` every round while the API is up.
async fn api_loop(shared: Arc<Shared>) {
    let url = format!("http://127.0.0.1:{}/health", shared.targets.api_port);
    loop {
        let up = shared.status(ProcessKind::Api).is_some_and(|s| is_up(s.state));
        let answer = if up { Some(api_health(&shared.http, &url).await) } else { None };
        lock(&shared.seen).api = answer;
        shared.publish();
        if !shared.next_round().await {
            return;
        }
    }
}

async fn api_health(http: &reqwest::Client, url: &str) -> ApiAnswer {
    let response = match http.get(url).send().await {
        Ok(response) => response,
        Err(err) if err.is_timeout() => {
            return ApiAnswer::NoAnswer(format!("no answer within {} s", HEALTH_TIMEOUT.as_secs()));
        }
        Err(err) => return ApiAnswer::NoAnswer(format!("cannot reach the API: {}", err.without_url())),
    };
    let status = response.status();
    if status.is_success() {
        return ApiAnswer::Healthy;
    }
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    let detail = body["detail"].as_str().map_or_else(|| format!("HTTP {status}"), str::to_string);
    if status == reqwest::StatusCode::SERVICE_UNAVAILABLE {
        ApiAnswer::RedisUnreachable(detail)
    } else {
        ApiAnswer::NoAnswer(format!("HTTP {}: {detail}", status.as_u16()))
    }
}

/// Follows the Celery events on Redis for the watched worker's heartbeats; subscribes again
/// whenever the subscription ends or Redis stopped answering.
async fn heartbeat_loop(shared: Arc<Shared>) {
    let Ok(client) = redis::Client::open(shared.targets.redis_url.as_str()) else { return };
    let db = client.get_connection_info().redis_settings().db();
    loop {
        let subscribed = tokio::select! {
            () = shared.token.cancelled() => return,
            subscribed = tokio::time::timeout(PING_TIMEOUT * 2, subscribe(&client, db)) => subscribed,
        };
        if let Ok(Ok(mut messages)) = subscribed {
            loop {
                tokio::select! {
                    () = shared.token.cancelled() => return,
                    () = shared.resubscribe.notified() => break,
                    message = messages.next() => match message {
                        Some(message) => on_events(&shared, message.get_payload_bytes()),
                        None => break,
                    },
                }
            }
        }
        if !shared.next_round().await {
            return;
        }
    }
}

async fn subscribe(client: &redis::Client, db: i64) -> redis::RedisResult<redis::aio::PubSubStream> {
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.psubscribe(taskq::events::all_events_pattern(db)).await?;
    Ok(pubsub.into_on_message())
}

fn on_events(shared: &Shared, payload: &[u8]) {
    use taskq::events::EventKind;
    let Ok(events) = taskq::events::decode_events(payload) else { return };
    let mut heard = false;
    for event in events {
        if !matches!(event.kind, EventKind::WorkerHeartbeat | EventKind::WorkerOnline) {
            continue;
        }
        if shared.targets.worker_name.as_deref().is_some_and(|name| name != event.hostname) {
            continue;
        }
        let freq = event.get("freq").and_then(serde_json::Value::as_f64).filter(|f| *f > 0.0 && f.is_finite());
        let mut seen = lock(&shared.seen);
        seen.heartbeat_at = Some(SystemTime::now());
        if let Some(freq) = freq {
            seen.heartbeat_freq = Some(Duration::from_secs_f64(freq));
        }
        heard = true;
    }
    if heard {
        shared.publish();
    }
}

/// A process changed state: probe at once, and forget what was seen of a process that went down.
async fn change_loop(shared: Arc<Shared>, mut changes: broadcast::Receiver<Event>) {
    loop {
        let event = tokio::select! {
            () = shared.token.cancelled() => return,
            event = changes.recv() => event,
        };
        match event {
            Ok(Event::State { status, .. }) => {
                if status.process == ProcessKind::Api && !is_up(status.state) {
                    lock(&shared.seen).api = None;
                }
                shared.publish();
                shared.poke.notify_waiters();
            }
            Ok(Event::Log { .. }) => {}
            Err(broadcast::error::RecvError::Lagged(_)) => {
                shared.publish();
                shared.poke.notify_waiters();
            }
            Err(broadcast::error::RecvError::Closed) => {
                // The supervisor is gone; the rounds go on until the prober is stopped.
                shared.token.cancelled().await;
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn up(kind: ProcessKind, since: SystemTime) -> ProcessStatus {
        let mut status = ProcessStatus::new(kind, Mode::Managed, None);
        status.state = ProcessState::Running;
        status.ready_since = Some(since);
        status
    }

    fn at(secs: f64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs_f64(1_000_000.0 + secs)
    }

    #[test]
    fn a_process_that_is_not_up_is_down_whatever_was_seen() {
        let mut stopped = up(ProcessKind::Api, at(0.0));
        stopped.state = ProcessState::Stopped;
        let seen = Seen { api: Some(ApiAnswer::RedisUnreachable("x".into())), ..Seen::default() };
        assert_eq!(assess(&stopped, None, &seen, at(1.0), &Rules::default()), Health::Down);
    }

    #[test]
    fn the_api_is_degraded_by_its_own_health_answer() {
        let api = up(ProcessKind::Api, at(0.0));
        let rules = Rules::default();
        assert_eq!(assess(&api, None, &Seen::default(), at(1.0), &rules), Health::Healthy, "not probed yet");
        let seen = Seen { api: Some(ApiAnswer::RedisUnreachable("Redis is unavailable".into())), ..Seen::default() };
        assert_eq!(
            assess(&api, None, &seen, at(1.0), &rules),
            Health::Degraded { problem: Problem::ApiRedisUnreachable, detail: Some("Redis is unavailable".into()) }
        );
        let seen = Seen { api: Some(ApiAnswer::NoAnswer("no answer".into())), ..Seen::default() };
        assert!(matches!(
            assess(&api, None, &seen, at(1.0), &rules),
            Health::Degraded { problem: Problem::ApiNoAnswer, .. }
        ));
    }

    #[test]
    fn the_worker_is_degraded_when_its_redis_is_stopped_or_silent() {
        let rules = Rules::default();
        let worker = up(ProcessKind::Worker, at(0.0));
        let mut redis = up(ProcessKind::Redis, at(0.0));
        let fresh = Seen { heartbeat_at: Some(at(9.0)), ..Seen::default() };
        assert_eq!(assess(&worker, Some(&redis), &fresh, at(10.0), &rules), Health::Healthy);
        redis.state = ProcessState::Stopped;
        assert_eq!(
            assess(&worker, Some(&redis), &fresh, at(10.0), &rules),
            Health::Degraded { problem: Problem::WorkerRedisUnreachable, detail: Some("Redis is stopped".into()) },
        );
        // An external Redis that stops answering is seen by the PING alone.
        redis.state = ProcessState::External;
        redis.mode = Mode::External;
        let refused = Seen { redis: Some(Err("refused".into())), ..fresh };
        assert!(matches!(
            assess(&worker, Some(&redis), &refused, at(10.0), &rules),
            Health::Degraded { problem: Problem::WorkerRedisUnreachable, .. }
        ));
    }

    #[test]
    fn silence_counts_after_two_intervals_and_the_grace() {
        let rules = Rules::default();
        let worker = up(ProcessKind::Worker, at(0.0));
        let seen =
            Seen { heartbeat_at: Some(at(10.0)), heartbeat_freq: Some(Duration::from_secs(2)), ..Seen::default() };
        assert_eq!(assess(&worker, None, &seen, at(14.9), &rules), Health::Healthy);
        assert_eq!(
            assess(&worker, None, &seen, at(15.2), &rules),
            Health::Degraded {
                problem: Problem::WorkerSilent { limit_secs: 5.0 },
                detail: Some("no worker-heartbeat for more than 5.0 s".into())
            }
        );
        // A worker announcing a shorter interval is held to it.
        let quick = Seen { heartbeat_freq: Some(Duration::from_millis(500)), ..seen.clone() };
        assert!(matches!(assess(&worker, None, &quick, at(12.1), &rules), Health::Degraded { .. }));
        // The same silence a moment later is the same health (no event every round).
        assert_eq!(assess(&worker, None, &seen, at(15.2), &rules), assess(&worker, None, &seen, at(19.7), &rules));
        // Silence while Redis was away is not the worker's: it counts from Redis's return.
        let back = Seen { redis: Some(Ok(())), redis_back_at: Some(at(14.0)), ..seen };
        assert_eq!(assess(&worker, None, &back, at(18.0), &rules), Health::Healthy);
        // A worker that never sent one, counted from when it became ready.
        assert!(matches!(assess(&worker, None, &Seen::default(), at(5.5), &rules), Health::Degraded { .. }));
        assert_eq!(assess(&worker, None, &Seen::default(), at(4.5), &rules), Health::Healthy);
    }

    #[test]
    fn health_serialises_as_the_ui_reads_it() {
        let health = StackHealth {
            redis: Health::Down,
            api: Health::Degraded { problem: Problem::ApiRedisUnreachable, detail: Some("why".into()) },
            worker: Health::Degraded { problem: Problem::WorkerSilent { limit_secs: 5.0 }, detail: None },
        };
        assert_eq!(
            serde_json::to_value(&health).unwrap_or_default(),
            serde_json::json!({
                "redis": {"level": "down"},
                "api": {"level": "degraded", "problem": {"kind": "api_redis_unreachable"}, "detail": "why"},
                "worker": {"level": "degraded", "problem": {"kind": "worker_silent", "limit_secs": 5.0}, "detail": null},
            })
        );
        assert_eq!(serde_json::to_value(Health::Healthy).unwrap_or_default(), serde_json::json!({"level": "healthy"}));
    }
}
