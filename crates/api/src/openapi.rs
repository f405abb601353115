//! The API's OpenAPI document, generated from the handlers and types.

use utoipa::OpenApi;

/// The whole API.
#[derive(OpenApi)]
#[openapi(
    info(title = "Stackdesk", description = "Products API: creating a product queues its Telegram notification, run by a Celery-compatible worker. The task history, live feed and controls are the monitor's (on MONITOR_PORT)."),
    paths(
        crate::products::create, crate::products::list, crate::products::one, crate::health::health,
        crate::demo::create_sync,
    ),
    components(schemas(
        crate::model::ProductIn, crate::model::Product, crate::model::SyncOutcome, web::health::Health,
        web::Detail, web::ValidationErrorBody, web::FieldError,
    )),
    tags((name = "products"), (name = "health"),
        (name = "demo", description = "For comparisons in class; not part of the original system"))
)]
pub struct ApiDoc;
