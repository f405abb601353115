//! The prober: the tasks that look at Redis, the API and the worker's heartbeats while a stack
//! runs, and tell each change of [`StackHealth`] (the rules it applies are in the parent module).

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use futures_util::StreamExt as _;
use supervisor::{Event, Mode, ProcessKind, ProcessStatus};
use tokio::sync::{Notify, broadcast};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::{ApiAnswer, PROBE_INTERVAL, Rules, Seen, StackHealth, assess_all, is_up};
use crate::error::{DeskError, Result};

/// How long one `PING` may take (Redis runs on this machine or nearby).
const PING_TIMEOUT: Duration = Duration::from_millis(500);
/// How long the API's `/health` may take: the API gives its own `PING` a second.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(2);
/// How long the prober's tasks get to end once cancelled, before they are aborted.
const STOP_DEADLINE: Duration = Duration::from_secs(2);

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

    /// Tells the sink when the health changed. The health is read, compared and told under one
    /// lock, so the sink hears the changes in the order they happened: two probes publishing at
    /// once could otherwise tell a stale health after a fresh one, and since the fresh one was
    /// already "the last", nothing would ever correct it (a page showed Redis down for good after
    /// Redis came back). The sink only passes the health on (a channel send): it never blocks.
    fn publish(&self) {
        let mut last = lock(&self.last);
        let health = self.health_now();
        if last.as_ref() != Some(&health) {
            tracing::debug!(?health, "health changed");
            (self.sink)(&health);
            *last = Some(health);
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
    use supervisor::ProcessState;

    fn redis_up() -> Vec<ProcessStatus> {
        let mut redis = ProcessStatus::new(ProcessKind::Redis, Mode::Managed, Some(6379));
        redis.state = ProcessState::Running;
        redis.ready_since = Some(SystemTime::now());
        vec![redis]
    }

    /// Two probes publishing at once: the one that read the older health must not be told last.
    /// The first telling holds the sink while a second probe sees Redis answer again and
    /// publishes; whatever the sink heard last must be the health now.
    #[test]
    fn the_sink_hears_the_last_health_last_when_probes_publish_at_once() {
        let told: Arc<Mutex<Vec<StackHealth>>> = Arc::default();
        let shared_slot: Arc<std::sync::OnceLock<Arc<Shared>>> = Arc::default();
        let other_probe: Arc<Mutex<Option<std::thread::JoinHandle<()>>>> = Arc::default();
        let sink: HealthSink = {
            let (told, slot, other_probe) = (told.clone(), shared_slot.clone(), other_probe.clone());
            Arc::new(move |health: &StackHealth| {
                if told.lock().unwrap().is_empty() {
                    // The first telling: another probe sees Redis back and publishes meanwhile.
                    let shared = slot.get().unwrap().clone();
                    let other = std::thread::spawn(move || {
                        lock(&shared.seen).redis = Some(Ok(()));
                        shared.publish();
                    });
                    // It either finishes (publishing while this telling is under way) or waits
                    // for it; a quarter of a second tells the two apart.
                    let deadline = std::time::Instant::now() + Duration::from_millis(250);
                    while !other.is_finished() && std::time::Instant::now() < deadline {
                        std::thread::yield_now();
                    }
                    *other_probe.lock().unwrap() = Some(other);
                }
                told.lock().unwrap().push(health.clone());
            })
        };
        let targets = ProbeTargets {
            redis_url: "redis://127.0.0.1:1".into(),
            api_port: 1,
            worker_name: None,
            interval: PROBE_INTERVAL,
            rules: Rules::default(),
        };
        let seen = Seen { redis: Some(Err("Connection refused".into())), ..Seen::default() };
        let shared = Arc::new(Shared {
            targets,
            seen: Mutex::new(seen),
            statuses: Arc::new(redis_up),
            sink,
            last: Mutex::new(None),
            poke: Notify::new(),
            resubscribe: Notify::new(),
            http: reqwest::Client::new(),
            token: CancellationToken::new(),
        });
        shared_slot.set(shared.clone()).ok().unwrap();
        shared.publish();
        other_probe.lock().unwrap().take().expect("the second probe ran").join().unwrap();
        let told = told.lock().unwrap().clone();
        assert_eq!(told.len(), 2, "a down Redis, then a healthy one: {told:?}");
        assert_ne!(told[0], told[1]);
        assert_eq!(told.last(), Some(&shared.health_now()), "the sink heard a stale health last: {told:?}");
    }
}
