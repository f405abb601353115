//! What a Redis key stands for, found from its name: the UI asks by role ("the queue", "the
//! history") and never spells a key.

use serde::Serialize;
use ts_rs::TS;

use crate::keys;

/// What a key is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export_to = "KeyRole.ts")]
pub enum KeyRole {
    /// The task queue (`celery`, and kombu's priority sub-queues `celery\x06\x163`, …).
    Queue,
    /// kombu's in-flight messages (`unacked`).
    Unacked,
    /// kombu's in-flight delivery tags by time (`unacked_index`).
    UnackedIndex,
    /// kombu's restore mutex (`unacked_mutex`).
    UnackedMutex,
    /// kombu's queue declaration (`_kombu.binding.<queue>`).
    Binding,
    /// kombu's permanent queue declaration (`_kombu.binding_permanent.<queue>`).
    BindingPermanent,
    /// A task's result (`celery-task-meta-<id>`).
    Result,
    /// The product id counter.
    NextProductId,
    /// The product ids.
    Products,
    /// One product (`stackdesk:product:<id>`).
    Product,
    /// The history's task ids.
    Tasks,
    /// One task's history record (`stackdesk:task:<id>`).
    Task,
    /// Known workers.
    Workers,
    /// Revoked task ids.
    Revoked,
    /// Messages that cannot be run.
    DeadLetter,
    /// Anything else.
    Other,
}

impl KeyRole {
    /// Every role, in the order the Redis-keys diagram lists them.
    pub const ALL: [KeyRole; 16] = [
        KeyRole::Queue,
        KeyRole::Unacked,
        KeyRole::UnackedIndex,
        KeyRole::UnackedMutex,
        KeyRole::Binding,
        KeyRole::BindingPermanent,
        KeyRole::Result,
        KeyRole::NextProductId,
        KeyRole::Products,
        KeyRole::Product,
        KeyRole::Tasks,
        KeyRole::Task,
        KeyRole::Workers,
        KeyRole::Revoked,
        KeyRole::DeadLetter,
        KeyRole::Other,
    ];

    /// The role of `key`.
    pub fn of(key: &str) -> KeyRole {
        if taskq::queue::queue_of_key(key) == keys::QUEUE {
            return KeyRole::Queue;
        }
        match key {
            keys::UNACKED => return KeyRole::Unacked,
            keys::UNACKED_INDEX => return KeyRole::UnackedIndex,
            keys::UNACKED_MUTEX => return KeyRole::UnackedMutex,
            keys::NEXT_PRODUCT_ID => return KeyRole::NextProductId,
            keys::PRODUCTS => return KeyRole::Products,
            keys::TASKS => return KeyRole::Tasks,
            keys::WORKERS => return KeyRole::Workers,
            keys::REVOKED => return KeyRole::Revoked,
            keys::DEAD_LETTER => return KeyRole::DeadLetter,
            _ => {}
        }
        KeyRole::ALL
            .into_iter()
            .find(|role| role.prefix().is_some_and(|p| key.starts_with(p)))
            .unwrap_or(KeyRole::Other)
    }

    /// The shared prefix of a role that names a family of keys (one per task, product, queue).
    pub fn prefix(self) -> Option<&'static str> {
        match self {
            KeyRole::Binding => Some(keys::BINDING_PREFIX),
            KeyRole::BindingPermanent => Some(keys::BINDING_PERMANENT_PREFIX),
            KeyRole::Result => Some(keys::RESULT_PREFIX),
            KeyRole::Product => Some(keys::PRODUCT_PREFIX),
            KeyRole::Task => Some(keys::TASK_PREFIX),
            _ => None,
        }
    }

    /// The family's pattern (`celery-task-meta-*`), for a role that names a family.
    pub fn pattern(self) -> Option<String> {
        self.prefix().map(|p| format!("{p}*"))
    }

    /// Whether the key is one of Stackdesk's own (`stackdesk:` prefix) rather than Celery's.
    pub fn is_ours(self) -> bool {
        matches!(
            self,
            KeyRole::NextProductId
                | KeyRole::Products
                | KeyRole::Product
                | KeyRole::Tasks
                | KeyRole::Task
                | KeyRole::Workers
                | KeyRole::Revoked
                | KeyRole::DeadLetter
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_we_write_has_its_role() {
        assert_eq!(KeyRole::of("celery"), KeyRole::Queue);
        assert_eq!(KeyRole::of("celery\x06\x163"), KeyRole::Queue);
        assert_eq!(KeyRole::of("unacked"), KeyRole::Unacked);
        assert_eq!(KeyRole::of("unacked_index"), KeyRole::UnackedIndex);
        assert_eq!(KeyRole::of("_kombu.binding.celery"), KeyRole::Binding);
        assert_eq!(KeyRole::of("_kombu.binding_permanent.celery"), KeyRole::BindingPermanent);
        assert_eq!(KeyRole::of(&keys::result("abc")), KeyRole::Result);
        assert_eq!(KeyRole::of(&keys::product(7)), KeyRole::Product);
        assert_eq!(KeyRole::of(keys::PRODUCTS), KeyRole::Products);
        assert_eq!(KeyRole::of(keys::NEXT_PRODUCT_ID), KeyRole::NextProductId);
        assert_eq!(KeyRole::of(&keys::task("abc")), KeyRole::Task);
        assert_eq!(KeyRole::of(keys::TASKS), KeyRole::Tasks);
        assert_eq!(KeyRole::of(keys::WORKERS), KeyRole::Workers);
        assert_eq!(KeyRole::of(keys::REVOKED), KeyRole::Revoked);
        assert_eq!(KeyRole::of(keys::DEAD_LETTER), KeyRole::DeadLetter);
        assert_eq!(KeyRole::of("something-else"), KeyRole::Other);
        assert_eq!(KeyRole::Task.pattern().as_deref(), Some("stackdesk:task:*"));
        assert!(KeyRole::Workers.is_ours() && !KeyRole::Queue.is_ours());
    }
}
