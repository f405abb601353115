//! The monitor's OpenAPI document, generated from the handlers and types.

use utoipa::OpenApi;

/// The whole monitor.
#[derive(OpenApi)]
#[openapi(
    info(title = "Stackdesk monitor", description = "Task history, live feed and controls for a Celery 5 system on Redis, whatever runs as its API and its workers (Flower's role)."),
    paths(
        super::tasks::list, super::tasks::one, super::tasks::revoke, super::tasks::retry,
        super::queue::purge, super::workers::list, super::events::events, super::health::health,
        super::redis::now, super::redis::key,
    ),
    components(schemas(
        crate::model::TaskView, crate::model::TaskPage, crate::model::TaskErrorView, crate::model::StepView,
        crate::model::WorkerView, crate::model::WorkerEventKind, super::tasks::Revoked, super::tasks::Retried,
        super::queue::Purged, web::health::Health, web::Detail, web::ValidationErrorBody, web::FieldError,
    )),
    tags((name = "tasks"), (name = "workers"), (name = "live"), (name = "health"),
        (name = "redis", description = "What Redis holds now, for the diagrams"))
)]
pub struct MonitorDoc;
