//! Products in Redis, created together with their task message (keys: [`layout::keys`]).

use std::sync::OnceLock;
use std::time::Duration;

use layout::keys;
use layout::record::{self, Sent};
use redis::Script;
use redis::aio::ConnectionManager;
use serde_json::Map;
use taskq::{SendOptions, TaskMessage};
use web::{Db, WebError, WebResult};

use crate::model::{Product, ProductIn};

/// The notification task's name (as the worker registers it).
pub const TASK_NAME: &str = worker::TASK_NAME;

/// Reads and writes products.
#[derive(Clone)]
pub struct Store {
    /// Every call fails with 503 after the API's Redis timeout.
    db: Db,
    /// Most tasks the history keeps (the PENDING record written with each product counts).
    history_max: usize,
}

fn create_script() -> &'static Script {
    static SCRIPT: OnceLock<Script> = OnceLock::new();
    SCRIPT.get_or_init(|| Script::new(&layout::record::with_history_trim(include_str!("lua/create_product.lua"))))
}

impl Store {
    /// A store on `conn`; every call fails after `timeout`.
    pub fn new(conn: ConnectionManager, timeout: Duration, history_max: usize) -> Self {
        Self { db: Db::new(conn, timeout), history_max }
    }

    /// The connection with its deadline (for health checks).
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Stores a product, queues `send_tg_notification(product)`, records the task as PENDING and
    /// announces the product, atomically.
    pub async fn create(&self, input: ProductIn) -> WebResult<Product> {
        let mut conn = self.db.conn();
        let id: u64 = self.db.call(redis::cmd("INCR").arg(keys::NEXT_PRODUCT_ID).query_async(&mut conn)).await?;
        let created = chrono::Utc::now();
        let mut product = Product {
            id,
            name: input.name,
            price: input.price,
            description: input.description,
            created_at: taskq::time::isoformat(created),
            task_id: String::new(),
        };
        let message = TaskMessage::new(TASK_NAME, vec![product.as_task_arg()], Map::new(), &SendOptions::default());
        product.task_id = message.id().to_string();
        let sent_at = created.timestamp_micros() as f64 / 1e6;
        let sent = Sent {
            task_id: message.id(),
            name: TASK_NAME,
            args: message.args(),
            product_id: Some(id),
            sent_at,
            retry_of: None,
        };
        let product_json = serde_json::to_string(&product).map_err(|e| WebError::Internal(e.to_string()))?;
        let [binding, binding_permanent] = keys::bindings(keys::QUEUE);
        let mut invocation = create_script().prepare_invoke();
        invocation
            .key(keys::product(id))
            .key(keys::PRODUCTS)
            .key(message.queue_key())
            .key(binding)
            .key(binding_permanent)
            .key(keys::task(message.id()))
            .key(keys::TASKS)
            .arg(id)
            .arg(product_json)
            .arg(message.to_json()?)
            .arg(taskq::queue::binding_member(keys::QUEUE, keys::QUEUE))
            .arg(record::pending(&sent))
            .arg(sent_at)
            .arg(message.id())
            .arg(self.history_max)
            .arg(keys::TASK_PREFIX)
            .arg(keys::PRODUCT_CHANNEL);
        let _: i64 = self.db.call(invocation.invoke_async(&mut conn)).await?;
        tracing::info!(product_id = id, task_id = %product.task_id, "product created; notification queued");
        Ok(product)
    }

    /// Products, newest first.
    pub async fn list(&self, limit: u64, offset: u64) -> WebResult<Vec<Product>> {
        let mut conn = self.db.conn();
        let stop = offset.saturating_add(limit).saturating_sub(1);
        let ids: Vec<u64> = self
            .db
            .call(redis::cmd("ZREVRANGE").arg(keys::PRODUCTS).arg(offset).arg(stop).query_async(&mut conn))
            .await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = ids.iter().map(|id| keys::product(*id)).collect();
        let raw: Vec<Option<String>> = self.db.call(redis::cmd("MGET").arg(&keys).query_async(&mut conn)).await?;
        Ok(raw.iter().flatten().filter_map(|json| serde_json::from_str(json).ok()).collect())
    }

    /// One product.
    pub async fn get(&self, id: u64) -> WebResult<Option<Product>> {
        let mut conn = self.db.conn();
        let raw: Option<String> = self.db.call(redis::cmd("GET").arg(keys::product(id)).query_async(&mut conn)).await?;
        raw.map(|json| serde_json::from_str(&json).map_err(|e| WebError::Internal(format!("product {id}: {e}"))))
            .transpose()
    }
}
