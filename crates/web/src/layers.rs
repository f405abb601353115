//! What both services put around their handlers: CORS for the app's own pages, a request
//! timeout, and FastAPI's 404 / 405 answers.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::error::WebError;

/// CORS for the listed origins only (the desktop app's page, the control endpoint's page); an
/// origin not listed gets no CORS headers, so its browser keeps the answers from it. `expose`
/// lists the response headers those pages may read.
pub fn cors(origins: &[String], expose: &[HeaderName]) -> CorsLayer {
    let origins: Vec<HeaderValue> = origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::POST, Method::DELETE])
        .allow_headers([header::CONTENT_TYPE])
        .expose_headers(expose.to_vec())
        .max_age(Duration::from_secs(600))
}

/// A service's longest request (504 beyond).
pub trait RequestTimeout {
    /// How long a request may take in all.
    fn request_timeout(&self) -> Duration;
}

/// Fails a request that takes longer than the service's timeout with 504. Use with
/// `axum::middleware::from_fn_with_state` on the routes it applies to (not on live streams).
pub async fn request_timeout<S: RequestTimeout>(State(state): State<S>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(state.request_timeout(), next.run(request)).await {
        Ok(response) => response,
        Err(_) => WebError::Timeout.into_response(),
    }
}

/// FastAPI's 404 for a path no route has.
pub async fn not_found() -> WebError {
    WebError::NotFound("Not Found".into())
}

/// FastAPI's 405 for a method a route does not have.
pub async fn method_not_allowed() -> WebError {
    WebError::MethodNotAllowed
}
