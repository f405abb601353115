//! The one error type of Stackdesk's HTTP services, answered in FastAPI's shapes.
//!
//! 4xx answers explain: validation errors list every bad field as FastAPI (pydantic v2) does,
//! `{"detail": [{"type", "loc", "msg", "input", "ctx"?}]}`; other errors are `{"detail": "..."}`.
//! 5xx answers say little and log the rest.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};
use ts_rs::TS;

/// One validation problem, as pydantic reports it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema, TS)]
#[ts(export_to = "FieldError.ts")]
pub struct FieldError {
    /// Machine-readable kind: `missing`, `string_too_long`, `greater_than`, `json_invalid`, ...
    #[serde(rename = "type")]
    #[ts(type = "string")]
    pub kind: &'static str,
    /// Where: `["body", "name"]`, `["path", "product_id"]`, `["query", "limit"]`.
    #[schema(schema_with = crate::schema::loc)]
    #[ts(type = "(string | number)[]")]
    pub loc: Vec<Value>,
    /// What is wrong, for humans.
    pub msg: String,
    /// The offending input.
    #[schema(schema_with = crate::schema::any_value)]
    #[ts(type = "unknown")]
    pub input: Value,
    /// Parameters of the rule (`{"max_length": 100}`): the UI words the error by `type` and `ctx`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    #[ts(optional, type = "Record<string, unknown>")]
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
pub enum WebError {
    /// 422: the input breaks the rules; every problem is listed.
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    /// 404 with a reason.
    #[error("{0}")]
    NotFound(String),
    /// 405.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 409: the resource is not in a state that allows this.
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
    /// 502: a service this request called failed; the text says which and why.
    #[error("{0}")]
    BadGateway(String),
    /// 503: a limit of this service is reached (open streams); the text says which and what to do.
    #[error("{0}")]
    AtCapacity(String),
    /// 503: this service was started without what the request needs; the text says what.
    #[error("{0}")]
    NotConfigured(&'static str),
    /// 504: the request took longer than the server allows.
    #[error("the request timed out")]
    Timeout,
    /// 500: a bug or an unexpected state; details are logged, not returned.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<redis::RedisError> for WebError {
    fn from(err: redis::RedisError) -> Self {
        Self::Unavailable(err.to_string())
    }
}

impl From<taskq::Error> for WebError {
    fn from(err: taskq::Error) -> Self {
        match err {
            taskq::Error::Redis(e) => Self::Unavailable(e.to_string()),
            other => Self::Internal(other.to_string()),
        }
    }
}

/// FastAPI's error body, for the OpenAPI documents.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Detail {
    /// What went wrong.
    pub detail: String,
}

/// FastAPI's validation error body, for the OpenAPI documents.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ValidationErrorBody {
    /// Every problem found.
    pub detail: Vec<FieldError>,
}

impl WebError {
    /// The status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            WebError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            WebError::NotFound(_) => StatusCode::NOT_FOUND,
            WebError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            WebError::Conflict(_) => StatusCode::CONFLICT,
            WebError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            WebError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            WebError::Unavailable(_) | WebError::NotConfigured(_) | WebError::AtCapacity(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            WebError::BadGateway(_) => StatusCode::BAD_GATEWAY,
            WebError::Timeout => StatusCode::GATEWAY_TIMEOUT,
            WebError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The `detail` of the answer.
    fn detail(&self) -> Value {
        match self {
            WebError::Validation(errors) => json!(errors),
            WebError::NotFound(what) => json!(what),
            WebError::MethodNotAllowed => json!("Method Not Allowed"),
            WebError::Conflict(why) | WebError::BadGateway(why) => json!(why),
            WebError::PayloadTooLarge(limit) => {
                json!(format!("Request body is larger than the limit of {limit} bytes"))
            }
            WebError::UnsupportedMediaType(got) => {
                json!(format!("Unsupported media type {got:?}: send the body as application/json"))
            }
            WebError::Unavailable(reason) => {
                tracing::warn!(%reason, "Redis unavailable");
                json!("Redis is unavailable; nothing was changed. Try again shortly.")
            }
            WebError::NotConfigured(what) => json!(what),
            WebError::AtCapacity(what) => json!(what),
            WebError::Timeout => json!("The request timed out"),
            WebError::Internal(reason) => {
                tracing::error!(%reason, "internal error");
                json!("Internal Server Error")
            }
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        (self.status(), Json(json!({ "detail": self.detail() }))).into_response()
    }
}

/// Shorthand for handler results.
pub type WebResult<T> = Result<T, WebError>;
