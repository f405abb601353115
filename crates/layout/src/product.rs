//! A product as stored at `stackdesk:product:<id>`, answered by the API and announced on
//! [`PRODUCT_CHANNEL`](crate::keys::PRODUCT_CHANNEL) when created.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use ts_rs::TS;

/// A stored product.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema, TS)]
#[ts(export_to = "Product.ts")]
pub struct Product {
    /// Assigned by the API, increasing.
    pub id: u64,
    /// The trimmed name.
    pub name: String,
    /// The price.
    pub price: f64,
    /// The description, if any.
    pub description: Option<String>,
    /// When it was created (ISO-8601, UTC).
    pub created_at: String,
    /// The id of its notification task.
    pub task_id: String,
}

impl Product {
    /// The product as the notification task receives it (without `task_id`, like the original).
    pub fn as_task_arg(&self) -> Value {
        json!({"id": self.id, "name": self.name, "price": self.price, "description": self.description, "created_at": self.created_at})
    }
}
