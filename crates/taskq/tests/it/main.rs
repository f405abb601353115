//! Integration tests of the Celery protocol layer, against real redis-server and real Python Celery.
#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod bad_input; // malformed messages land in the dead-letter list and the worker keeps serving
mod broker; // publish, atomic receive, ack, reject, restore_visible, restore_all, priorities
mod celery_tools; // Flower lists our worker and tasks; a mixed Python + Rust pool shares a queue
mod common; // worker and connection helpers shared by the modules below
mod control; // celery inspect / celery control (Python) against our worker: ping, stats, revoke, terminate
mod golden; // fixtures captured from Python Celery, decoded and re-encoded byte for byte
mod interop; // live round trips with Python Celery 5: client, worker, events, retries, kill -9
mod worker; // the runtime: retries without blocking, shutdown restores what it held
