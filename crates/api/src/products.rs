//! `/products/`: validation with pydantic's rules and messages, and the handlers.

use axum::Json;
use axum::extract::{Query, State};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header::LOCATION};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::body::{JsonBody, ProductId, int_param};
use crate::error::{ApiError, ApiResult, FieldError, HttpError, ValidationErrorBody};
use crate::state::AppState;

/// Longest product name, in characters (after trimming).
pub const NAME_MAX: usize = 100;
/// Longest description, in characters.
pub const DESCRIPTION_MAX: usize = 1000;
/// Highest price.
pub const PRICE_MAX: f64 = 1e9;

/// What a client sends to create a product.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
pub struct ProductIn {
    /// 1–100 characters; surrounding spaces are trimmed.
    #[schema(min_length = 1, max_length = 100, example = "Phone")]
    pub name: String,
    /// Greater than 0, at most 1e9.
    #[schema(exclusive_minimum = 0, maximum = 1_000_000_000, example = 499.9)]
    pub price: f64,
    /// Up to 1000 characters.
    #[schema(max_length = 1000, nullable)]
    pub description: Option<String>,
}

/// A stored product.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Product {
    /// Assigned by the API, increasing.
    pub id: u64,
    /// The trimmed name.
    pub name: String,
    /// The price.
    pub price: f64,
    /// The description, if any.
    pub description: Option<String>,
    /// When it was created (ISO-8601, UTC).
    pub created_at: String,
    /// The id of its notification task.
    pub task_id: String,
}

impl Product {
    /// The product as the notification task receives it (without `task_id`, like the original).
    pub fn as_task_arg(&self) -> Value {
        json!({"id": self.id, "name": self.name, "price": self.price, "description": self.description, "created_at": self.created_at})
    }
}

/// Checks a request body against the product rules. Every problem is reported, as pydantic does.
pub fn validate(body: &Value) -> Result<ProductIn, Vec<FieldError>> {
    let Value::Object(map) = body else {
        return Err(vec![FieldError::new(
            "model_attributes_type",
            vec![json!("body")],
            "Input should be a valid dictionary or object to extract fields from",
            body.clone(),
        )]);
    };
    let mut errors = Vec::new();
    let name = field_name(map, body, &mut errors);
    let price = field_price(map, body, &mut errors);
    let description = field_description(map, &mut errors);
    match (name, price, description) {
        (Some(name), Some(price), Some(description)) if errors.is_empty() => Ok(ProductIn { name, price, description }),
        _ => Err(errors),
    }
}

fn loc(field: &str) -> Vec<Value> {
    vec![json!("body"), json!(field)]
}

fn missing(field: &str, body: &Value) -> FieldError {
    FieldError::new("missing", loc(field), "Field required", body.clone())
}

fn field_name(map: &Map<String, Value>, body: &Value, errors: &mut Vec<FieldError>) -> Option<String> {
    let Some(raw) = map.get("name") else {
        errors.push(missing("name", body));
        return None;
    };
    let Value::String(text) = raw else {
        errors.push(FieldError::new("string_type", loc("name"), "Input should be a valid string", raw.clone()));
        return None;
    };
    let name = text.trim();
    let length = name.chars().count();
    if length < 1 {
        errors.push(
            FieldError::new("string_too_short", loc("name"), "String should have at least 1 character", raw.clone())
                .with_ctx(json!({"min_length": 1})),
        );
        return None;
    }
    if length > NAME_MAX {
        errors.push(
            FieldError::new(
                "string_too_long",
                loc("name"),
                format!("String should have at most {NAME_MAX} characters"),
                raw.clone(),
            )
            .with_ctx(json!({"max_length": NAME_MAX})),
        );
        return None;
    }
    Some(name.to_string())
}

fn field_price(map: &Map<String, Value>, body: &Value, errors: &mut Vec<FieldError>) -> Option<f64> {
    let Some(raw) = map.get("price") else {
        errors.push(missing("price", body));
        return None;
    };
    let price = match raw {
        Value::Number(n) => n.as_f64(),
        // pydantic's lax mode accepts numbers written as strings.
        Value::String(s) => match s.trim().parse::<f64>() {
            Ok(v) if v.is_finite() => Some(v),
            _ => {
                errors.push(FieldError::new(
                    "float_parsing",
                    loc("price"),
                    "Input should be a valid number, unable to parse string as a number",
                    raw.clone(),
                ));
                return None;
            }
        },
        _ => None,
    };
    let Some(price) = price else {
        errors.push(FieldError::new("float_type", loc("price"), "Input should be a valid number", raw.clone()));
        return None;
    };
    if price <= 0.0 {
        errors.push(
            FieldError::new("greater_than", loc("price"), "Input should be greater than 0", raw.clone())
                .with_ctx(json!({"gt": 0})),
        );
        return None;
    }
    if price > PRICE_MAX {
        errors.push(
            FieldError::new(
                "less_than_equal",
                loc("price"),
                "Input should be less than or equal to 1000000000",
                raw.clone(),
            )
            .with_ctx(json!({"le": 1_000_000_000})),
        );
        return None;
    }
    Some(price)
}

