//! # stackdesk-web
//!
//! What the products API and the task monitor share as HTTP services: FastAPI's error shapes
//! (`{"detail": [...]}` for validation, `{"detail": "..."}` otherwise), reading JSON bodies and
//! query parameters the way FastAPI does, CORS for the app's own pages, and a request timeout.
//!
//! # Layout
//! Bottom to top; each module uses only those above it in this list.
//! - [`error`]: [`WebError`], the one error type both services answer with, and the shapes
//!   documented in their OpenAPI documents.
//! - [`params`]: query and path parameters with pydantic's error kinds.
//! - [`body`]: a JSON body checked for content type (415), size (413) and syntax (422).
//! - [`db`]: the Redis connection with a deadline per call (503 beyond).
//! - [`health`]: `/health`'s answer.
//! - [`layers`]: no DNS rebinding nor other sites' pages, CORS, the request timeout, and the
//!   404 / 405 fallbacks.

pub mod body;
pub mod db;
pub mod error;
pub mod health;
pub mod layers;
pub mod params;
pub mod schema;

pub use body::{BodyLimit, JsonBody};
pub use db::Db;
pub use error::{Detail, FieldError, ValidationErrorBody, WebError, WebResult};
