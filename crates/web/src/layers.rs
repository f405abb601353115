//! What both services put around their handlers: no DNS rebinding and no other site's pages, CORS
//! for the app's own pages, a request timeout, and FastAPI's 404 / 405 answers.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;
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

/// The pages allowed to call a service from a browser (besides its own, e.g. its Swagger UI).
#[derive(Debug, Clone, Default)]
pub struct Guard {
    origins: Arc<[String]>,
}

impl Guard {
    /// Allows pages of `origins` (the app's own; empty: only the service's own pages).
    pub fn new(origins: &[String]) -> Self {
        Self { origins: origins.into() }
    }
}

/// The host part of a `Host` header (`127.0.0.1:8000` → `127.0.0.1`, `[::1]:80` → `::1`).
fn host_name(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    host.rsplit_once(':')
        .map_or(host, |(name, port)| if port.chars().all(|c| c.is_ascii_digit()) { name } else { host })
}

/// Why a request is refused before it is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No `Host` header at all.
    NoHost,
    /// `Host` is a site's name, not this machine: DNS rebinding (a page of that site talking to
    /// us through its own name).
    ForeignHost,
    /// `Origin` is another site's page.
    ForeignOrigin,
}

impl Refusal {
    /// The status it is answered with.
    pub fn status(self) -> StatusCode {
        match self {
            Refusal::NoHost | Refusal::ForeignHost => StatusCode::MISDIRECTED_REQUEST,
            Refusal::ForeignOrigin => StatusCode::FORBIDDEN,
        }
    }

    /// What the answer says.
    pub fn detail(self) -> &'static str {
        match self {
            Refusal::NoHost => "a request must name its Host",
            Refusal::ForeignHost => {
                "this service answers only to an address of this machine or localhost, not to a site's name"
            }
            Refusal::ForeignOrigin => "requests from other web pages are not allowed",
        }
    }
}

/// Whether a request may be answered: its `Host` names this machine by address or as
/// `localhost`, and its `Origin`, if any, is this service itself or a page allowed.
pub fn allowed(host: Option<&str>, origin: Option<&str>, allowed_origins: &[String]) -> Result<(), Refusal> {
    let Some(host) = host else { return Err(Refusal::NoHost) };
    let name = host_name(host);
    if !(name.eq_ignore_ascii_case("localhost") || name.parse::<IpAddr>().is_ok()) {
        return Err(Refusal::ForeignHost);
    }
    match origin {
        None => Ok(()),
        Some(origin) if allowed_origins.iter().any(|o| o == origin) => Ok(()),
        Some(origin) if origin.strip_prefix("http://").is_some_and(|o| o.eq_ignore_ascii_case(host)) => Ok(()),
        Some(_) => Err(Refusal::ForeignOrigin),
    }
}

/// Refuses what [`allowed`] refuses, with FastAPI's `{"detail"}`. Use with
/// `axum::middleware::from_fn_with_state(guard, same_site_only)`.
pub async fn same_site_only(State(guard): State<Guard>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin = headers.get(header::ORIGIN).and_then(|h| h.to_str().ok());
    match allowed(host, origin, &guard.origins) {
        Ok(()) => next.run(request).await,
        Err(refusal) => (refusal.status(), Json(json!({ "detail": refusal.detail() }))).into_response(),
    }
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

/// Starlette's `redirect_slashes`: a path no route has, but which one has with its trailing slash
/// added or removed (`/products/1/` for `/products/{product_id}`), answers 307 to that path,
/// query kept (the method too: 307 keeps it); anything else is FastAPI's 404.
#[derive(Debug, Clone)]
pub struct Slashes {
    templates: Arc<Vec<Vec<String>>>,
}

impl Slashes {
    /// The service's route templates (its OpenAPI document's paths).
    pub fn new<'a>(paths: impl IntoIterator<Item = &'a str>) -> Self {
        let templates = paths.into_iter().map(|p| p.split('/').map(str::to_string).collect()).collect();
        Self { templates: Arc::new(templates) }
    }

    fn has(&self, path: &str) -> bool {
        let parts: Vec<&str> = path.split('/').collect();
        self.templates.iter().any(|t| {
            t.len() == parts.len()
                && t.iter()
                    .zip(&parts)
                    .all(|(t, p)| t == p || (t.starts_with('{') && t.ends_with('}') && !p.is_empty()))
        })
    }

    /// The fallback: 307 to the other spelling of the path when a route has it, else 404.
    pub async fn fallback(self, request: Request) -> Response {
        let path = request.uri().path();
        let other = match path.strip_suffix('/') {
            Some(stripped) if !stripped.is_empty() => stripped.to_string(),
            Some(_) => return WebError::NotFound("Not Found".into()).into_response(),
            None => format!("{path}/"),
        };
        if !self.has(&other) {
            return WebError::NotFound("Not Found".into()).into_response();
        }
        let host = request.headers().get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1");
        let query = request.uri().query().map(|q| format!("?{q}")).unwrap_or_default();
        let location = format!("http://{host}{other}{query}");
        match HeaderValue::from_str(&location) {
            Ok(location) => (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, location)]).into_response(),
            Err(_) => WebError::NotFound("Not Found".into()).into_response(),
        }
    }
}

/// FastAPI's 405 for a method a route does not have.
pub async fn method_not_allowed() -> WebError {
    WebError::MethodNotAllowed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_other_spelling_of_a_route_is_found() {
        let slashes = Slashes::new(["/products/", "/products/{product_id}", "/health"]);
        assert!(slashes.has("/products/1"));
        assert!(slashes.has("/products/"));
        assert!(slashes.has("/health"));
        assert!(!slashes.has("/products/1/x"));
        assert!(!slashes.has("/products//"), "an empty segment is no id");
        assert!(!slashes.has("/nothing"));
    }

    #[test]
    fn dns_rebinding_and_other_sites_are_refused() {
        let app = ["tauri://localhost".to_string()];
        assert!(allowed(Some("127.0.0.1:8000"), None, &app).is_ok());
        assert!(allowed(Some("localhost:8000"), None, &app).is_ok());
        assert!(allowed(Some("[::1]:8000"), None, &app).is_ok());
        assert!(allowed(Some("192.168.1.5:8000"), None, &app).is_ok(), "an address on the LAN (API_HOST=0.0.0.0)");
        assert_eq!(allowed(Some("evil.example"), None, &app), Err(Refusal::ForeignHost), "rebinding");
        assert!(allowed(Some("evil.example:8000"), Some("http://evil.example:8000"), &app).is_err());
        assert_eq!(allowed(None, None, &app), Err(Refusal::NoHost));
        assert!(allowed(Some("127.0.0.1:8000"), Some("tauri://localhost"), &app).is_ok(), "the app's page");
        assert!(allowed(Some("127.0.0.1:8000"), Some("http://127.0.0.1:8000"), &app).is_ok(), "its own Swagger UI");
        assert_eq!(allowed(Some("127.0.0.1:8000"), Some("http://evil.example"), &app), Err(Refusal::ForeignOrigin));
        assert!(allowed(Some("127.0.0.1:8000"), Some("null"), &app).is_err());
        assert!(allowed(Some("127.0.0.1:8000"), Some("http://127.0.0.1:9999"), &app).is_err(), "another local page");
    }
}