fn field_description(map: &Map<String, Value>, errors: &mut Vec<FieldError>) -> Option<Option<String>> {
    match map.get("description") {
        None | Some(Value::Null) => Some(None),
        Some(Value::String(text)) if text.chars().count() > DESCRIPTION_MAX => {
            errors.push(
                FieldError::new(
                    "string_too_long",
                    loc("description"),
                    format!("String should have at most {DESCRIPTION_MAX} characters"),
                    json!(text),
                )
                .with_ctx(json!({"max_length": DESCRIPTION_MAX})),
            );
            None
        }
        Some(Value::String(text)) => Some(Some(text.clone())),
        Some(other) => {
            errors.push(FieldError::new(
                "string_type",
                loc("description"),
                "Input should be a valid string",
                other.clone(),
            ));
            None
        }
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
        (status = 413, description = "Body too large", body = HttpError),
        (status = 415, description = "Body is not JSON", body = HttpError),
        (status = 422, description = "Invalid product or malformed JSON", body = ValidationErrorBody),
        (status = 503, description = "Redis unavailable; nothing stored", body = HttpError),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    JsonBody(body): JsonBody,
) -> ApiResult<(StatusCode, HeaderMap, Json<Product>)> {
    let began = Instant::now();
    let input = validate(&body).map_err(ApiError::Validation)?;
    let validated = Instant::now();
    let product = state.store().create(input).await?;
    let stored = Instant::now();
    state.live().product_created(&product);
    let mut headers = HeaderMap::new();
    let location =
        HeaderValue::from_str(&format!("/products/{}", product.id)).map_err(|e| ApiError::Internal(e.to_string()))?;
    headers.insert(LOCATION, location);
    headers.insert(
        SERVER_TIMING.clone(),
        server_timing(&[("validate", validated - began), ("store", stored - validated)]),
    );
    Ok((StatusCode::CREATED, headers, Json(product)))
}

/// What the synchronous variant answers.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SyncOutcome {
    /// The product as it was checked (not stored).
    pub name: String,
    /// Its price.
    pub price: f64,
    /// The notification's result, as the task would have stored it.
    #[schema(value_type = Object)]
    pub notification: Value,
    /// How long the client waited for the notification, in seconds.
    pub notify_secs: f64,
}

/// The course's variant **without** a background worker, for comparison: validates the product
/// and sends its notification inside the request, exactly as the worker would, then answers.
///
/// The client waits for the whole send (`NOTIFY_SIMULATED_SECS`, or the real Telegram call).
/// Nothing is stored and no task is queued: it exists to be measured beside `POST /products/`.
#[utoipa::path(
    post, path = "/demo/products/sync", tag = "demo",
    request_body = ProductIn,
    responses(
        (status = 200, description = "Checked and notified; nothing stored", body = SyncOutcome,
            headers(("Server-Timing" = String, description = "`validate;dur=<ms>, notify;dur=<ms>`"))),
        (status = 422, description = "Invalid product or malformed JSON", body = ValidationErrorBody),
        (status = 502, description = "The notification failed (the worker would retry or fail the task)", body = HttpError),
        (status = 503, description = "This API was started without a notifier", body = HttpError),
    )
)]
pub async fn create_sync(
    State(state): State<AppState>,
    JsonBody(body): JsonBody,
) -> ApiResult<(StatusCode, HeaderMap, Json<SyncOutcome>)> {
    let began = Instant::now();
    let input = validate(&body).map_err(ApiError::Validation)?;
    let validated = Instant::now();
    let Some(notifier) = state.notifier() else {
        return Err(ApiError::NotifierMissing);
    };
    let product = json!({"id": null, "name": input.name, "price": input.price, "description": input.description,
        "created_at": taskq::time::isoformat(chrono::Utc::now())});
    let ctx = taskq::TaskContext {
        id: String::new(),
        name: worker::TASK_NAME.into(),
        args: vec![product],
        kwargs: Map::new(),
        retries: 0,
        hostname: "api (synchronous demo)".into(),
        max_retries: Some(0),
        cancel: state.shutdown().child_token(),
    };
    let result = notifier.run(ctx).await;
    let notified = Instant::now();
    let notification = match result {
        Ok(value) => value,
        Err(taskq::TaskError::Fail(error) | taskq::TaskError::Retry { error, .. }) => {
            let why = error.exc_message.first().map_or_else(String::new, taskq::repr::repr);
            return Err(ApiError::NotificationFailed(format!("{}: {why}", error.exc_type)));
        }
    };
    let mut headers = HeaderMap::new();
    headers.insert(
        SERVER_TIMING.clone(),
        server_timing(&[("validate", validated - began), ("notify", notified - validated)]),
    );
    let outcome = SyncOutcome {
        name: input.name,
        price: input.price,
        notification,
        notify_secs: (notified - validated).as_secs_f64(),
    };
    Ok((StatusCode::OK, headers, Json(outcome)))
}

