//! Reading request bodies and parameters with FastAPI's answers for bad ones.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use serde_json::{Value, json};

use crate::error::{ApiError, FieldError};
use crate::state::AppState;

/// A JSON body, checked for content type (415), size (413) and syntax (422 `json_invalid`).
#[derive(Debug)]
pub struct JsonBody(pub Value);

impl FromRequest<AppState> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let content_type = req.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let mime = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        if !(mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))) {
            return Err(ApiError::UnsupportedMediaType(content_type));
        }
        let limit = state.body_limit();
        let bytes = collect_limited(req.into_body(), limit).await?;
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(value) => Ok(Self(value)),
            Err(err) => {
                // Python's json (and so FastAPI) puts an unexpected end just past the last byte.
                let position = if err.is_eof() { bytes.len() } else { byte_offset(&bytes, err.line(), err.column()) };
                Err(ApiError::Validation(vec![
                    FieldError::new(
                        "json_invalid",
                        vec![json!("body"), json!(position)],
                        "JSON decode error",
                        json!({}),
                    )
                    .with_ctx(json!({ "error": json_error_text(&err) })),
                ]))
            }
        }
    }
}

/// Collects a body up to `limit` bytes (413 beyond).
async fn collect_limited(body: axum::body::Body, limit: usize) -> Result<bytes::Bytes, ApiError> {
    axum::body::to_bytes(body, limit).await.map_err(|err| {
        let text = format!("{err} {}", std::error::Error::source(&err).map(ToString::to_string).unwrap_or_default());
        if text.contains("length limit") {
            ApiError::PayloadTooLarge(limit)
        } else {
            ApiError::Internal(format!("reading the body: {err}"))
        }
    })
}

/// The byte offset of a (1-based) line and column, as FastAPI reports a JSON error position.
fn byte_offset(bytes: &[u8], line: usize, column: usize) -> usize {
    let mut offset = 0;
    for (index, text) in bytes.split(|b| *b == b'\n').enumerate() {
        if index + 1 == line {
            return offset + column.saturating_sub(1);
        }
        offset += text.len() + 1;
    }
    bytes.len()
}

fn json_error_text(err: &serde_json::Error) -> String {
    let text = err.to_string();
    // serde_json appends " at line L column C"; the position is already in `loc`.
    text.split(" at line ").next().unwrap_or(&text).to_string()
}

/// A path segment that must be a positive integer (`/products/{product_id}`).
#[derive(Debug, Clone, Copy)]
pub struct ProductId(pub u64);

impl FromRequestParts<AppState> for ProductId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &AppState) -> Result<Self, Self::Rejection> {
        let raw = parts.uri.path().trim_end_matches('/').rsplit('/').next().unwrap_or("").to_string();
        raw.parse::<u64>().map(ProductId).map_err(|_| {
            ApiError::Validation(vec![FieldError::new(
                "int_parsing",
                vec![json!("path"), json!("product_id")],
                "Input should be a valid integer, unable to parse string as an integer",
                json!(raw),
            )])
        })
    }
}

/// Parses an optional integer query parameter within `min..=max`.
pub fn int_param(
    params: &[(String, String)],
    name: &'static str,
    default: u64,
    min: u64,
    max: u64,
) -> Result<u64, Box<FieldError>> {
    let Some((_, raw)) = params.iter().find(|(k, _)| k == name) else { return Ok(default) };
    let loc = vec![json!("query"), json!(name)];
    let problem = |kind, msg: String, ctx: Option<serde_json::Value>| {
        let error = FieldError::new(kind, loc.clone(), msg, json!(raw));
        Box::new(match ctx {
            Some(ctx) => error.with_ctx(ctx),
            None => error,
        })
    };
    let value: u64 = raw.trim().parse().map_err(|_| {
        problem("int_parsing", "Input should be a valid integer, unable to parse string as an integer".into(), None)
    })?;
    if value < min {
        return Err(problem(
            "greater_than_equal",
            format!("Input should be greater than or equal to {min}"),
            Some(json!({ "ge": min })),
        ));
    }
    if value > max {
        return Err(problem(
            "less_than_equal",
            format!("Input should be less than or equal to {max}"),
            Some(json!({ "le": max })),
        ));
    }
    Ok(value)
}
