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

mod probe;

use std::time::{Duration, SystemTime};

use serde::Serialize;
use supervisor::{Mode, ProcessKind, ProcessState, ProcessStatus};
use ts_rs::TS;

pub use probe::{HealthSink, ProbeTargets, Prober, StatusSource};

/// How often Redis and the API are probed (and silence is checked).
pub const PROBE_INTERVAL: Duration = Duration::from_millis(500);

/// How a process is doing, beside its supervisor state.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(tag = "level", rename_all = "snake_case")]
#[ts(export_to = "Health.ts")]
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
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[ts(export_to = "Problem.ts")]
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
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export_to = "StackHealth.ts")]
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

/// Health for a stack without a prober (not started): from the statuses alone.
pub fn unprobed(statuses: &[ProcessStatus]) -> StackHealth {
    assess_all(statuses, &Seen::default(), SystemTime::now(), &Rules::default())
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
