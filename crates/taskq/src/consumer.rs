//! Receiving messages: one Lua step pops a message and records it in kombu's `unacked` /
//! `unacked_index`, so a popped message is never only in this process's memory.

use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;
use tokio_util::sync::CancellationToken;

use crate::broker::{Broker, UNACKED_INDEX_KEY, UNACKED_KEY};
use crate::clock::RedisClock;
use crate::error::Result;
use crate::queue;

/// One message taken from a queue and now held in `unacked` under its delivery tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The producer-chosen tag; the field in `unacked`.
    pub delivery_tag: String,
    /// The list it was popped from (with the priority suffix, if any).
    pub key: String,
    /// The raw envelope JSON.
    pub payload: String,
}

impl Delivery {
    /// The queue name (the key without its priority suffix).
    pub fn queue(&self) -> &str {
        queue::queue_of_key(&self.key)
    }
}

/// What a receive returned for one popped payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// A message now held in `unacked`.
    Message(Delivery),
    /// A payload that was not an envelope at all; it is already in the dead-letter list.
    DeadLettered {
        /// The list it was popped from.
        key: String,
        /// Why it could not be held.
        reason: String,
    },
}

/// How long after sending a receive may still move messages (by Redis's clock): a call Redis
/// runs later moves nothing, since its client may have stopped waiting (see `lua/receive.lua`).
/// Well under the connection's response timeout, so a call that moves messages is answered to a
/// client that still waits.
pub const RECEIVE_BUDGET: Duration = Duration::from_secs(2);
/// Slack for rounding and clock steps: a receive is given up this long after its deadline.
const CLOCK_SLACK: Duration = Duration::from_millis(100);

/// What one receive script needs.
struct Prepared {
    conn: MultiplexedConnection,
    /// Epoch seconds by Redis's clock after which the script moves nothing.
    deadline: f64,
    /// By our clock, when that deadline has surely passed.
    refused_after: Instant,
}

/// Receives messages from a set of queues.
pub struct Consumer {
    broker: Broker,
    queues: Vec<String>,
    /// A connection of its own, for receiving and the blocking wait (see [`Consumer::connection`]).
    conn: Option<MultiplexedConnection>,
    /// Redis's clock against ours: a receive's deadline is given in Redis's time.
    clock: RedisClock,
    /// How long one blocking wait lasts before the lists are checked again.
    poll_interval: Duration,
    /// Start of the queue cycle, advanced on every receive for fairness between queues.
    rotate: usize,
}

impl std::fmt::Debug for Consumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer")
            .field("queues", &self.queues)
            .field("poll_interval", &self.poll_interval)
            .finish_non_exhaustive()
    }
}

impl Consumer {
    /// A consumer of `queues` (e.g. `["celery"]`).
    pub fn new(broker: Broker, queues: Vec<String>) -> Self {
        Self { broker, queues, conn: None, clock: RedisClock::new(), poll_interval: Duration::from_secs(1), rotate: 0 }
    }

