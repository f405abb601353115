//! Every Redis key and channel Stackdesk uses, ours (`stackdesk:` prefix) and Celery's.
//!
//! | key | type | holds | written by |
//! |---|---|---|---|
//! | `stackdesk:products:next_id` | string | the last product id handed out (INCR) | API |
//! | `stackdesk:product:<id>` | string | the product's JSON | API |
//! | `stackdesk:products` | zset | product ids, scored by id | API |
//! | `stackdesk:tasks` | zset | task ids, scored by when they were sent | API (its own sends), monitor |
//! | `stackdesk:task:<id>` | string | the task's history record (JSON, see [`crate::record`]) | API (PENDING), monitor |
//! | `stackdesk:workers` | hash | hostname → the worker's last event (JSON) | monitor |
//! | `stackdesk:revoked` | zset | revoked task ids, scored by when the revoke expires | monitor; read by our worker |
//! | `stackdesk:dead_letter` | list | messages no worker can run, newest first | our worker |
//! | channel `stackdesk:events:product` | pub/sub | a product just created (JSON) | API; relayed by the monitor |

/// The queue the notification task goes to (Celery's default queue).
pub const QUEUE: &str = taskq::DEFAULT_QUEUE;

/// The product id counter.
pub const NEXT_PRODUCT_ID: &str = "stackdesk:products:next_id";
/// Product ids, scored by id.
pub const PRODUCTS: &str = "stackdesk:products";
/// Prefix of product keys.
pub const PRODUCT_PREFIX: &str = "stackdesk:product:";
/// Task ids of the history, scored by when they were sent.
pub const TASKS: &str = "stackdesk:tasks";
/// Prefix of history records.
pub const TASK_PREFIX: &str = "stackdesk:task:";
/// Known workers: hostname → their last worker event (JSON).
pub const WORKERS: &str = "stackdesk:workers";
/// Revoked task ids, scored by when the revoke expires (Celery keeps revokes 3 h).
pub const REVOKED: &str = "stackdesk:revoked";
/// Messages that cannot be run.
pub const DEAD_LETTER: &str = taskq::DEFAULT_DEAD_LETTER_KEY;
/// The channel on which the API announces each product it created.
pub const PRODUCT_CHANNEL: &str = "stackdesk:events:product";

/// The key of product `id`.
pub fn product(id: u64) -> String {
    format!("{PRODUCT_PREFIX}{id}")
}

/// The history record of task `id`.
pub fn task(id: &str) -> String {
    format!("{TASK_PREFIX}{id}")
}

/// The result of task `id` (Celery's `celery-task-meta-<id>`).
pub fn result(id: &str) -> String {
    taskq::result_key(id)
}

/// kombu's queue declaration sets of `queue` (`_kombu.binding.<q>`, `_kombu.binding_permanent.<q>`).
pub fn bindings(queue: &str) -> [String; 2] {
    [format!("{BINDING_PREFIX}{queue}"), format!("{BINDING_PERMANENT_PREFIX}{queue}")]
}

/// Prefix of kombu's queue declarations.
pub const BINDING_PREFIX: &str = "_kombu.binding.";
/// Prefix of kombu's permanent queue declarations.
pub const BINDING_PERMANENT_PREFIX: &str = "_kombu.binding_permanent.";
/// kombu's in-flight messages (hash).
pub const UNACKED: &str = taskq::broker::UNACKED_KEY;
/// kombu's in-flight delivery tags by delivery time (zset).
pub const UNACKED_INDEX: &str = taskq::broker::UNACKED_INDEX_KEY;
/// kombu's mutex over `restore_visible`.
pub const UNACKED_MUTEX: &str = taskq::broker::UNACKED_MUTEX_KEY;
/// Prefix of Celery's results.
pub const RESULT_PREFIX: &str = taskq::backend::RESULT_KEY_PREFIX;
