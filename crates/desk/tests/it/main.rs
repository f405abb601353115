//! Integration tests of the desk crate.
#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

/// The control endpoint's guards and JSON API, called without a socket.
mod control;
/// Exported diagrams, saved under the data folder.
mod exports;
/// Health beside the process states: the prober against a real Redis, API and worker runtime.
mod health;
/// The Test Telegram button against a fake Bot API.
mod telegram;
/// The UI's TypeScript types, generated from these Rust types, are current.
mod ts_types;
