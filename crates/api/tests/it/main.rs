//! Integration tests of the API against a real redis-server.
#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod bad_input; // every bad request gets its 4xx and leaves Redis exactly as it was
mod common; // the app over a fresh redis-server, and a oneshot client
mod control; // revoke, retry, purge and /workers, with a real worker
mod docs; // /openapi.json and /docs (bundled Swagger UI), 404/405 shapes
mod history; // a retry's eta and a redelivery (STARTED → RECEIVED again), from our and Python's events
mod live; // history and /events with a real worker running the notification task
mod products; // create, list, get: what lands in Redis, atomically
mod python_worker; // a task run by a Python Celery worker (-E) shows up in the history
