//! End-to-end tests of the `stackdesk` binary: real processes, real redis-server.
#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod config_errors; // a bad setting stops the process with the key, the value and what is expected
mod e2e; // api + worker as processes: POST → SUCCESS, live events, history across restarts
mod fuzz; // schemathesis against both OpenAPI documents: every check, zero failures
mod process; // starting the binary and talking to it
mod soak; // up under load while Redis, the API and the worker are killed and Redis paused: nothing lost
mod supervisor; // start, stop, kill -9 under load, port conflicts, crash loops, no orphans
