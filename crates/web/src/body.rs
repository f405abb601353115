//! Reading request bodies with FastAPI's answers for bad ones.

use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use serde_json::{Value, json};

use crate::error::{FieldError, WebError};

/// A service's largest accepted request body.
pub trait BodyLimit {
    /// In bytes (413 beyond).
    fn body_limit(&self) -> usize;
}

/// A JSON body, checked for content type (415), size (413) and syntax (422 `json_invalid`).
#[derive(Debug)]
pub struct JsonBody(pub Value);

impl<S: BodyLimit + Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = WebError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = req.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let mime = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        if !(mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))) {
            return Err(WebError::UnsupportedMediaType(content_type));
        }
        let limit = state.body_limit();
        let bytes = collect_limited(req.into_body(), limit).await?;
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(value) => Ok(Self(value)),
            Err(err) => {
                // Python's json (and so FastAPI) puts an unexpected end just past the last byte.
                let position = if err.is_eof() { bytes.len() } else { byte_offset(&bytes, err.line(), err.column()) };
                Err(WebError::Validation(vec![
                    FieldError::new(
                        "json_invalid",
                        vec![json!("body"), json!(position)],
                        "JSON decode error",
                        json!({}),
                    )
                    .with_ctx(json!({ "error": json_error_text(&err, &bytes[..position.min(bytes.len())]) })),
                ]))
            }
        }
    }
}

/// Collects a body up to `limit` bytes (413 beyond).
async fn collect_limited(body: axum::body::Body, limit: usize) -> Result<bytes::Bytes, WebError> {
    axum::body::to_bytes(body, limit).await.map_err(|err| {
        let text = format!("{err} {}", std::error::Error::source(&err).map(ToString::to_string).unwrap_or_default());
        if text.contains("length limit") {
            WebError::PayloadTooLarge(limit)
        } else {
            WebError::Internal(format!("reading the body: {err}"))
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

/// What is wrong, in words; `before` is the body up to where the error was found.
fn json_error_text(err: &serde_json::Error, before: &[u8]) -> String {
    let text = err.to_string();
    // serde_json appends " at line L column C"; the position is already in `loc`.
    let text = text.split(" at line ").next().unwrap_or(&text);
    // What serde_json says of half a UTF-16 pair (`"\ud800"`) names neither the cause nor a fix.
    if text.contains("surrogate") || (text == "unexpected end of hex escape" && ends_in_surrogate(before)) {
        return "a lone surrogate: \\uD800–\\uDFFF are halves of a UTF-16 pair and stand for no character \
                alone; send the character itself, or both halves of its pair"
            .into();
    }
    text.to_string()
}

/// Whether the last `\\u` escape in `before` is a surrogate's (`\\uD800`–`\\uDFFF`).
fn ends_in_surrogate(before: &[u8]) -> bool {
    let Some(at) = before.windows(2).rposition(|w| w == b"\\u") else { return false };
    let hex = &before[at + 2..];
    hex.len() >= 2
        && hex[0].eq_ignore_ascii_case(&b'd')
        && matches!(hex[1].to_ascii_lowercase(), b'8'..=b'9' | b'a'..=b'f')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(body: &str) -> String {
        let err = serde_json::from_str::<Value>(body).unwrap_err();
        let position = byte_offset(body.as_bytes(), err.line(), err.column());
        json_error_text(&err, &body.as_bytes()[..position.min(body.len())])
    }

    #[test]
    fn half_a_utf16_pair_is_named_as_such() {
        for body in [r#"{"name": "\ud800"}"#, r#"{"name": "\udc00"}"#, r#"{"name": "\uD83D x"}"#] {
            assert!(text(body).starts_with("a lone surrogate"), "{body}: {}", text(body));
        }
        assert_eq!(text(r#"{"name": "\u12"}"#), "invalid escape", "a short escape is not a surrogate");
    }
}