    /// Sets how long one blocking wait lasts (kombu's `brpop_timeout`, 1 s).
    pub fn with_poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval.max(Duration::from_millis(10));
        self
    }

    /// Takes up to `max` messages without waiting. Each is popped and recorded in `unacked` /
    /// `unacked_index` by one Lua script, so there is no moment when a popped message exists only
    /// in this process; and a script Redis runs after [`RECEIVE_BUDGET`] moves nothing, so a call
    /// this process gave up on cannot leave messages behind in `unacked`.
    pub async fn try_receive(&mut self, max: usize) -> Result<Vec<Received>> {
        self.receive_once(max, &CancellationToken::new()).await
    }

    /// [`Consumer::try_receive`], given up when `shutdown` fires as soon as that loses nothing:
    /// before the script is sent, or once Redis would refuse to run it (its deadline passed).
    async fn receive_once(&mut self, max: usize, shutdown: &CancellationToken) -> Result<Vec<Received>> {
        if self.queues.is_empty() || max == 0 {
            return Ok(Vec::new());
        }
        self.rotate = self.rotate.wrapping_add(1);
        let prepared = tokio::select! {
            prepared = self.prepare() => prepared?,
            () = shutdown.cancelled() => return Ok(Vec::new()),
        };
        let Prepared { mut conn, deadline, refused_after } = prepared;
        let mut invocation = self.broker.scripts().receive.prepare_invoke();
        invocation.key(UNACKED_KEY).key(UNACKED_INDEX_KEY).key(&self.broker.options().dead_letter_key);
        for key in queue::consume_order(&self.queues, self.rotate) {
            invocation.key(key);
        }
        invocation.arg(max).arg(self.broker.options().dead_letter_max).arg(deadline);
        let given_up = async {
            shutdown.cancelled().await;
            tokio::time::sleep_until(refused_after.into()).await;
        };
        let rows: Vec<Vec<String>> = tokio::select! {
            // A reply that is there wins over giving up: what it moved is held, not dropped.
            biased;
            rows = invocation.invoke_async(&mut conn) => match rows {
                Ok(rows) => rows,
                Err(err) => {
                    self.conn = None;
                    return Err(err.into());
                }
            },
            () = given_up => {
                // Its reply may still come on this connection: open another next time.
                self.conn = None;
                return Ok(Vec::new());
            }
        };
        Ok(rows.into_iter().filter_map(received_from_row).collect())
    }

    /// The connection and deadline for one receive script.
    async fn prepare(&mut self) -> Result<Prepared> {
        let mut conn = self.connection().await?;
        let at = Instant::now() + RECEIVE_BUDGET;
        match self.clock.deadline(&mut conn, at).await {
            Ok(deadline) => Ok(Prepared { conn, deadline, refused_after: at + CLOCK_SLACK }),
            Err(err) => {
                self.conn = None;
                Err(err.into())
            }
        }
    }

    /// The consumer's own connection, so receiving never queues behind other traffic (result
    /// writes, events) and a blocking wait delays nothing else. Reopened after an error.
    async fn connection(&mut self) -> Result<MultiplexedConnection> {
        if let Some(conn) = &self.conn {
            return Ok(conn.clone());
        }
        let conn = self.broker.dedicated(self.poll_interval + self.broker.options().response_timeout).await?;
        self.conn = Some(conn.clone());
        // Another connection may be another Redis (restarted, failed over): measure its clock again.
        self.clock.forget();
        Ok(conn)
    }

    /// Takes up to `max` messages, waiting until at least one arrives or `shutdown` fires (then
    /// returns an empty list).
    ///
    /// While the lists are empty it blocks in `BLMOVE q q RIGHT RIGHT` on the first queue's main
    /// list: a no-op rotation that returns as soon as that list is non-empty and never takes a
    /// message, so a wait cut short by shutdown or a dropped connection loses nothing. Messages on
    /// other lists (priority sub-queues, further queues) are found when the wait times out, within
    /// the poll interval.
    pub async fn receive(&mut self, max: usize, shutdown: &CancellationToken) -> Result<Vec<Received>> {
        loop {
            if shutdown.is_cancelled() {
                return Ok(Vec::new());
            }
            let got = self.receive_once(max, shutdown).await?;
            if !got.is_empty() {
                return Ok(got);
            }
            tokio::select! {
                () = shutdown.cancelled() => return Ok(Vec::new()),
                waited = self.wait() => waited?,
            }
        }
    }

    async fn wait(&mut self) -> Result<()> {
        let Some(first) = self.queues.first().cloned() else {
            return Ok(());
        };
        let mut waiter = self.connection().await?;
        let result: redis::RedisResult<Option<String>> = redis::cmd("BLMOVE")
            .arg(&first)
            .arg(&first)
            .arg("RIGHT")
            .arg("RIGHT")
            .arg(self.poll_interval.as_secs_f64())
            .query_async(&mut waiter)
            .await;
        if let Err(err) = result {
            self.conn = None;
            return Err(err.into());
        }
        Ok(())
    }

    /// The queues this consumer reads.
    pub fn queues(&self) -> &[String] {
        &self.queues
    }

    /// The broker this consumer reads from.
    pub fn broker(&self) -> &Broker {
        &self.broker
    }
}

fn received_from_row(row: Vec<String>) -> Option<Received> {
    let mut row = row.into_iter();
    let kind = row.next()?;
    let key = row.next()?;
    let third = row.next()?;
    let payload = row.next()?;
    Some(match kind.as_str() {
        "ok" => Received::Message(Delivery { delivery_tag: third, key, payload }),
        _ => {
            tracing::warn!(key, reason = third, "payload moved to the dead-letter list");
            Received::DeadLettered { key, reason: third }
        }
    })
}
