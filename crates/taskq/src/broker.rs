//! The Redis side of kombu's virtual transport: connections, publishing, and the ack emulation
//! (`unacked` hash, `unacked_index` sorted set) with its restore mechanics.
//!
//! [`Broker`] owns one multiplexed connection (with reconnects and a response timeout, so no call
//! hangs). [`Producer`](crate::Producer) publishes, [`Consumer`](crate::Consumer) receives;
//! acknowledging, rejecting, dead-lettering and restoring are operations on the broker because any
//! holder of a delivery tag may do them.

use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use redis::{AsyncConnectionConfig, Script};
use serde_json::{Value, json};

use crate::clock::{RedisClock, with_deadline_check};
use crate::error::{Error, Result};
use crate::queue::{self, SEP};
use crate::{pyjson, time};

/// Names and limits of the keys kombu's Redis transport shares between all consumers.
#[derive(Debug, Clone)]
pub struct BrokerOptions {
    /// When an unacknowledged message is given to another consumer (kombu's `visibility_timeout`).
    pub visibility_timeout: Duration,
    /// Where messages that cannot be run are kept for inspection (ours: kombu has none).
    pub dead_letter_key: String,
    /// How many dead letters are kept; older ones are trimmed.
    pub dead_letter_max: usize,
    /// How long any Redis call may take before it fails instead of hanging.
    pub response_timeout: Duration,
    /// How long connecting may take.
    pub connect_timeout: Duration,
}

impl Default for BrokerOptions {
    fn default() -> Self {
        Self {
            visibility_timeout: Duration::from_secs(3600),
            dead_letter_key: DEFAULT_DEAD_LETTER_KEY.into(),
            dead_letter_max: 10_000,
            response_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(2),
        }
    }
}

/// The dead-letter list: `LPUSH`ed JSON records `{"reason", "queue", "payload", "at"}`, newest first.
pub const DEFAULT_DEAD_LETTER_KEY: &str = "stackdesk:dead_letter";
/// kombu's hash of in-flight messages: delivery tag → `[envelope, exchange, routing_key]`.
pub const UNACKED_KEY: &str = "unacked";
/// kombu's sorted set of in-flight delivery tags, scored by delivery time.
pub const UNACKED_INDEX_KEY: &str = "unacked_index";
/// kombu's mutex serialising `restore_visible` scans across consumers.
pub const UNACKED_MUTEX_KEY: &str = "unacked_mutex";
/// How long our hold of the mutex lasts at most, in milliseconds. kombu's `unacked_mutex_expire`
/// is 300 s, so a consumer killed while holding it stops every restore for five minutes (a test
/// met it: SIGKILL during the dead worker's 200 ms restore scan). The mutex only spares duplicate
/// scans (each restore step checks that its message is still unacknowledged), so ours lapses
/// after 10 s, far more than a scan takes.
const UNACKED_MUTEX_EXPIRE_MS: u64 = 10_000;

/// The Lua scripts, loaded into Redis when the broker connects and called by SHA.
pub(crate) struct Scripts {
    pub(crate) receive: Script,
    dead_letter: Script,
    restore: Script,
    pub(crate) store_result: Script,
    pub(crate) publish_and_ack: Script,
    release_mutex: Script,
    take_mutex: Script,
}

impl Scripts {
    fn new() -> Self {
        Self {
            receive: Script::new(&with_deadline_check(include_str!("lua/receive.lua"))),
            dead_letter: Script::new(include_str!("lua/dead_letter.lua")),
            restore: Script::new(include_str!("lua/restore.lua")),
            store_result: Script::new(include_str!("lua/store_result.lua")),
            publish_and_ack: Script::new(include_str!("lua/publish_and_ack.lua")),
            release_mutex: Script::new(include_str!("lua/release_mutex.lua")),
            take_mutex: Script::new(&with_deadline_check(include_str!("lua/take_mutex.lua"))),
        }
    }

    fn all(&self) -> [&Script; 7] {
        [
            &self.take_mutex,
            &self.receive,
            &self.dead_letter,
            &self.restore,
            &self.store_result,
            &self.publish_and_ack,
            &self.release_mutex,
        ]
    }
}

