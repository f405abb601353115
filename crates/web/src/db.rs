//! A service's Redis connection, with a deadline on every call so no request hangs.

use std::time::Duration;

use crate::error::{WebError, WebResult};
use redis::aio::ConnectionManager;

/// A connection whose calls fail with 503 after `timeout`.
#[derive(Clone)]
pub struct Db {
    conn: ConnectionManager,
    timeout: Duration,
}

impl Db {
    /// Calls on `conn` that give up after `timeout`.
    pub fn new(conn: ConnectionManager, timeout: Duration) -> Self {
        Self { conn, timeout }
    }

    /// Runs a Redis call with the deadline.
    pub async fn call<T>(&self, work: impl Future<Output = Result<T, redis::RedisError>>) -> WebResult<T> {
        match tokio::time::timeout(self.timeout, work).await {
            Ok(result) => result.map_err(WebError::from),
            Err(_) => Err(WebError::Unavailable(format!("no answer within {:?}", self.timeout))),
        }
    }

    /// How long each call may take.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// A handle on the connection (cheap: it is shared).
    pub fn conn(&self) -> ConnectionManager {
        self.conn.clone()
    }
}
