//! The local control endpoint: the UI's files and a small JSON API over the [`Stack`], so the
//! very UI of the app also runs in a plain browser — for projecting it, and for tests in Chromium.
//!
//! It listens on loopback only, and every request must name this endpoint in its `Host` header
//! (no DNS rebinding) and, when it has an `Origin`, come from this endpoint's own page (no other
//! site can drive it). The API also needs the per-run token, which the app puts in the URL it
//! opens (`/#token=…`: a fragment, never sent over the network or in a `Referer`).
//!
//! | method and path | does |
//! |---|---|
//! | `GET /api/snapshot` | the dashboard's facts |
//! | `POST /api/stack/{start,stop,restart}` | the whole stack |
//! | `POST /api/processes/{process}/{start,stop,restart,kill}` | one process (`kill`: as a crash) |
//! | `GET /api/processes/{process}/logs?lines=N` | its last lines |
//! | `GET`, `PUT /api/settings` | the settings (422 names every wrong key) |
//! | `POST /api/telegram/test` | `getMe`, then a test message |
//! | `POST /api/open/{swagger,monitor-docs,data-dir,logs}` | opens it on this machine |
//! | `GET /api/redis/server` | whether a redis-server for a managed Redis can be found, and where |
//! | `PUT /api/exports/{name}` | saves an exported diagram (`.svg`, `.png`) under the data folder |
//! | `GET /api/events?token=` | Server-Sent Events: states, log lines, settings (the one path that takes the token in its query) |

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::Stream;
use serde::Deserialize;
use serde_json::{Value, json};
use supervisor::ProcessKind;
use tokio::net::TcpListener;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

use crate::actions::{OpenTarget, ProcessAction, StackAction};
use crate::assets::Assets;
use crate::error::{DeskError, ErrorKind};
use crate::prefs::SettingsUpdate;
use crate::stack::{DeskEvent, Stack};

/// The content security policy of the UI's pages: our own files, and HTTP to loopback (the API).
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; font-src 'self'; connect-src 'self' http://127.0.0.1:* http://localhost:*; \
     object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// What the endpoint's handlers share.
#[derive(Clone)]
pub struct ControlState {
    stack: Arc<Stack>,
    assets: Arc<dyn Assets>,
    /// The secret of this run; the API refuses requests without it.
    token: Arc<str>,
    /// The port we listen on: `Host` and `Origin` must name it.
    port: u16,
    /// Ends the event streams at shutdown.
    shutdown: CancellationToken,
}

impl ControlState {
    /// State for an endpoint on `port` with `token`.
    pub fn new(
        stack: Arc<Stack>,
        assets: Arc<dyn Assets>,
        token: impl Into<Arc<str>>,
        port: u16,
        shutdown: CancellationToken,
    ) -> Self {
        Self { stack, assets, token: token.into(), port, shutdown }
    }
}

/// A fresh random token for one run.
pub fn new_token() -> String {
    let bytes: [u8; 24] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The origins of the endpoint's own page (also allowed to call the API).
pub fn origins(port: u16) -> Vec<String> {
    vec![format!("http://127.0.0.1:{port}"), format!("http://localhost:{port}")]
}

/// The URL that opens the UI in a browser with this run's token.
pub fn browser_url(port: u16, token: &str) -> String {
    format!("http://127.0.0.1:{port}/#token={token}")
}

/// The endpoint.
pub fn router(state: ControlState) -> Router {
    let api = Router::new()
        .route("/api/snapshot", get(snapshot))
        .route("/api/stack/{action}", post(stack_action))
        .route("/api/processes/{process}/logs", get(logs))
        .route("/api/processes/{process}/{action}", post(process_action))
        .route("/api/settings", get(settings).put(save_settings))
        .route("/api/telegram/test", post(test_telegram))
        .route("/api/open/{target}", post(open))
        .route("/api/redis/server", get(redis_server))
        .route(
            "/api/exports/{name}",
            axum::routing::put(save_export).layer(axum::extract::DefaultBodyLimit::max(crate::exports::MAX_BYTES)),
        )
        .route(EVENTS_PATH, get(events))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_token));
    Router::new()
        .merge(api)
        .fallback(get(asset))
        .layer(middleware::from_fn_with_state(state.clone(), same_origin_only))
        .with_state(state)
}

/// Serves [`router`] on `listener` until `shutdown` fires.
pub async fn serve(listener: TcpListener, state: ControlState) -> std::io::Result<()> {
    let shutdown = state.shutdown.clone();
    axum::serve(listener, router(state)).with_graceful_shutdown(shutdown.cancelled_owned()).await
}