/// Products, newest first.
#[utoipa::path(
    get, path = "/products/", tag = "products",
    params(
        ("limit" = Option<u64>, Query, description = "1–500, default 50"),
        ("offset" = Option<u64>, Query, description = "products to skip, default 0"),
    ),
    responses(
        (status = 200, description = "Products, newest first", body = Vec<Product>),
        (status = 422, description = "Invalid limit or offset", body = ValidationErrorBody),
        (status = 503, description = "Redis unavailable", body = HttpError),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    Query(params): Query<Vec<(String, String)>>,
) -> ApiResult<Json<Vec<Product>>> {
    let limit = int_param(&params, "limit", 50, 1, 500);
    let offset = int_param(&params, "offset", 0, 0, u64::from(u32::MAX));
    let errors: Vec<FieldError> =
        [&limit, &offset].iter().filter_map(|r| r.as_ref().err().map(|e| (**e).clone())).collect();
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
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
        (status = 404, description = "No such product", body = HttpError),
        (status = 422, description = "The id is not an integer", body = ValidationErrorBody),
        (status = 503, description = "Redis unavailable", body = HttpError),
    )
)]
pub async fn get(State(state): State<AppState>, ProductId(id): ProductId) -> ApiResult<Json<Product>> {
    state.store().get(id).await?.map(Json).ok_or_else(|| ApiError::NotFound(format!("Product {id} not found")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(body: &Value) -> Vec<(&'static str, Value)> {
        validate(body).unwrap_err().into_iter().map(|e| (e.kind, json!(e.loc))).collect()
    }

    #[test]
    fn valid_products_are_trimmed() {
        let product = validate(&json!({"name": "  Phone ", "price": 499.9})).unwrap();
        assert_eq!(product, ProductIn { name: "Phone".into(), price: 499.9, description: None });
        assert_eq!(validate(&json!({"name": "X", "price": "12.5", "description": "d"})).unwrap().price, 12.5);
        assert_eq!(validate(&json!({"name": "x".repeat(100), "price": 1e9})).unwrap().name.len(), 100);
    }

    #[test]
    fn every_problem_is_reported_with_pydantics_kind() {
        assert_eq!(kinds(&json!({})), [("missing", json!(["body", "name"])), ("missing", json!(["body", "price"]))]);
        assert_eq!(
            kinds(&json!({"name": "   ", "price": 0, "description": 5})),
            [
                ("string_too_short", json!(["body", "name"])),
                ("greater_than", json!(["body", "price"])),
                ("string_type", json!(["body", "description"]))
            ]
        );
        assert_eq!(
            kinds(&json!({"name": "x".repeat(101), "price": 1e9 + 1.0})),
            [("string_too_long", json!(["body", "name"])), ("less_than_equal", json!(["body", "price"]))]
        );
        assert_eq!(
            kinds(&json!({"name": 1, "price": "abc"})),
            [("string_type", json!(["body", "name"])), ("float_parsing", json!(["body", "price"]))]
        );
        assert_eq!(kinds(&json!({"name": "a", "price": true})), [("float_type", json!(["body", "price"]))]);
        assert_eq!(
            kinds(&json!({"name": "a", "price": 1, "description": "d".repeat(1001)})),
            [("string_too_long", json!(["body", "description"]))]
        );
        assert_eq!(kinds(&json!([1, 2])), [("model_attributes_type", json!(["body"]))]);
    }

    #[test]
    fn messages_match_fastapis() {
        let errors = validate(&json!({"price": -1})).unwrap_err();
        assert_eq!(errors[0].msg, "Field required");
        assert_eq!(errors[1].msg, "Input should be greater than 0");
        assert_eq!(errors[1].ctx, Some(json!({"gt": 0})));
        assert_eq!(errors[1].input, json!(-1));
    }
}