/// A handle on the Redis broker. Cheap to clone: clones share the connection.
#[derive(Clone)]
pub struct Broker {
    /// Kept to open dedicated connections (blocking waits, pub/sub).
    client: redis::Client,
    /// The shared multiplexed connection; reconnects by itself after Redis restarts.
    conn: ConnectionManager,
    /// The database number, part of fanout channel names (`/0.celeryev/...`).
    db: i64,
    options: Arc<BrokerOptions>,
    scripts: Arc<Scripts>,
    /// Redis's clock, for deadlines of steps that must not act once we stopped waiting.
    clock: RedisClock,
}

impl std::fmt::Debug for Broker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Broker").field("db", &self.db).field("options", &self.options).finish_non_exhaustive()
    }
}

impl Broker {
    /// Connects to the Redis at `url` (`redis://[:password@]host:port/db`).
    pub async fn connect(url: &str, options: BrokerOptions) -> Result<Self> {
        let client = redis::Client::open(url)?;
        let db = client.get_connection_info().redis_settings().db();
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(options.response_timeout))
            .set_connection_timeout(Some(options.connect_timeout))
            .set_number_of_retries(2);
        let conn = tokio::time::timeout(
            options.connect_timeout * 3,
            ConnectionManager::new_with_config(client.clone(), config),
        )
        .await
        .map_err(|_| Error::Config(format!("no answer from Redis within {:?}", options.connect_timeout * 3)))??;
        let broker = Self {
            client,
            conn,
            db,
            options: Arc::new(options),
            scripts: Arc::new(Scripts::new()),
            clock: RedisClock::new(),
        };
        broker.load_scripts().await?;
        Ok(broker)
    }

    /// Loads every Lua script into Redis (again after a Redis restart flushed them), so pipelined
    /// calls by SHA find them.
    pub(crate) async fn load_scripts(&self) -> Result<()> {
        let mut pipe = redis::pipe();
        for script in self.scripts.all() {
            pipe.load_script(script).ignore();
        }
        let mut conn = self.conn.clone();
        pipe.query_async::<()>(&mut conn).await?;
        Ok(())
    }

    pub(crate) fn scripts(&self) -> &Scripts {
        &self.scripts
    }

    /// The shared connection, for callers that add their own commands (e.g. the API's atomic
    /// store-and-enqueue).
    pub fn connection(&self) -> ConnectionManager {
        self.conn.clone()
    }

    /// The client, for dedicated connections (pub/sub, blocking calls).
    pub fn client(&self) -> &redis::Client {
        &self.client
    }

    /// The Redis database number.
    pub fn db(&self) -> i64 {
        self.db
    }

    /// The options this broker was opened with.
    pub fn options(&self) -> &BrokerOptions {
        &self.options
    }

    /// Opens a dedicated multiplexed connection whose responses may take `response_timeout`.
    pub(crate) async fn dedicated(&self, response_timeout: Duration) -> Result<MultiplexedConnection> {
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.options.connect_timeout))
            .set_response_timeout(Some(response_timeout));
        Ok(self.client.get_multiplexed_async_connection_with_config(&config).await?)
    }

    /// Acknowledges a delivery: removes it from `unacked` and `unacked_index` (kombu's `QoS.ack`).
    pub async fn ack(&self, delivery_tag: &str) -> Result<()> {
        let mut conn = self.conn.clone();
        redis::pipe()
            .atomic()
            .zrem(UNACKED_INDEX_KEY, delivery_tag)
            .ignore()
            .hdel(UNACKED_KEY, delivery_tag)
            .ignore()
            .query_async::<()>(&mut conn)
            .await?;
        Ok(())
    }

    /// Rejects a delivery. With `requeue` it goes back to the *end* of its queue with the
    /// `redelivered` flag (kombu's `reject(requeue=True)`); without, it is dropped.
    pub async fn reject(&self, delivery_tag: &str, requeue: bool) -> Result<bool> {
        if requeue {
            self.restore_tag(delivery_tag, Side::Last).await
        } else {
            self.ack(delivery_tag).await.map(|()| true)
        }
    }

    /// Puts an unacknowledged message back at the *front* of its queue, flagged `redelivered`, so
    /// it is the next one served (kombu's `restore_at_shutdown`). Returns false when the tag was no
    /// longer unacknowledged.
    pub async fn restore(&self, delivery_tag: &str) -> Result<bool> {
        self.restore_tag(delivery_tag, Side::Next).await
    }

    async fn restore_tag(&self, delivery_tag: &str, side: Side) -> Result<bool> {
        let mut conn = self.conn.clone();
        let stored: Option<String> =
            redis::cmd("HGET").arg(UNACKED_KEY).arg(delivery_tag).query_async(&mut conn).await?;
        let Some(stored) = stored else {
            return Ok(false);
        };
        let (target, payload) = match restorable(&stored) {
            Some(found) => found,
            None => {
                // Not something kombu could restore either: keep it for a human, do not loop on it.
                let record = dead_letter_record("unacked entry is not [envelope, exchange, routing_key]", "", &stored);
                self.dead_letter_tag(delivery_tag, &record).await?;
                return Ok(false);
            }
        };
        let target = self.route(&target.0, &target.1, target.2).await?;
        let restored: i64 = self
            .scripts
            .restore
            .key(UNACKED_KEY)
            .key(UNACKED_INDEX_KEY)
            .key(target)
            .arg(delivery_tag)
            .arg(payload)
            .arg(side.flag())
            .invoke_async(&mut conn)
            .await?;
        Ok(restored == 1)
    }

    /// The list a message with this exchange / routing key / priority goes back to: the routing
    /// key itself on the anonymous exchange, else the queue bound to it in `_kombu.binding.<ex>`.
    async fn route(&self, exchange: &str, routing_key: &str, priority: u8) -> Result<String> {
        let mut queue_name = routing_key.to_string();
        if !exchange.is_empty() {
            let mut conn = self.conn.clone();
            let members: Vec<String> =
                redis::cmd("SMEMBERS").arg(format!("_kombu.binding.{exchange}")).query_async(&mut conn).await?;
            if let Some(queue) = members.iter().find_map(|m| {
                let mut parts = m.splitn(3, SEP);
                let (rk, _pattern, queue) = (parts.next()?, parts.next()?, parts.next()?);
                (rk == routing_key || rk.is_empty()).then(|| queue.to_string())
            }) {
                queue_name = queue;
            }
        }
        Ok(queue::key_for_priority(&queue_name, priority))
    }

    /// kombu's `restore_visible`: under `unacked_mutex`, puts back every message delivered more
    /// than `visibility_timeout` ago (RPUSH, flagged `redelivered`). Returns how many were restored;
    /// 0 when another consumer holds the mutex.
    pub async fn restore_visible(&self) -> Result<usize> {
        let ceil = time::epoch_now() - self.options.visibility_timeout.as_secs_f64();
        Ok(match self.restore_under_mutex(Some(ceil)).await? {
            Restored::Moved(n) => n,
            Restored::Busy => 0,
        })
    }

    /// Puts back *every* unacknowledged message now, whatever its age. Only for a caller that
    /// knows no live consumer holds messages (a supervisor whose only worker just died): a live
    /// consumer's in-flight task would otherwise run twice.
    pub async fn restore_all(&self) -> Result<Restored> {
        self.restore_under_mutex(None).await
    }

    async fn restore_under_mutex(&self, ceil: Option<f64>) -> Result<Restored> {
        let mut conn = self.conn.clone();
        let token = uuid::Uuid::new_v4().to_string();
        // Taken only while we still wait for the answer: a late run would hold it for nobody.
        let refuse_after = std::time::Instant::now() + self.options.response_timeout.mul_f64(0.8);
        let deadline = self.clock.deadline(&mut conn, refuse_after).await?;
        let taken: i64 = self
            .scripts
            .take_mutex
            .key(UNACKED_MUTEX_KEY)
            .arg(&token)
            .arg(UNACKED_MUTEX_EXPIRE_MS)
            .arg(deadline)
            .invoke_async(&mut conn)
            .await?;
        match MutexTaken::from_script(taken)? {
            MutexTaken::Taken => {}
            MutexTaken::HeldByAnother => return Ok(Restored::Busy),
            MutexTaken::TooLate => return Err(Error::TooLate("taking the unacked mutex")),
        }
        let result = async {
            let tags: Vec<String> = match ceil {
                Some(ceil) => {
                    redis::cmd("ZRANGE")
                        .arg(UNACKED_INDEX_KEY)
                        .arg(ceil)
                        .arg(0)
                        .arg("BYSCORE")
                        .arg("REV")
                        .query_async(&mut conn)
                        .await?
                }
                None => redis::cmd("HKEYS").arg(UNACKED_KEY).query_async(&mut conn).await?,
            };
            let mut restored = 0;
            for tag in tags {
                if self.restore_tag(&tag, Side::Next).await? {
                    restored += 1;
                }
            }
            Ok::<_, Error>(restored)
        }
        .await;
        let _: i64 = self.scripts.release_mutex.key(UNACKED_MUTEX_KEY).arg(&token).invoke_async(&mut conn).await?;
        if let Ok(n) = result
            && n > 0
        {
            tracing::info!(restored = n, all = ceil.is_none(), "restored unacknowledged messages");
        }
        result.map(Restored::Moved)
    }

    /// Moves an unacknowledged message to the dead-letter list with `reason`.
    pub async fn dead_letter(&self, delivery_tag: &str, queue: &str, payload: &str, reason: &str) -> Result<()> {
        tracing::warn!(delivery_tag, queue, reason, "message moved to the dead-letter list");
        self.dead_letter_tag(delivery_tag, &dead_letter_record(reason, queue, payload)).await
    }

    async fn dead_letter_tag(&self, delivery_tag: &str, record: &str) -> Result<()> {
        let mut conn = self.conn.clone();
        let _: i64 = self
            .scripts
            .dead_letter
            .key(UNACKED_KEY)
            .key(UNACKED_INDEX_KEY)
            .key(&self.options.dead_letter_key)
            .arg(delivery_tag)
            .arg(record)
            .arg(self.options.dead_letter_max)
            .invoke_async(&mut conn)
            .await?;
        Ok(())
    }

    /// The dead-letter records, newest first.
    pub async fn dead_letters(&self, limit: usize) -> Result<Vec<Value>> {
        let mut conn = self.conn.clone();
        let raw: Vec<String> = redis::cmd("LRANGE")
            .arg(&self.options.dead_letter_key)
            .arg(0)
            .arg(limit as i64 - 1)
            .query_async(&mut conn)
            .await?;
        Ok(raw.iter().map(|r| serde_json::from_str(r).unwrap_or_else(|_| Value::String(r.clone()))).collect())
    }
}