fn refuse(status: StatusCode, detail: &str) -> Response {
    (status, Json(json!({"detail": detail}))).into_response()
}

/// `Host` must be this endpoint on loopback; an `Origin`, if any, must be its own page.
async fn same_origin_only(State(state): State<ControlState>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or_default();
    let hosts = [format!("127.0.0.1:{}", state.port), format!("localhost:{}", state.port)];
    if !hosts.iter().any(|h| h == host) {
        return refuse(StatusCode::MISDIRECTED_REQUEST, "this endpoint answers only to 127.0.0.1 and localhost");
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or_default();
        if !origins(state.port).iter().any(|o| o == origin) {
            return refuse(StatusCode::FORBIDDEN, "requests from other web pages are not allowed");
        }
    }
    next.run(request).await
}

#[derive(Debug, Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

/// Constant-time comparison, so the token cannot be guessed byte by byte from timings.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The API needs this run's token: `Authorization: Bearer …`; `?token=` only for the event stream
/// (`EventSource` cannot send headers), so a token in a link's query can do nothing else.
async fn require_token(
    State(state): State<ControlState>,
    Query(query): Query<TokenQuery>,
    request: Request,
    next: Next,
) -> Response {
    let bearer = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::to_string);
    let in_query = query.token.filter(|_| request.uri().path() == EVENTS_PATH);
    match bearer.or(in_query) {
        Some(token) if same_secret(token.as_bytes(), state.token.as_bytes()) => next.run(request).await,
        Some(_) => refuse(StatusCode::UNAUTHORIZED, "wrong token: open the link the app shows (Open in browser)"),
        None => refuse(StatusCode::UNAUTHORIZED, "missing token: open the link the app shows (Open in browser)"),
    }
}

/// The event stream's path (the one place a token in the query is taken).
const EVENTS_PATH: &str = "/api/events";

/// A [`DeskError`] as an HTTP answer: `{"detail", "error"}`, and FastAPI's 422 shape for settings.
struct ControlError(DeskError);

impl From<DeskError> for ControlError {
    fn from(err: DeskError) -> Self {
        Self(err)
    }
}

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        let err = self.0;
        let status = err.status();
        let body = err.body();
        if status.is_server_error() {
            tracing::warn!(%err, "control request failed");
        }
        if body.kind == ErrorKind::InvalidSettings {
            // FastAPI's shape, each problem with its own `type` and `ctx` (see `ProblemKind`).
            let detail: Vec<Value> = body
                .problems
                .iter()
                .flatten()
                .map(|p| {
                    let typed = serde_json::to_value(p).unwrap_or(Value::Null);
                    let mut error = json!({"type": typed["type"], "loc": ["body", "values", p.key], "msg": p.message, "input": null});
                    if let Some(ctx) = typed.get("ctx") {
                        error["ctx"] = ctx.clone();
                    }
                    error
                })
                .collect();
            return (status, Json(json!({"detail": detail, "error": body}))).into_response();
        }
        (status, Json(json!({"detail": body.message, "error": body}))).into_response()
    }
}

type ControlResult<T> = Result<Json<T>, ControlError>;

/// A path that names no process, action or target (the UI never sends one): 404 with what was
/// expected.
impl From<PathRejection> for ControlError {
    fn from(rejection: PathRejection) -> Self {
        Self(DeskError::NotFound(rejection.body_text()))
    }
}

async fn snapshot(State(state): State<ControlState>) -> ControlResult<crate::Snapshot> {
    Ok(Json(state.stack.snapshot()))
}

async fn stack_action(
    State(state): State<ControlState>,
    action: Result<Path<StackAction>, PathRejection>,
) -> ControlResult<crate::Snapshot> {
    let Path(action) = action?;
    Ok(Json(state.stack.act(action).await?))
}

async fn process_action(
    State(state): State<ControlState>,
    path: Result<Path<(ProcessKind, ProcessAction)>, PathRejection>,
) -> ControlResult<crate::Snapshot> {
    let Path((process, action)) = path?;
    Ok(Json(state.stack.process_action(process, action).await?))
}

#[derive(Debug, Deserialize)]
struct LogsQuery {
    lines: Option<usize>,
}

async fn logs(
    State(state): State<ControlState>,
    process: Result<Path<ProcessKind>, PathRejection>,
    Query(query): Query<LogsQuery>,
) -> ControlResult<Vec<String>> {
    let Path(process) = process?;
    Ok(Json(state.stack.logs(process, query.lines.unwrap_or(500).min(5000))))
}

