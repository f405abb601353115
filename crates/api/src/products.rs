//! `/products/`: create (store and enqueue), list, get.

use std::time::{Duration, Instant};

use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header::LOCATION};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use web::{Detail, FieldError, JsonBody, ValidationErrorBody, WebError, WebResult, params};

use crate::model::{Product, ProductIn, validate};
use crate::state::AppState;

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/products/", get(list).post(create))
        .route("/products", get(list).post(create))
        .route("/products/{product_id}", get(one))
}

/// A path segment that must be a positive integer (`/products/{product_id}`).
#[derive(Debug, Clone, Copy)]
pub struct ProductId(pub u64);

impl FromRequestParts<AppState> for ProductId {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, _state: &AppState) -> Result<Self, Self::Rejection> {
        let raw = parts.uri.path().trim_end_matches('/').rsplit('/').next().unwrap_or("").to_string();
        raw.parse::<u64>().map(ProductId).map_err(|_| {
            WebError::Validation(vec![FieldError::new(
                "int_parsing",
                vec![json!("path"), json!("product_id")],
                "Input should be a valid integer, unable to parse string as an integer",
                json!(raw),
            )])
        })
    }
}

/// The `Server-Timing` header: how long each step of a request took on the server.
pub static SERVER_TIMING: HeaderName = HeaderName::from_static("server-timing");

/// A `Server-Timing` value (`validate;dur=0.041, store;dur=0.530`, in milliseconds).
pub fn server_timing(steps: &[(&str, Duration)]) -> HeaderValue {
    let text = steps
        .iter()
        .map(|(name, took)| format!("{name};dur={:.3}", took.as_secs_f64() * 1000.0))
        .collect::<Vec<_>>()
        .join(", ");
    // Step names are ASCII tokens and numbers: always a valid header value.
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Creates a product and enqueues its notification.
///
/// The product and its task message are written in one atomic Redis step: never one without the
/// other. Answers at once; the notification runs in the background. `Server-Timing` says how long
/// validation and the store-and-enqueue step took.
#[utoipa::path(
    post, path = "/products/", tag = "products",
    request_body = ProductIn,
    responses(
        (status = 201, description = "Created; the notification task is queued", body = Product,
            headers(("Location" = String, description = "/products/{id}"),
                ("Server-Timing" = String, description = "`validate;dur=<ms>, store;dur=<ms>`"))),
        (status = 409, description = "Product ids used up (the counter reached 2^53); nothing stored", body = Detail),
        (status = 413, description = "Body too large", body = Detail),
        (status = 415, description = "Body is not JSON", body = Detail),
        (status = 422, description = "Invalid product or malformed JSON", body = ValidationErrorBody),
        (status = 503, description = "Redis unavailable; nothing stored", body = Detail),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    JsonBody(body): JsonBody,
) -> WebResult<(StatusCode, HeaderMap, Json<Product>)> {
    let began = Instant::now();
    let input = validate(&body).map_err(WebError::Validation)?;
    let validated = Instant::now();
    let product = state.store().create(input).await?;
    let stored = Instant::now();
    let mut headers = HeaderMap::new();
    let location =
        HeaderValue::from_str(&format!("/products/{}", product.id)).map_err(|e| WebError::Internal(e.to_string()))?;
    headers.insert(LOCATION, location);
    headers.insert(
        SERVER_TIMING.clone(),
        server_timing(&[("validate", validated - began), ("store", stored - validated)]),
    );
    Ok((StatusCode::CREATED, headers, Json(product)))
}

/// Products, newest first.
#[utoipa::path(
    get, path = "/products/", tag = "products",
    params(
        ("limit" = Option<u64>, Query, minimum = 1, maximum = 500, description = "How many, default 50"),
        ("offset" = Option<u64>, Query, minimum = 0, maximum = 4294967295_u64, description = "Products to skip, default 0"),
    ),
    responses(
        (status = 200, description = "Products, newest first", body = Vec<Product>),
        (status = 422, description = "Invalid limit or offset", body = ValidationErrorBody),
        (status = 503, description = "Redis unavailable", body = Detail),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    Query(params): Query<Vec<(String, String)>>,
) -> WebResult<Json<Vec<Product>>> {
    let limit = params::int_param(&params, "limit", 50, 1, 500);
    let offset = params::int_param(&params, "offset", 0, 0, u64::from(u32::MAX));
    let errors: Vec<FieldError> =
        [&limit, &offset].iter().filter_map(|r| r.as_ref().err().map(|e| (**e).clone())).collect();
    if !errors.is_empty() {
        return Err(WebError::Validation(errors));
    }
    let (limit, offset) = (limit.unwrap_or(50), offset.unwrap_or(0));
    Ok(Json(state.store().list(limit, offset).await?))
}

/// One product.
#[utoipa::path(
    get, path = "/products/{product_id}", tag = "products",
    params(("product_id" = u64, Path, description = "The product's id")),
    responses(
        (status = 200, description = "The product", body = Product),
        (status = 404, description = "No such product", body = Detail),
        (status = 422, description = "The id is not an integer", body = ValidationErrorBody),
        (status = 503, description = "Redis unavailable", body = Detail),
    )
)]
pub async fn one(State(state): State<AppState>, ProductId(id): ProductId) -> WebResult<Json<Product>> {
    state.store().get(id).await?.map(Json).ok_or_else(|| WebError::NotFound(format!("Product {id} not found")))
}
