//! `/events`: the live feed as Server-Sent Events.
//!
//! | event | data |
//! |---|---|
//! | `task` | the task's [`TaskView`](crate::model::TaskView) after each state change |
//! | `product` | a product just created (announced by our API) |
//! | `worker` | [`WorkerEvent`](crate::model::WorkerEvent): online, heartbeat, offline |
//! | `queue` | [`QueueDepth`](crate::model::QueueDepth), when it changes (sampled every second) |
//! | `lagged` | `{"missed": n}`: this stream fell behind and lost events; reload |

use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::routing::get;
use futures_util::Stream;
use tokio::sync::broadcast;

use web::{Detail, WebError};

use crate::model::{LiveEvent, SseMessage};
use crate::state::Monitor;

/// The routes of this resource.
pub fn router() -> Router<Monitor> {
    Router::new().route("/events", get(events))
}

/// Server-Sent Events of task state changes, product creations, worker online / heartbeat /
/// offline and queue depth.
#[utoipa::path(
    get, path = "/events", tag = "live",
    responses((status = 200, description = "An endless text/event-stream: events `task`, `product`, `worker`, `queue`, `lagged`", content_type = "text/event-stream", body = SseMessage),
        (status = 503, description = "Too many live streams are open", body = Detail))
)]
pub async fn events(
    State(monitor): State<Monitor>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, WebError> {
    let subscription = monitor.feed().subscribe().map_err(|full| WebError::AtCapacity(full.to_string()))?;
    let shutdown = monitor.shutdown().clone();
    let stream = futures_util::stream::unfold((subscription, shutdown), |(mut subscription, shutdown)| async move {
        let next = tokio::select! {
            () = shutdown.cancelled() => return None,
            next = subscription.events.recv() => next,
        };
        let event = match next {
            Ok(live) => live,
            Err(broadcast::error::RecvError::Lagged(missed)) => LiveEvent::Lagged { missed }.into(),
            Err(broadcast::error::RecvError::Closed) => return None,
        };
        let sse = SseEvent::default().event(event.kind().as_str()).data(event.data());
        Some((Ok(sse), (subscription, shutdown)))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
