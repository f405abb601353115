//! The live feed behind `GET /events`: one broadcast of [`LiveEvent`]s, fed by the recorder and
//! read by every open stream.

use std::sync::Arc;

use tokio::sync::broadcast;

use crate::model::LiveEvent;

/// How many events a slow subscriber may fall behind before it is told it missed some.
pub const CAPACITY: usize = 4096;

/// The broadcast. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Feed {
    tx: broadcast::Sender<Arc<LiveEvent>>,
}

impl Default for Feed {
    fn default() -> Self {
        Self { tx: broadcast::channel(CAPACITY).0 }
    }
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

    /// A new subscription: every event from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<LiveEvent>> {
        self.tx.subscribe()
    }
}
