//! # stackdesk-api
//!
//! The products API of the original system, in axum: `POST /products/` validates, stores the
//! product and queues `send_tg_notification(product)` in one atomic Redis step, and answers 201 at
//! once. Errors have FastAPI's shapes; `/docs` serves Swagger UI from bundled assets and
//! `/openapi.json` is generated from the handlers.
//!
//! # Layout
//! - [`router`] builds the app (tests call it with `oneshot`, no socket); [`serve`] runs it on a
//!   listener until a cancellation token fires; [`spawn_background`] starts the event recorder and
//!   the queue sampler.
//! - [`products`], [`tasks`], [`control`] (revoke, retry, purge, workers), [`health`], [`live`]:
//!   the endpoints.
//! - [`store`]: products in Redis; [`history`]: task history from events and results.
//! - [`body`]: reading bodies and parameters; [`error`]: the one error type.
//! - [`openapi`]: the OpenAPI document; [`state`]: what handlers share.

pub mod body;
pub mod control;
pub mod error;
pub mod health;
pub mod history;
pub mod live;
pub mod openapi;
pub mod products;
pub mod state;
pub mod store;
pub mod tasks;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::trace::TraceLayer;
use utoipa::OpenApi as _;
use utoipa_swagger_ui::SwaggerUi;

pub use error::{ApiError, ApiResult};
pub use state::{ApiOptions, AppState};

/// The whole app.
pub fn router(state: AppState) -> Router {
    let cors = cors_layer(&state.options().cors_origins);
    let api = Router::new()
        .route("/products/", get(products::list).post(products::create))
        .route("/products", get(products::list).post(products::create))
        .route("/products/{product_id}", get(products::get))
        .route("/tasks", get(tasks::list))
        .route("/tasks/", get(tasks::list))
        .route("/tasks/{task_id}", get(tasks::get))
        .route("/tasks/{task_id}/revoke", axum::routing::post(control::revoke))
        .route("/tasks/{task_id}/retry", axum::routing::post(control::retry))
        .route("/queue", axum::routing::delete(control::purge))
        .route("/workers", get(control::workers))
        .route("/health", get(health::health))
        .route_layer(middleware::from_fn_with_state(state.clone(), request_timeout));
    Router::new()
        .merge(api)
        .route("/events", get(live::events))
        // Outside the request timeout: it waits for the whole notification on purpose.
        .route("/demo/products/sync", axum::routing::post(products::create_sync))
        .merge(SwaggerUi::new("/docs").url("/openapi.json", openapi::ApiDoc::openapi()))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(cors)
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// CORS for the listed origins only (the desktop app's page, the control endpoint's page); an
/// origin not listed gets no CORS headers, so its browser keeps the answers from it.
fn cors_layer(origins: &[String]) -> CorsLayer {
    let origins: Vec<HeaderValue> = origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::POST, Method::DELETE])
        .allow_headers([header::CONTENT_TYPE])
        .expose_headers([header::LOCATION, products::SERVER_TIMING.clone()])
        .max_age(std::time::Duration::from_secs(600))
}

/// Fails a request that takes longer than the configured timeout with 504 (live streams excepted).
async fn request_timeout(State(state): State<AppState>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(state.request_timeout(), next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::Timeout.into_response(),
    }
}

async fn not_found() -> ApiError {
    ApiError::NotFound("Not Found".into())
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// Serves `router(state)` on `listener` until `shutdown` fires, then finishes the requests in
/// flight (live streams end at once).
pub async fn serve(listener: TcpListener, state: AppState, shutdown: CancellationToken) -> std::io::Result<()> {
    let app = router(state);
    axum::serve(listener, app).with_graceful_shutdown(shutdown.cancelled_owned()).await
}

/// Starts what runs beside the handlers, owned by `tracker`: the recorder that follows Celery
/// events into the task history and the live feed, and the queue-depth sampler.
pub fn spawn_background(state: &AppState, broker: &taskq::Broker, tracker: &TaskTracker, shutdown: &CancellationToken) {
    tracker.spawn(live::record(state.clone(), broker.clone(), shutdown.clone()));
    tracker.spawn(live::sample_queue(state.clone(), shutdown.clone()));
}
