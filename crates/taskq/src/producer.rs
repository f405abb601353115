//! Publishing task messages the way `app.send_task` does.

use std::sync::Arc;

use crate::broker::Broker;
use crate::error::Result;
use crate::message::TaskMessage;
use crate::queue;

/// Publishes task messages the way `app.send_task` does.
#[derive(Debug, Clone)]
pub struct Producer {
    broker: Broker,
    /// Queues whose kombu bindings this producer already declared (kombu declares once per
    /// connection; the second and later publishes are a bare LPUSH).
    declared: Arc<std::sync::Mutex<std::collections::HashSet<String>>>,
}

impl Producer {
    /// A producer on `broker`.
    pub fn new(broker: Broker) -> Self {
        Self { broker, declared: Arc::default() }
    }

    /// LPUSHes `message` onto its queue list (after declaring the queue's binding once, as kombu
    /// does, so Python tools that read bindings see the queue).
    pub async fn publish(&self, message: &TaskMessage) -> Result<()> {
        let payload = message.to_json()?;
        let queue = message.envelope.properties.delivery_info.routing_key.clone();
        let mut conn = self.broker.connection();
        let mut pipe = redis::pipe();
        if self.needs_declare(&queue) {
            let member = queue::binding_member(&queue, &queue);
            pipe.sadd(format!("_kombu.binding.{queue}"), &member).ignore();
            pipe.sadd(format!("_kombu.binding_permanent.{queue}"), &member).ignore();
        }
        pipe.lpush(message.queue_key(), payload).ignore();
        pipe.query_async::<()>(&mut conn).await?;
        Ok(())
    }

    /// Publishes many messages in one round trip (used by benchmarks and bulk producers).
    pub async fn publish_many(&self, messages: &[TaskMessage]) -> Result<()> {
        let mut pipe = redis::pipe();
        for message in messages {
            pipe.lpush(message.queue_key(), message.to_json()?).ignore();
        }
        let mut conn = self.broker.connection();
        pipe.query_async::<()>(&mut conn).await?;
        Ok(())
    }

    fn needs_declare(&self, queue: &str) -> bool {
        match self.declared.lock() {
            Ok(mut declared) => declared.insert(queue.to_string()),
            Err(_) => true,
        }
    }

    /// The broker this producer publishes to.
    pub fn broker(&self) -> &Broker {
        &self.broker
    }
}
