//! # stackdesk-layout
//!
//! What Stackdesk keeps in Redis beside Celery's own layout, in one place at the bottom of every
//! crate that reads or writes it (the API, the monitor, the worker, the app): the key names, what
//! each key is for (so the UI never spells a key), and the shape of a task's history record.
//!
//! # Layout
//! - [`keys`]: every key and channel name, ours and Celery's (the latter from [`taskq`]).
//! - [`role`]: [`KeyRole`], what a key stands for, found from its name.
//! - [`product`]: a product as stored (`stackdesk:product:<id>`) and announced.
//! - [`record`]: a task's history record (`stackdesk:task:<id>`) and the PENDING record a
//!   producer writes when it sends a task.

pub mod keys;
pub mod product;
pub mod record;
pub mod role;

pub use product::Product;
pub use record::{Record, Step};
pub use role::KeyRole;
