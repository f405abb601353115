//! # stackdesk-api
//!
//! The products API of the original system, in axum: `POST /products/` validates, stores the
//! product and queues `send_tg_notification(product)` in one atomic Redis step, and answers 201 at
//! once. Errors have FastAPI's shapes; `/docs` serves Swagger UI from bundled assets and
//! `/openapi.json` is generated from the handlers. The task history, the live feed and the
//! controls are the monitor's (`stackdesk-monitor`), whatever runs as the API.
//!
//! # Layout
//! Bottom to top; each module uses only those above it in this list.
//! - [`model`]: what a client sends, pydantic's rules for it ([`layout::Product`] is what is
//!   stored).
//! - [`store`]: products in Redis (`lua/create_product.lua`: product, task message, PENDING
//!   record and announcement in one step).
//! - [`state`]: what handlers share.
//! - [`products`], [`demo`], [`health`]: one module per resource, each with its `router()`;
//!   [`openapi`]: the document.
//! - here: [`router`] merges them (tests call it with `oneshot`, no socket); [`serve`] runs it on
//!   a listener until a cancellation token fires.

pub mod demo;
pub mod health;
pub mod model;
pub mod openapi;
pub mod products;
pub mod state;
pub mod store;

use axum::Router;
use axum::middleware;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi as _;
use utoipa_swagger_ui::SwaggerUi;

pub use state::{ApiOptions, AppState};

/// The whole app.
pub fn router(state: AppState) -> Router {
    let origins = &state.options().cors_origins;
    let cors = web::layers::cors(origins, &[axum::http::header::LOCATION, products::SERVER_TIMING.clone()]);
    // Outermost: a foreign Host or Origin is refused before anything else looks at it.
    let guard = web::layers::Guard::new(origins);
    let document = openapi::ApiDoc::openapi();
    let slashes = web::layers::Slashes::new(document.paths.paths.keys().map(String::as_str));
    let timed = Router::new()
        .merge(products::router())
        .merge(health::router())
        .route_layer(middleware::from_fn_with_state(state.clone(), web::layers::request_timeout::<AppState>));
    Router::new()
        .merge(timed)
        .merge(demo::router())
        .merge(SwaggerUi::new("/docs").url("/openapi.json", document))
        .fallback(move |request| slashes.fallback(request))
        .method_not_allowed_fallback(web::layers::method_not_allowed)
        .layer(cors)
        .layer(middleware::from_fn_with_state(guard, web::layers::same_site_only))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Serves `router(state)` on `listener` until `shutdown` fires, then finishes the requests in
/// flight.
pub async fn serve(listener: TcpListener, state: AppState, shutdown: CancellationToken) -> std::io::Result<()> {
    let app = router(state);
    axum::serve(listener, app).with_graceful_shutdown(shutdown.cancelled_owned()).await
}
