//! The live feed behind `GET /events`: one broadcast of [`LiveEvent`]s, fed by the recorder and
//! read by every open stream.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError, broadcast};

use crate::model::LiveEvent;

/// How many events a slow subscriber may fall behind before it is told it missed some (and
/// reloads): a few seconds of a busy stack. The feed keeps no more than this many events.
pub const CAPACITY: usize = 512;
/// How many streams may be open at once: each costs at most its connection's write buffer (the
/// server stops taking events for a client that does not read), so this bounds them all.
pub const MAX_SUBSCRIBERS: usize = 64;

/// Every stream the feed can serve is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{MAX_SUBSCRIBERS} live streams are open already; close one (a browser tab) and try again")]
pub struct Full;

/// The broadcast. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Feed {
    tx: broadcast::Sender<Arc<LiveEvent>>,
    /// One permit per open stream: taking one is what makes the limit exact under a rush.
    places: Arc<Semaphore>,
}

impl Default for Feed {
    fn default() -> Self {
        Self { tx: broadcast::channel(CAPACITY).0, places: Arc::new(Semaphore::new(MAX_SUBSCRIBERS)) }
    }
}

/// An open stream's subscription; its place is given back when it is dropped.
#[derive(Debug)]
pub struct Subscription {
    /// Every event since it was opened.
    pub events: broadcast::Receiver<Arc<LiveEvent>>,
    _place: OwnedSemaphorePermit,
}

impl Feed {
    /// Sends an event to every subscriber (none is fine).
    pub fn send(&self, event: LiveEvent) {
        let _ = self.tx.send(Arc::new(event));
    }

    /// Whether anyone listens (so that events nobody reads are not built).
    pub fn has_subscribers(&self) -> bool {
        self.tx.receiver_count() > 0
    }

    /// A new subscription: every event from now on; refused when [`MAX_SUBSCRIBERS`] are open.
    pub fn subscribe(&self) -> Result<Subscription, Full> {
        let place = self.places.clone().try_acquire_owned().map_err(|e| match e {
            TryAcquireError::NoPermits | TryAcquireError::Closed => Full,
        })?;
        Ok(Subscription { events: self.tx.subscribe(), _place: place })
    }
}
