//! Products in Redis, created together with their task message.
//!
//! Keys (all ours start with `stackdesk:`):
//! | key | type | holds |
//! |---|---|---|
//! | `stackdesk:products:next_id` | string | the last product id handed out (INCR) |
//! | `stackdesk:product:<id>` | string | the product's JSON |
//! | `stackdesk:products` | zset | product ids, scored by id (newest first = highest) |

use std::time::Duration;

use redis::Script;
use redis::aio::ConnectionManager;
use serde_json::Map;
use taskq::{SendOptions, TaskMessage};

use crate::error::{ApiError, ApiResult};
use crate::history;
use crate::products::{Product, ProductIn};

/// The product id counter.
pub const NEXT_ID_KEY: &str = "stackdesk:products:next_id";
/// Product ids, newest last.
pub const PRODUCTS_KEY: &str = "stackdesk:products";
/// The queue notification tasks go to.
pub const QUEUE: &str = taskq::DEFAULT_QUEUE;

/// The key of product `id`.
pub fn product_key(id: u64) -> String {
    format!("stackdesk:product:{id}")
}

/// Reads and writes products.
#[derive(Clone)]
pub struct Store {
    conn: ConnectionManager,
    /// How long any Redis call may take before the request fails with 503.
    timeout: Duration,
    /// Most tasks the history keeps.
    history_max: usize,
    create: &'static Script,
}

fn create_script() -> &'static Script {
    static SCRIPT: std::sync::OnceLock<Script> = std::sync::OnceLock::new();
    SCRIPT.get_or_init(|| Script::new(include_str!("lua/create_product.lua")))
}

impl Store {
    /// A store on `conn`; every call fails after `timeout`.
    pub fn new(conn: ConnectionManager, timeout: Duration, history_max: usize) -> Self {
        Self { conn, timeout, history_max, create: create_script() }
    }

    /// Runs a Redis call with the store's timeout.
    pub async fn call<T>(&self, work: impl Future<Output = Result<T, redis::RedisError>>) -> ApiResult<T> {
        match tokio::time::timeout(self.timeout, work).await {
            Ok(result) => result.map_err(ApiError::from),
            Err(_) => Err(ApiError::Unavailable(format!("no answer within {:?}", self.timeout))),
        }
    }

    /// The connection (for the history and health checks).
    pub fn connection(&self) -> ConnectionManager {
        self.conn.clone()
    }

    /// Stores a product and queues `send_tg_notification(product)` atomically.
    pub async fn create(&self, input: ProductIn) -> ApiResult<Product> {
        let mut conn = self.conn.clone();
        let id: u64 = self.call(redis::cmd("INCR").arg(NEXT_ID_KEY).query_async(&mut conn)).await?;
        let created = chrono::Utc::now();
        let mut product = Product {
            id,
            name: input.name,
            price: input.price,
            description: input.description,
            created_at: taskq::time::isoformat(created),
            task_id: String::new(),
        };
        let message =
            TaskMessage::new(worker::TASK_NAME, vec![product.as_task_arg()], Map::new(), &SendOptions::default());
        product.task_id = message.id().to_string();
        let sent_at = created.timestamp_micros() as f64 / 1e6;
        let record = history::pending_record(&message, Some(id), sent_at, None);
        let product_json = serde_json::to_string(&product).map_err(|e| ApiError::Internal(e.to_string()))?;
        let mut invocation = self.create.prepare_invoke();
        invocation
            .key(product_key(id))
            .key(PRODUCTS_KEY)
            .key(message.queue_key())
            .key(format!("_kombu.binding.{QUEUE}"))
            .key(format!("_kombu.binding_permanent.{QUEUE}"))
            .key(history::record_key(message.id()))
            .key(history::TASKS_KEY)
            .arg(id)
            .arg(product_json)
            .arg(message.to_json()?)
            .arg(taskq::queue::binding_member(QUEUE, QUEUE))
            .arg(record)
            .arg(sent_at)
            .arg(message.id())
            .arg(self.history_max)
            .arg(history::RECORD_PREFIX);
        let _: i64 = self.call(invocation.invoke_async(&mut conn)).await?;
        tracing::info!(product_id = id, task_id = %product.task_id, "product created; notification queued");
        Ok(product)
    }

    /// Products, newest first.
    pub async fn list(&self, limit: u64, offset: u64) -> ApiResult<Vec<Product>> {
        let mut conn = self.conn.clone();
        let stop = offset.saturating_add(limit).saturating_sub(1);
        let ids: Vec<u64> =
            self.call(redis::cmd("ZREVRANGE").arg(PRODUCTS_KEY).arg(offset).arg(stop).query_async(&mut conn)).await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = ids.iter().map(|id| product_key(*id)).collect();
        let raw: Vec<Option<String>> = self.call(redis::cmd("MGET").arg(&keys).query_async(&mut conn)).await?;
        Ok(raw.iter().flatten().filter_map(|json| serde_json::from_str(json).ok()).collect())
    }

    /// One product.
    pub async fn get(&self, id: u64) -> ApiResult<Option<Product>> {
        let mut conn = self.conn.clone();
        let raw: Option<String> = self.call(redis::cmd("GET").arg(product_key(id)).query_async(&mut conn)).await?;
        raw.map(|json| serde_json::from_str(&json).map_err(|e| ApiError::Internal(format!("product {id}: {e}"))))
            .transpose()
    }
}