async fn settings(State(state): State<ControlState>) -> ControlResult<crate::SettingsView> {
    Ok(Json(state.stack.settings()))
}

async fn save_settings(
    State(state): State<ControlState>,
    Json(update): Json<SettingsUpdate>,
) -> ControlResult<crate::SaveOutcome> {
    Ok(Json(state.stack.save_settings(&update)?))
}

/// The Test Telegram form: values typed but not saved yet win over saved ones.
#[derive(Debug, Default, Deserialize)]
pub struct TelegramTest {
    /// A token typed in the form (otherwise the saved one).
    pub token: Option<String>,
    /// A chat id typed in the form (otherwise the saved one).
    pub chat_id: Option<String>,
}

/// Runs the Telegram check with `form`'s values over the saved ones.
pub async fn test_telegram_with(stack: &Stack, form: TelegramTest) -> crate::Result<crate::telegram::TelegramCheck> {
    let filled = |typed: Option<String>, key: &str| {
        typed.filter(|v| !v.trim().is_empty()).or_else(|| stack.setting(key)).unwrap_or_default()
    };
    let token = filled(form.token, "TELEGRAM_BOT_TOKEN");
    let chat_id = filled(form.chat_id, "TELEGRAM_CHAT_ID");
    let api_url = stack.setting("TELEGRAM_API_URL").unwrap_or_else(|| "https://api.telegram.org".to_string());
    crate::telegram::check(&api_url, &token, &chat_id).await
}

async fn test_telegram(
    State(state): State<ControlState>,
    Json(form): Json<TelegramTest>,
) -> ControlResult<crate::telegram::TelegramCheck> {
    Ok(Json(test_telegram_with(&state.stack, form).await?))
}

/// Opens Swagger UI (the API's or the monitor's), the data folder or the logs folder on this
/// machine. The browser link is the desktop app's own to open.
pub fn open_target(stack: &Stack, target: OpenTarget) -> crate::Result<()> {
    let snapshot = stack.snapshot();
    let what = match target {
        OpenTarget::Swagger => snapshot.docs_url,
        OpenTarget::MonitorDocs => format!("{}/docs", snapshot.monitor_url),
        OpenTarget::DataDir => snapshot.data_dir.display().to_string(),
        OpenTarget::Logs => snapshot.logs_dir.display().to_string(),
        OpenTarget::Browser => return Err(DeskError::NotFound("this page is already open in a browser".into())),
    };
    crate::open::open(&what)
}

async fn open(
    State(state): State<ControlState>,
    target: Result<Path<OpenTarget>, PathRejection>,
) -> ControlResult<Value> {
    let Path(target) = target?;
    open_target(&state.stack, target)?;
    Ok(Json(json!({"opened": target})))
}

async fn redis_server(State(state): State<ControlState>) -> ControlResult<crate::RedisServerCheck> {
    Ok(Json(state.stack.redis_server().await?))
}

async fn save_export(
    State(state): State<ControlState>,
    Path(name): Path<String>,
    body: axum::body::Bytes,
) -> ControlResult<Value> {
    let path = state.stack.save_export(&name, &body)?;
    Ok(Json(json!({"path": path})))
}

async fn events(State(state): State<ControlState>) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let rx = state.stack.subscribe();
    let shutdown = state.shutdown;
    let stream = futures_util::stream::unfold((rx, shutdown), |(mut rx, shutdown)| async move {
        let event = tokio::select! {
            () = shutdown.cancelled() => return None,
            next = rx.recv() => match next {
                Ok(event) => event,
                Err(RecvError::Lagged(missed)) => DeskEvent::Lagged { missed },
                Err(RecvError::Closed) => return None,
            },
        };
        let data = serde_json::to_string(&event).unwrap_or_default();
        Some((Ok(SseEvent::default().data(data)), (rx, shutdown)))
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

/// The UI's files; `/` is `index.html`.
async fn asset(State(state): State<ControlState>, request: Request) -> Response {
    let path = request.uri().path().trim_start_matches('/');
    let path = if path.is_empty() { "index.html" } else { path };
    let Some(asset) = state.assets.get(path) else {
        return refuse(StatusCode::NOT_FOUND, "Not Found");
    };
    let mut headers = HeaderMap::new();
    let mime = HeaderValue::from_str(&asset.mime).unwrap_or(HeaderValue::from_static("application/octet-stream"));
    headers.insert(header::CONTENT_TYPE, mime);
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    (headers, asset.bytes.into_owned()).into_response()
}
