//! # stackdesk-taskq
//!
//! Celery's protocol v2 over Redis, wire-compatible with Celery 5 and kombu 5: a Python client can
//! send tasks our worker runs, our producer can feed a Python worker, and `celery events` or Flower
//! see our worker's events. What is written to Redis is what Celery writes, byte for byte where
//! Celery is deterministic (see the golden tests).
//!
//! # Layout
//! - [`message`]: the kombu envelope, protocol v2 headers and body.
//! - [`send`]: building messages as `send_task` / `apply_async` does; retry messages.
//! - [`queue`]: queue and priority-list names, consumption order.
//! - [`broker`]: the Redis connection and kombu's ack emulation (`unacked`, `unacked_index`,
//!   `restore_visible`, `restore_all`) plus the dead-letter list. The atomic steps are Lua scripts
//!   in `src/lua/`.
//! - [`producer`]: [`Producer`], publishing as `send_task` does.
//! - [`consumer`]: [`Consumer`], receiving atomically into `unacked`.
//! - [`backend`]: `celery-task-meta-<id>` results.
//! - [`control`]: remote control (pidbox): commands, replies, and a broadcast client.
//! - [`events`]: the `celeryev` fanout: [`EventDispatcher`] and the typed [`EventReceiver`].
//! - [`worker`]: the runtime: registry of async handlers, prefetch, concurrency, acks late,
//!   retries, heartbeats, graceful shutdown.
//! - [`pyjson`], [`repr`], [`time`]: writing JSON, reprs and timestamps the way Python does.
//! - [`error`]: the crate's error type.
//!
//! # Redis keys
//! | key | type | written by |
//! |---|---|---|
//! | `celery`, `celery\x06\x163`, `…6`, `…9` | list | producers (LPUSH), consumers (pop), restores (RPUSH) |
//! | `unacked` / `unacked_index` | hash / zset | consumers: messages in flight |
//! | `unacked_mutex` | string | `restore_visible` |
//! | `_kombu.binding.celery`, `_kombu.binding_permanent.celery` | set | producers (queue declaration) |
//! | `celery-task-meta-<id>` | string (TTL) | the result backend; also a pub/sub channel |
//! | `/<db>.celeryev/<type>` | pub/sub channel | events |
//! | `stackdesk:dead_letter` | list | messages that cannot be run (ours) |

pub mod backend;
pub mod broker;
pub mod clock;
pub mod consumer;
pub mod control;
pub mod error;
pub mod events;
pub mod message;
pub mod producer;
pub mod pyjson;
pub mod queue;
pub mod repr;
pub mod send;
pub mod signature;
pub mod time;
pub mod worker;

pub use backend::{ExceptionInfo, ResultBackend, ResultMeta, TaskState, result_key};
pub use broker::{Broker, BrokerOptions, DEFAULT_DEAD_LETTER_KEY, Restored};
pub use consumer::{Consumer, Delivery, Received};
pub use error::{DecodeError, Error, Result};
pub use events::{Event, EventDispatcher, EventKind, EventReceiver};
pub use message::{Envelope, TaskBody, TaskHeaders, TaskMessage};
pub use producer::Producer;
pub use send::{DEFAULT_QUEUE, SendOptions};
pub use worker::{Registry, TaskContext, TaskError, TaskOptions, TaskResult, Worker, WorkerConfig, WorkerSummary};
