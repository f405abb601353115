//! What every handler shares.

use std::sync::Arc;
use std::time::Duration;

use taskq::Broker;
use tokio_util::sync::CancellationToken;

use crate::store::Store;

/// Limits and timeouts of the API.
#[derive(Debug, Clone)]
pub struct ApiOptions {
    /// Largest accepted request body, in bytes (413 beyond).
    pub body_limit: usize,
    /// How long one Redis call may take before the request fails with 503.
    pub redis_timeout: Duration,
    /// How long a request may take in all before it fails with 504.
    pub request_timeout: Duration,
    /// Most tasks the history keeps (the PENDING record written with each product counts).
    pub history_max: usize,
    /// Origins whose pages may call the API from a browser (CORS); empty: no CORS headers.
    pub cors_origins: Vec<String>,
    /// The notification as the worker sends it, for the synchronous variant
    /// (`POST /demo/products/sync`); `None` turns that endpoint off (503).
    pub notifier: Option<worker::notify::Notifier>,
}

impl Default for ApiOptions {
    fn default() -> Self {
        Self {
            body_limit: 64 * 1024,
            redis_timeout: Duration::from_secs(1),
            request_timeout: Duration::from_secs(10),
            history_max: 10_000,
            cors_origins: Vec::new(),
            notifier: None,
        }
    }
}

/// The handlers' shared state. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    options: ApiOptions,
    /// Cancels a synchronous demo's notification at shutdown.
    shutdown: CancellationToken,
}

impl AppState {
    /// State over `broker`'s connection.
    pub fn new(broker: &Broker, options: ApiOptions, shutdown: CancellationToken) -> Self {
        let store = Store::new(broker.connection(), options.redis_timeout, options.history_max);
        Self { inner: Arc::new(Inner { store, options, shutdown }) }
    }

    /// The product store.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The options it was built with.
    pub fn options(&self) -> &ApiOptions {
        &self.inner.options
    }

    /// The notifier of the synchronous variant, if any.
    pub fn notifier(&self) -> Option<&worker::notify::Notifier> {
        self.inner.options.notifier.as_ref()
    }

    /// Fires at shutdown.
    pub fn shutdown(&self) -> &CancellationToken {
        &self.inner.shutdown
    }
}

impl web::BodyLimit for AppState {
    fn body_limit(&self) -> usize {
        self.inner.options.body_limit
    }
}

impl web::layers::RequestTimeout for AppState {
    fn request_timeout(&self) -> Duration {
        self.inner.options.request_timeout
    }
}
