//! Integration tests of the API against a real redis-server.
#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod bad_input; // every bad request gets its 4xx and leaves Redis exactly as it was
mod common; // the app over a fresh redis-server, and a oneshot client
mod docs; // /openapi.json and /docs (bundled Swagger UI), 404/405 shapes
mod products; // create, list, get: what lands in Redis, atomically, and the announcement
