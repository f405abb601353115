//! The monitor's HTTP resources, each with its own `router()`; [`crate::router`] merges them.

pub mod events;
pub mod health;
pub mod openapi;
pub mod queue;
pub mod redis;
pub mod tasks;
pub mod workers;
