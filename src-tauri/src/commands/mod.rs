//! The commands the UI calls (each granted in `capabilities/default.json`, listed in `build.rs`).

// Tauri hands command arguments (`State`, `AppHandle`) over by value.
#![allow(clippy::needless_pass_by_value)]

mod stack;
mod window;

pub use stack::*;
pub use window::*;
