//! What the receive loop, the executions and remote control share: the worker's state and the
//! messages it holds.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::config::{SW_IDENT, WorkerConfig};
use super::settle;
use super::task::Registry;
use crate::broker::Broker;
use crate::events::EventDispatcher;
use crate::message::TaskMessage;

/// Celery's `REVOKES_MAX`: revoked ids kept.
const REVOKES_MAX: usize = 50_000;
/// Celery's `REVOKE_EXPIRES`: how long a revoked id is kept.
const REVOKE_EXPIRES: Duration = Duration::from_secs(3 * 3600);
/// Where a held message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Prefetched, waiting for an execution slot.
    Reserved,
    /// Waiting for its eta.
    Scheduled,
    /// Running.
    Active,
}

/// A held message, with what remote control shows of it.
#[derive(Debug, Clone)]
pub(crate) struct Held {
    pub(crate) task_id: String,
    pub(crate) phase: Phase,
    /// The message (shared with its execution): `Request.info()` is built from it when asked.
    pub(crate) message: Arc<TaskMessage>,
    /// The queue it came from.
    pub(crate) queue: String,
    /// When it started running (epoch seconds).
    pub(crate) time_start: Option<f64>,
    /// Cancelled by `revoke(terminate=True)` (and at the shutdown deadline).
    pub(crate) cancel: CancellationToken,
}

impl Held {
    /// Celery's `Request.info()`.
    pub(crate) fn info(&self, shared: &Shared) -> Map<String, Value> {
        let message = &self.message;
        let redelivered = message.envelope.headers.extra.get("redelivered").and_then(Value::as_bool).unwrap_or(false);
        let info = json!({
            "id": message.id(),
            "name": message.task(),
            "args": message.args(),
            "kwargs": message.kwargs(),
            "type": message.task(),
            "hostname": shared.config.hostname,
            "time_start": self.time_start,
            "acknowledged": !shared.config.acks_late,
            "delivery_info": {"exchange": "", "routing_key": self.queue, "priority": message.envelope.properties.priority, "redelivered": redelivered},
            "worker_pid": shared.pid,
        });
        match info {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    /// Its eta, as the message gives it.
    pub(crate) fn eta(&self) -> Option<&str> {
        self.message.envelope.headers.eta.as_deref()
    }

    /// Its priority.
    pub(crate) fn priority(&self) -> u8 {
        self.message.envelope.properties.priority
    }
}

/// Celery's `LimitedSet` of revoked ids: bounded, expiring, oldest first.
#[derive(Debug, Default)]
pub(crate) struct Revoked {
    order: VecDeque<(String, Instant)>,
    ids: HashMap<String, Instant>,
}

impl Revoked {
    pub(crate) fn add(&mut self, id: &str) {
        let now = Instant::now();
        if self.ids.insert(id.to_string(), now).is_none() {
            self.order.push_back((id.to_string(), now));
        }
        self.purge();
    }

    pub(crate) fn contains(&mut self, id: &str) -> bool {
        self.purge();
        self.ids.contains_key(id)
    }

    fn purge(&mut self) {
        while let Some((id, at)) = self.order.front().cloned() {
            let stale = at.elapsed() > REVOKE_EXPIRES || self.order.len() > REVOKES_MAX;
            if !stale {
                break;
            }
            self.order.pop_front();
            if self.ids.get(&id) == Some(&at) {
                self.ids.remove(&id);
            }
        }
    }

    pub(crate) fn list(&mut self) -> Vec<String> {
        self.purge();
        self.order.iter().map(|(id, _)| id.clone()).collect()
    }
}

/// State shared by the receive loop and the executions.
pub(crate) struct Shared {
    pub(crate) broker: Broker,
    /// Result writes and acknowledgements, in order, batched.
    pub(crate) settler: settle::Settler,
    pub(crate) events: EventDispatcher,
    pub(crate) registry: Arc<Registry>,
    pub(crate) config: WorkerConfig,
    /// Messages this worker holds in `unacked`, by delivery tag, with what remote control shows
    /// of them; whatever is left at shutdown is restored.
    pub(crate) held: Mutex<HashMap<String, Held>>,
    /// Revoked task ids (Celery's bounded, expiring set), shared with other workers at start.
    pub(crate) revoked: Mutex<Revoked>,
    /// Attempts finished per task name (`stats.total`).
    pub(crate) totals: Mutex<HashMap<String, u64>>,
    /// When the worker started (`stats.uptime`).
    pub(crate) started: Instant,
    /// This process's id, read once (results and remote control show it with every task).
    pub(crate) pid: u32,
    /// Execution slots (`concurrency`).
    pub(crate) slots: Arc<Semaphore>,
    /// Tasks running right now (heartbeat `active`).
    pub(crate) active: AtomicUsize,
    /// Attempts finished (heartbeat `processed`).
    pub(crate) processed: AtomicU64,
    /// Stops receiving and releases executions that have not started.
    pub(crate) shutdown: CancellationToken,
    /// Fires when the shutdown deadline passes: running handlers should stop.
    pub(crate) abort: CancellationToken,
}

impl Shared {
    pub(crate) fn hold(&self, tag: &str, held: Held) {
        if let Ok(mut map) = self.held.lock() {
            map.insert(tag.to_string(), held);
        }
    }

    pub(crate) fn is_revoked(&self, task_id: &str) -> bool {
        self.revoked.lock().is_ok_and(|mut revoked| revoked.contains(task_id))
    }

    pub(crate) fn release(&self, tag: &str) {
        if let Ok(mut held) = self.held.lock() {
            held.remove(tag);
        }
    }

    pub(crate) fn worker_fields(&self) -> Map<String, Value> {
        let fields = json!({
            "freq": self.config.heartbeat_interval.as_secs_f64(),
            "active": self.active.load(Ordering::Relaxed),
            "processed": self.processed.load(Ordering::Relaxed),
            "loadavg": loadavg(),
            "sw_ident": SW_IDENT,
            "sw_ver": env!("CARGO_PKG_VERSION"),
            "sw_sys": sw_sys(),
        });
        match fields {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }
}

fn loadavg() -> Vec<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .filter_map(|v| v.parse::<f64>().ok())
                .map(|v| (v * 100.0).round() / 100.0)
                .collect()
        })
        .filter(|v: &Vec<f64>| v.len() == 3)
        .unwrap_or_else(|| vec![0.0, 0.0, 0.0])
}

fn sw_sys() -> &'static str {
    match std::env::consts::OS {
        "linux" => "Linux",
        "windows" => "Windows",
        "macos" => "Darwin",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revoked_ids_are_kept_once_in_order() {
        let mut revoked = Revoked::default();
        revoked.add("a");
        revoked.add("b");
        revoked.add("a");
        assert!(revoked.contains("a") && revoked.contains("b") && !revoked.contains("c"));
        assert_eq!(revoked.list(), ["a", "b"]);
    }
}
