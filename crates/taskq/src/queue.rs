//! Queue keys on Redis, as kombu names them.
//!
//! kombu emulates AMQP priorities with up to four lists per queue: the plain key for priorities 0–2
//! and `<queue>\x06\x16<step>` for the steps 3, 6 and 9. Consumers pop the lists in priority-major
//! order, so on Redis priority 0 is served first and 9 last (the opposite of AMQP).

/// kombu's separator in priority keys and binding members.
pub const SEP: &str = "\x06\x16";

/// kombu's `PRIORITY_STEPS`.
pub const PRIORITY_STEPS: [u8; 4] = [0, 3, 6, 9];

/// The Redis list holding messages of `priority` for `queue` (kombu's `_q_for_pri`).
pub fn key_for_priority(queue: &str, priority: u8) -> String {
    let step = PRIORITY_STEPS.iter().rev().copied().find(|step| priority.min(9) >= *step).unwrap_or(0);
    if step == 0 { queue.to_string() } else { format!("{queue}{SEP}{step}") }
}

/// Every list of `queue`, highest priority first.
pub fn keys_of(queue: &str) -> impl Iterator<Item = String> + '_ {
    PRIORITY_STEPS.iter().map(move |p| key_for_priority(queue, *p))
}

/// The queue a priority list belongs to (`celery\x06\x163` → `celery`).
pub fn queue_of_key(key: &str) -> &str {
    key.split_once(SEP).map_or(key, |(queue, _)| queue)
}

/// Keys to pop for `queues`, in kombu's priority-major order, starting the queue cycle at `rotate`
/// so that several queues are served fairly.
pub fn consume_order(queues: &[String], rotate: usize) -> Vec<String> {
    let n = queues.len().max(1);
    PRIORITY_STEPS
        .iter()
        .flat_map(|p| (0..queues.len()).map(move |i| key_for_priority(&queues[(i + rotate) % n], *p)))
        .collect()
}

/// The member kombu adds to `_kombu.binding.<exchange>` for a queue bound with its own name.
pub fn binding_member(routing_key: &str, queue: &str) -> String {
    format!("{routing_key}{SEP}{SEP}{queue}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities_map_to_kombu_steps() {
        assert_eq!(key_for_priority("celery", 0), "celery");
        assert_eq!(key_for_priority("celery", 2), "celery");
        assert_eq!(key_for_priority("celery", 5), "celery\x06\x163");
        assert_eq!(key_for_priority("celery", 9), "celery\x06\x169");
        assert_eq!(key_for_priority("celery", 200), "celery\x06\x169");
        assert_eq!(queue_of_key("celery\x06\x166"), "celery");
    }

    #[test]
    fn consumption_is_priority_major() {
        let queues = vec!["a".to_string(), "b".to_string()];
        assert_eq!(consume_order(&queues, 1)[..4], ["b", "a", "b\x06\x163", "a\x06\x163"]);
    }
}
