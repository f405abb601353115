//! The API's one error type, answered in FastAPI's shapes.
//!
//! 4xx answers explain: validation errors list every bad field as FastAPI (pydantic v2) does,
//! `{"detail": [{"type", "loc", "msg", "input", "ctx"?}]}`; other errors are `{"detail": "..."}`.
//! 5xx answers say little and log the rest.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};

/// One validation problem, as pydantic reports it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// Machine-readable kind: `missing`, `string_too_long`, `greater_than`, `json_invalid`, ...
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Where: `["body", "name"]`, `["path", "product_id"]`, `["query", "limit"]`.
    #[schema(value_type = Vec<Object>)]
    pub loc: Vec<Value>,
    /// What is wrong, for humans.
    pub msg: String,
    /// The offending input.
    #[schema(value_type = Object)]
    pub input: Value,
    /// Parameters of the rule (`{"max_length": 100}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub ctx: Option<Value>,
}

impl FieldError {
    /// A problem at `loc`.
    pub fn new(kind: &'static str, loc: Vec<Value>, msg: impl Into<String>, input: Value) -> Self {
        Self { kind, loc, msg: msg.into(), input, ctx: None }
    }

    /// With the rule's parameters.
    pub fn with_ctx(mut self, ctx: Value) -> Self {
        self.ctx = Some(ctx);
        self
    }
}

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 422: the input breaks the rules; every problem is listed.
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    /// 404 with a reason.
    #[error("{0}")]
    NotFound(String),
    /// 405.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 409: the task is not in a state that allows this.
    #[error("{0}")]
    Conflict(String),
    /// 413: the body is larger than the limit (bytes).
    #[error("request body larger than {0} bytes")]
    PayloadTooLarge(usize),
    /// 415: the body is not JSON.
    #[error("unsupported content type {0:?}")]
    UnsupportedMediaType(String),
    /// 503: Redis did not answer in time or refused.
    #[error("Redis is unavailable: {0}")]
    Unavailable(String),
    /// 502: the synchronous demo's notification failed.
    #[error("the notification failed: {0}")]
    NotificationFailed(String),
    /// 503: the synchronous demo was asked for, but this API has no notifier.
    #[error("no notifier configured")]
    NotifierMissing,
    /// 504: the request took longer than the server allows.
    #[error("the request timed out")]
    Timeout,
    /// 500: a bug or an unexpected state; details are logged, not returned.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<redis::RedisError> for ApiError {
    fn from(err: redis::RedisError) -> Self {
        Self::Unavailable(err.to_string())
    }
}

impl From<taskq::Error> for ApiError {
    fn from(err: taskq::Error) -> Self {
        match err {
            taskq::Error::Redis(e) => Self::Unavailable(e.to_string()),
            other => Self::Internal(other.to_string()),
        }
    }
}

/// FastAPI's error body, for the OpenAPI document.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HttpError {
    /// What went wrong.
    pub detail: String,
}

/// FastAPI's validation error body, for the OpenAPI document.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ValidationErrorBody {
    /// Every problem found.
    pub detail: Vec<FieldError>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, detail) = match &self {
            ApiError::Validation(errors) => (StatusCode::UNPROCESSABLE_ENTITY, json!(errors)),
            ApiError::NotFound(what) => (StatusCode::NOT_FOUND, json!(what)),
            ApiError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, json!("Method Not Allowed")),
            ApiError::Conflict(why) => (StatusCode::CONFLICT, json!(why)),
            ApiError::PayloadTooLarge(limit) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                json!(format!("Request body is larger than the limit of {limit} bytes")),
            ),
            ApiError::UnsupportedMediaType(got) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                json!(format!("Unsupported media type {got:?}: send the body as application/json")),
            ),
            ApiError::Unavailable(reason) => {
                tracing::warn!(%reason, "Redis unavailable");
                (StatusCode::SERVICE_UNAVAILABLE, json!("Redis is unavailable; nothing was stored. Try again shortly."))
            }
            ApiError::NotificationFailed(why) => {
                (StatusCode::BAD_GATEWAY, json!(format!("The notification failed: {why}")))
            }
            ApiError::NotifierMissing => (
                StatusCode::SERVICE_UNAVAILABLE,
                json!("This API was started without a notifier, so it cannot run the synchronous variant"),
            ),
            ApiError::Timeout => (StatusCode::GATEWAY_TIMEOUT, json!("The request timed out")),
            ApiError::Internal(reason) => {
                tracing::error!(%reason, "internal error");
                (StatusCode::INTERNAL_SERVER_ERROR, json!("Internal Server Error"))
            }
        };
        (status, Json(json!({ "detail": detail }))).into_response()
    }
}

/// Shorthand for handler results.
pub type ApiResult<T> = Result<T, ApiError>;
