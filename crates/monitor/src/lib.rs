//! # stackdesk-monitor
//!
//! The task monitor — Flower's role: task history, a live feed, the workers, the queue and the
//! controls (revoke, retry, purge), for any Celery 5 system on Redis, whatever runs as its API
//! and its workers (ours, Python, a learner's own). It follows the protocol's own artifacts:
//! Celery's event fanout, the queue itself (tasks sent by a producer that records nothing), and
//! the stored results. One monitor runs per stack — in the desktop app's process, under
//! `stackdesk up`, or alone as `stackdesk monitor` — so the history has one recorder.
//!
//! # Layout
//! Bottom to top; each module uses only those above it in this list.
//! - [`options`]: [`MonitorOptions`]. [`model`]: what it answers and streams (no Redis).
//! - [`history`]: the history in Redis (events applied by `lua/history_event.lua`, queued
//!   messages noticed by `lua/notice.lua`, views merged with results). [`glance`]: what Redis
//!   holds now.
//! - [`feed`]: the live feed's broadcast. [`state`]: what handlers and the recorder share.
//! - [`actions`]: revoke, retry (`lua/retry.lua`), purge, workers.
//! - [`recorder`]: follows events, watches the queue, relays product announcements.
//! - [`http`]: one module per resource, each with its `router()`, and the OpenAPI document.
//! - here: [`router`] merges them (tests call it with `oneshot`); [`start`] serves it on a
//!   listener and connects to Redis in the background (answering 503 until then).

pub mod actions;
pub mod feed;
pub mod glance;
pub mod history;
pub mod http;
pub mod model;
pub mod options;
pub mod recorder;
pub mod state;

use std::time::Duration;

use axum::Router;
use axum::middleware;
use taskq::{Broker, BrokerOptions};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi as _;
use utoipa_swagger_ui::SwaggerUi;

pub use options::MonitorOptions;
pub use state::Monitor;

/// The whole monitor.
pub fn router(monitor: Monitor) -> Router {
    let origins = &monitor.options().cors_origins;
    let cors = web::layers::cors(origins, &[axum::http::header::LOCATION]);
    let guard = web::layers::Guard::new(origins);
    let document = http::openapi::MonitorDoc::openapi();
    let slashes = web::layers::Slashes::new(document.paths.paths.keys().map(String::as_str));
    let timed = Router::new()
        .merge(http::tasks::router())
        .merge(http::queue::router())
        .merge(http::workers::router())
        .merge(http::health::router())
        .merge(http::redis::router())
        .route_layer(middleware::from_fn_with_state(monitor.clone(), web::layers::request_timeout::<Monitor>));
    Router::new()
        .merge(timed)
        // Outside the request timeout: a stream lasts.
        .merge(http::events::router())
        .merge(SwaggerUi::new("/docs").url("/openapi.json", document))
        .fallback(move |request| slashes.fallback(request))
        .method_not_allowed_fallback(web::layers::method_not_allowed)
        .layer(cors)
        .layer(middleware::from_fn_with_state(guard, web::layers::same_site_only))
        .layer(TraceLayer::new_for_http())
        .with_state(monitor)
}

/// Starts what follows Redis for `monitor` on `broker`, owned by `tracker`: the event recorder,
/// the queue watcher and the product relay.
pub fn spawn_recorder(monitor: &Monitor, broker: &Broker, tracker: &TaskTracker) {
    monitor.attach(broker.clone());
    let Ok(redis) = monitor.redis().cloned() else { return };
    // Each ends at once at shutdown, whatever Redis call it waits on (a paused Redis answers none).
    let until_shutdown = |work: std::pin::Pin<Box<dyn Future<Output = ()> + Send>>| {
        let stop = monitor.shutdown().clone();
        async move {
            tokio::select! {
                () = stop.cancelled() => {}
                () = work => {}
            }
        }
    };
    tracker.spawn(until_shutdown(Box::pin(recorder::record(monitor.clone(), redis.clone()))));
    tracker.spawn(until_shutdown(Box::pin(recorder::watch_queue(monitor.clone(), redis.clone()))));
    tracker.spawn(until_shutdown(Box::pin(recorder::relay_products(monitor.clone(), redis))));
}

/// How long the monitor waits between attempts to reach Redis: at first, and at most.
const CONNECT_RETRY: [Duration; 2] = [Duration::from_millis(100), Duration::from_secs(2)];

/// Serves the monitor on `listener` until `shutdown`, and connects to the Redis at `redis_url`
/// in the background — retrying until it answers, so the monitor can start before Redis or while
/// it is down — then starts the recorder. Everything it starts is owned by `tracker`.
pub fn start(
    listener: TcpListener,
    redis_url: String,
    options: MonitorOptions,
    tracker: &TaskTracker,
    shutdown: CancellationToken,
) -> Monitor {
    let monitor = Monitor::new(options, shutdown.clone());
    let app = router(monitor.clone());
    tracker.spawn(async move {
        let serving = axum::serve(listener, app).with_graceful_shutdown(shutdown.cancelled_owned());
        if let Err(err) = serving.await {
            tracing::error!(%err, "the monitor stopped serving");
        }
    });
    let connecting = monitor.clone();
    let owner = tracker.clone();
    tracker.spawn(async move {
        let mut warned = false;
        let mut pause = CONNECT_RETRY[0];
        loop {
            let broker = tokio::select! {
                () = connecting.shutdown().cancelled() => return,
                broker = Broker::connect(&redis_url, BrokerOptions::default()) => broker,
            };
            match broker {
                Ok(broker) => {
                    tracing::info!("the monitor follows Redis");
                    spawn_recorder(&connecting, &broker, &owner);
                    return;
                }
                Err(err) => {
                    if !warned {
                        tracing::warn!(%err, "the monitor waits for Redis");
                        warned = true;
                    }
                    tokio::select! {
                        () = connecting.shutdown().cancelled() => return,
                        () = tokio::time::sleep(pause) => {}
                    }
                    pause = (pause * 2).min(CONNECT_RETRY[1]);
                }
            }
        }
    });
    monitor
}
