//! Deadlines by Redis's own clock, for scripts that must not act once their caller gave up.
//!
//! A client that times out does not stop Redis: a script sent before a pause (`SIGSTOP`, a long
//! `BGSAVE` fork, a stalled VM) still runs when Redis resumes, and what it moves or stores then
//! has nobody waiting for it. So such a script gets a deadline in epoch seconds by Redis's clock
//! and, as its first step, compares it with `TIME`: past it, it does nothing.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use redis::aio::ConnectionLike;

/// How long a measurement of the offset stays in use.
const REMEASURE: Duration = Duration::from_secs(60);
/// A measurement slower than this is used once, not kept.
const SLOW: Duration = Duration::from_millis(100);

/// A Lua script's text with `redis_now()` and `past_deadline(d)` defined before it
/// (`lua/deadline.lua`): every script that must do nothing when Redis runs it too late checks its
/// deadline the same way.
pub fn with_deadline_check(script: &str) -> String {
    format!("{}\n{script}", include_str!("lua/deadline.lua"))
}

/// Redis's clock minus ours, measured on demand and kept for a minute.
#[derive(Debug, Clone, Default)]
pub struct RedisClock {
    offset: Arc<Mutex<Option<(f64, Instant)>>>,
}

impl RedisClock {
    /// A clock that measures at its first use.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets the offset (the connection now reaches another Redis, perhaps).
    pub fn forget(&self) {
        *self.offset.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// The instant `at` (by our clock) in epoch seconds by Redis's clock, never later than it
    /// really is there: the offset is the smallest the measurement allows (as if Redis read its
    /// clock when its answer arrived), so by `at` a script given this deadline surely refuses.
    pub async fn deadline(&self, conn: &mut impl ConnectionLike, at: Instant) -> redis::RedisResult<f64> {
        let offset = self.offset(conn).await?;
        let now = Instant::now();
        let ahead = at.saturating_duration_since(now).as_secs_f64() - now.saturating_duration_since(at).as_secs_f64();
        Ok(crate::time::epoch_now() + offset + ahead)
    }

    async fn offset(&self, conn: &mut impl ConnectionLike) -> redis::RedisResult<f64> {
        let kept = *self.offset.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((seconds, _)) = kept.filter(|(_, measured)| measured.elapsed() < REMEASURE) {
            return Ok(seconds);
        }
        let asked = Instant::now();
        let (secs, micros): (u64, u64) = redis::cmd("TIME").query_async(conn).await?;
        let seconds = secs as f64 + micros as f64 / 1e6 - crate::time::epoch_now();
        if asked.elapsed() < SLOW {
            *self.offset.lock().unwrap_or_else(PoisonError::into_inner) = Some((seconds, Instant::now()));
        }
        Ok(seconds)
    }
}
