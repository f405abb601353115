//! The error type of the protocol layer.
//!
//! One enum for the whole crate: callers either retry a Redis call later (the [`Error::Redis`] case) or
//! have handed us something that cannot be a Celery message (the decoding cases). Task failures are
//! not errors of this crate: they are values of [`crate::TaskError`].

use thiserror::Error;

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong while talking Celery over Redis.
#[derive(Debug, Error)]
pub enum Error {
    /// Redis refused a command, timed out or the connection dropped.
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// A payload could not be encoded or decoded as JSON.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    /// A message was read but is not a Celery protocol v2 message we can run.
    #[error("invalid message: {0}")]
    Decode(#[from] DecodeError),
    /// The Redis URL or another setting cannot be used.
    #[error("configuration: {0}")]
    Config(String),
    /// Redis ran a step after its deadline, when we had almost stopped waiting (it was paused),
    /// so the step did nothing.
    #[error("redis answered too late ({0}); nothing was changed")]
    TooLate(&'static str),
}

/// Why a message taken from a queue cannot be run. Each variant names the first thing found wrong,
/// and its text is what goes into the dead-letter record.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The payload is not JSON at all.
    #[error("payload is not JSON: {0}")]
    NotJson(String),
    /// The payload is JSON but not a kombu envelope (missing or mistyped fields).
    #[error("not a kombu envelope: {0}")]
    Envelope(String),
    /// The envelope says the body is something other than JSON.
    #[error("unsupported content type {0:?} (only application/json is accepted)")]
    ContentType(String),
    /// The body encoding is not base64, or the base64 is broken.
    #[error("body encoding: {0}")]
    BodyEncoding(String),
    /// The body is not protocol v2's `[args, kwargs, embed]`.
    #[error("body is not [args, kwargs, embed]: {0}")]
    Body(String),
    /// The headers lack what protocol v2 requires (`task`, `id`).
    #[error("headers: {0}")]
    Headers(String),
}