/// What a restore of every unacknowledged message did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restored {
    /// It held the unacked mutex and put this many messages back.
    Moved(usize),
    /// Another restore (ours or a Celery worker's `restore_visible`) held the mutex: nothing was
    /// done; try again shortly.
    Busy,
}

/// What `lua/take_mutex.lua` answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MutexTaken {
    Taken,
    HeldByAnother,
    /// Redis ran it after its deadline: nothing was taken.
    TooLate,
}

impl MutexTaken {
    fn from_script(answer: i64) -> Result<Self> {
        match answer {
            1 => Ok(Self::Taken),
            0 => Ok(Self::HeldByAnother),
            -1 => Ok(Self::TooLate),
            other => Err(Error::Config(format!("take_mutex.lua answered {other}, not 1, 0 or -1"))),
        }
    }
}

/// Which end of the queue a restored message goes to.
#[derive(Debug, Clone, Copy)]
enum Side {
    /// RPUSH: BRPOP serves it next (restore after a crash or at shutdown).
    Next,
    /// LPUSH: served after everything already waiting (reject with requeue).
    Last,
}

impl Side {
    fn flag(self) -> &'static str {
        match self {
            Side::Next => "R",
            Side::Last => "L",
        }
    }
}

/// Parses an `unacked` entry and returns ((exchange, routing_key, priority), payload with
/// `headers.redelivered` and `properties.delivery_info.redelivered` set), as kombu's
/// `_do_restore_message` writes it.
fn restorable(stored: &str) -> Option<((String, String, u8), String)> {
    let Value::Array(mut parts) = serde_json::from_str::<Value>(stored).ok()? else {
        return None;
    };
    if parts.len() != 3 {
        return None;
    }
    let routing_key = parts.pop()?.as_str()?.to_string();
    let exchange = parts.pop()?.as_str()?.to_string();
    let mut envelope = parts.pop()?;
    let priority = envelope.pointer("/properties/priority").and_then(Value::as_u64).unwrap_or(0).min(9) as u8;
    if let Some(headers) = envelope.get_mut("headers").and_then(Value::as_object_mut) {
        headers.insert("redelivered".into(), Value::Bool(true));
    }
    if let Some(info) = envelope.pointer_mut("/properties/delivery_info").and_then(Value::as_object_mut) {
        info.insert("redelivered".into(), Value::Bool(true));
    }
    Some(((exchange, routing_key, priority), pyjson::to_string(&envelope).ok()?))
}

fn dead_letter_record(reason: &str, queue: &str, payload: &str) -> String {
    let record = json!({"reason": reason, "queue": queue, "payload": payload, "at": time::epoch_now()});
    pyjson::to_string(&record).unwrap_or_default()
}
