//! Integration tests of the monitor against a real redis-server, with producers and workers that
//! are not our API: our `Producer` alone (it writes no history and sends no `task-sent`), our
//! worker, and Python Celery's client and worker.
#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod common; // the monitor over a fresh redis-server, a oneshot client, a bare producer
mod control; // revoke, retry (once), purge and /workers, with a real worker
mod feed; // history and /events with a real worker; paging and trimming; event order
mod glance; // what the diagrams read from Redis: the glance and a key's contents
mod history; // a retry's eta and a redelivery (STARTED → RECEIVED again), from our and Python's events
mod python; // a Python producer and a Python worker: the whole monitor works with neither ours
mod queue; // tasks nobody recorded are noticed in the queue; the REVOKED results a purge writes expire
