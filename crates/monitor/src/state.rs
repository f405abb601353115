//! What the handlers and the recorder share: the Redis connection once it is made, the live feed,
//! the options, the shutdown signal.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use taskq::Broker;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use web::{WebError, WebResult};

use crate::feed::Feed;
use crate::options::MonitorOptions;
use web::Db;

/// The Redis side, once connected.
#[derive(Clone)]
pub struct Connected {
    /// For remote control (revoke, stats) and event subscriptions.
    pub broker: Broker,
    /// Reads and writes with a deadline.
    pub db: Db,
}

/// The monitor's shared state. Cheap to clone.
#[derive(Clone)]
pub struct Monitor {
    inner: Arc<Inner>,
}

struct Inner {
    /// Set once Redis answers: the monitor comes up before Redis does (or while it is down) and
    /// answers 503 until then; the connection reconnects by itself afterwards.
    redis: OnceLock<Connected>,
    feed: Feed,
    /// Whether the recorder follows Celery's event fanout right now (nothing sent meanwhile is
    /// missed).
    following: watch::Sender<bool>,
    options: MonitorOptions,
    /// Ends live streams so that graceful shutdown does not wait on them, and stops the recorder.
    shutdown: CancellationToken,
}

impl Monitor {
    /// A monitor not connected yet.
    pub fn new(options: MonitorOptions, shutdown: CancellationToken) -> Self {
        let following = watch::Sender::new(false);
        Self { inner: Arc::new(Inner { redis: OnceLock::new(), feed: Feed::default(), following, options, shutdown }) }
    }

    /// A monitor over `broker`'s connection.
    pub fn connected(broker: &Broker, options: MonitorOptions, shutdown: CancellationToken) -> Self {
        let monitor = Self::new(options, shutdown);
        monitor.attach(broker.clone());
        monitor
    }

    /// Uses `broker` from now on (the first one given stays).
    pub fn attach(&self, broker: Broker) {
        let db = Db::new(broker.connection(), self.inner.options.redis_timeout);
        let _ = self.inner.redis.set(Connected { broker, db });
    }

    /// The Redis side, or 503 while it is not connected yet.
    pub fn redis(&self) -> WebResult<&Connected> {
        self.inner.redis.get().ok_or_else(|| WebError::Unavailable("the monitor is not connected to Redis yet".into()))
    }

    /// The live feed.
    pub fn feed(&self) -> &Feed {
        &self.inner.feed
    }

    /// Says whether the recorder follows the event fanout now (the recorder's to call).
    pub fn set_following(&self, following: bool) {
        self.inner.following.send_replace(following);
    }

    /// Whether the recorder follows Celery's event fanout, now and on every change: a supervisor
    /// starts the stack's producers and workers once it does, so no event of theirs is missed.
    pub fn following(&self) -> watch::Receiver<bool> {
        self.inner.following.subscribe()
    }

    /// Waits until the recorder follows Celery's event fanout, at most `deadline`; whether it
    /// does.
    pub async fn until_following(&self, deadline: Duration) -> bool {
        let mut following = self.inner.following.subscribe();
        tokio::time::timeout(deadline, following.wait_for(|on| *on)).await.is_ok_and(|r| r.is_ok())
    }

    /// The options it was built with.
    pub fn options(&self) -> &MonitorOptions {
        &self.inner.options
    }

    /// Fires at shutdown.
    pub fn shutdown(&self) -> &CancellationToken {
        &self.inner.shutdown
    }
}

impl web::layers::RequestTimeout for Monitor {
    fn request_timeout(&self) -> Duration {
        self.inner.options.request_timeout
    }
}
