//! The OpenAPI document, generated from the handlers and types above.

use utoipa::OpenApi;

/// The whole API.
#[derive(OpenApi)]
#[openapi(
    info(title = "Stackdesk", description = "Products API: creating a product queues its Telegram notification, run by a Celery-compatible worker."),
    paths(
        crate::products::create, crate::products::list, crate::products::get,
        crate::tasks::get, crate::tasks::list, crate::health::health, crate::live::events,
        crate::control::revoke, crate::control::retry, crate::control::purge, crate::control::workers,
        crate::products::create_sync,
    ),
    components(schemas(
        crate::products::ProductIn, crate::products::Product, crate::history::TaskView, crate::history::TaskPage,
        crate::history::TaskErrorView, crate::history::StepView, crate::error::HttpError, crate::error::ValidationErrorBody,
        crate::error::FieldError, crate::health::Health, crate::control::WorkerView,
        crate::products::SyncOutcome,
    )),
    tags((name = "products"), (name = "tasks"), (name = "health"), (name = "live"),
        (name = "demo", description = "For comparisons in class; not part of the original system"))
)]
pub struct ApiDoc;
