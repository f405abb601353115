//! `/demo/products/sync`: the course's variant without a background worker, for comparisons in
//! class.

use std::time::Instant;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Map, json};
use web::{Detail, JsonBody, ValidationErrorBody, WebError, WebResult};

use crate::model::{ProductIn, SyncOutcome, validate};
use crate::products::{SERVER_TIMING, server_timing};
use crate::state::AppState;

/// The routes of this resource (outside the request timeout: it waits for the whole
/// notification on purpose).
pub fn router() -> Router<AppState> {
    Router::new().route("/demo/products/sync", post(create_sync))
}

/// The course's variant **without** a background worker, for comparison: validates the product
/// and sends its notification inside the request, exactly as the worker would, then answers.
///
/// The client waits for the whole send (`NOTIFY_SIMULATED_SECS`, or the real Telegram call).
/// Nothing is stored and no task is queued: it exists to be measured beside `POST /products/`.
#[utoipa::path(
    post, path = "/demo/products/sync", tag = "demo",
    request_body = ProductIn,
    responses(
        (status = 200, description = "Checked and notified; nothing stored", body = SyncOutcome,
            headers(("Server-Timing" = String, description = "`validate;dur=<ms>, notify;dur=<ms>`"))),
        (status = 413, description = "Body too large", body = Detail),
        (status = 415, description = "Body is not JSON", body = Detail),
        (status = 422, description = "Invalid product or malformed JSON", body = ValidationErrorBody),
        (status = 502, description = "The notification failed (the worker would retry or fail the task)", body = Detail),
        (status = 503, description = "This API was started without a notifier", body = Detail),
    )
)]
pub async fn create_sync(
    State(state): State<AppState>,
    JsonBody(body): JsonBody,
) -> WebResult<(StatusCode, HeaderMap, Json<SyncOutcome>)> {
    let began = Instant::now();
    let input = validate(&body).map_err(WebError::Validation)?;
    let validated = Instant::now();
    let Some(notifier) = state.notifier() else {
        return Err(WebError::NotConfigured(
            "This API was started without a notifier, so it cannot run the synchronous variant",
        ));
    };
    let product = json!({"id": null, "name": input.name, "price": input.price, "description": input.description,
        "created_at": taskq::time::isoformat(chrono::Utc::now())});
    let ctx = taskq::TaskContext {
        id: String::new(),
        name: worker::TASK_NAME.into(),
        args: vec![product],
        kwargs: Map::new(),
        retries: 0,
        hostname: "api (synchronous demo)".into(),
        max_retries: Some(0),
        cancel: state.shutdown().child_token(),
    };
    let result = notifier.run(ctx).await;
    let notified = Instant::now();
    let notification = match result {
        Ok(value) => value,
        Err(taskq::TaskError::Fail(error) | taskq::TaskError::Retry { error, .. }) => {
            let why = error.exc_message.first().map_or_else(String::new, taskq::repr::repr);
            return Err(WebError::BadGateway(format!("The notification failed: {}: {why}", error.exc_type)));
        }
    };
    let mut headers = HeaderMap::new();
    headers.insert(
        SERVER_TIMING.clone(),
        server_timing(&[("validate", validated - began), ("notify", notified - validated)]),
    );
    let outcome = SyncOutcome {
        name: input.name,
        price: input.price,
        notification,
        notify_secs: (notified - validated).as_secs_f64(),
    };
    Ok((StatusCode::OK, headers, Json(outcome)))
}
