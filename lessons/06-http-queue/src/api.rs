//! The HTTP side: the router, its time limit, and the handlers that turn JSON into tasks and
//! tasks into JSON. What they answer when something is wrong is in `api_error.rs`.

use crate::api_error::ApiError;
use crate::board::Handle;
use crate::log::{TARGET, request_span};
use crate::metrics::{Metrics, PROMETHEUS_CONTENT_TYPE};
use crate::task::{TaskInfo, TaskSpec};
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use std::time::Duration;
use tracing::debug;

/// The longest pretend work a client may ask for: one minute. Anything longer is a typo or an
/// attempt to tie up a worker, and gets `400 Bad Request`.
pub const MAX_DURATION_MS: u64 = 60_000;

/// The largest request body the server reads: 16 KiB, for a task that fits in 40 bytes.
pub const BODY_LIMIT: usize = 16 * 1024;

/// What a `503` tells the client in its `Retry-After` header, in seconds.
pub const RETRY_AFTER_SECS: u64 = 1;

/// How long a request may take from its head being read to its answer: 10 s. A task's body is
/// about 40 bytes, so only a client that sends it a byte at a time (or stalls) gets near it, and
/// it then gets `408 Request Timeout` instead of holding a connection for as long as it likes.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

// ANCHOR: router
/// The HTTP side: four routes, JSON errors for everything else, a 16 KiB body limit and a
/// [`REQUEST_TIMEOUT`].
pub fn router(queue: Handle) -> Router {
    router_with_timeout(queue, REQUEST_TIMEOUT)
}

/// [`router`] with another time limit per request (`--request-timeout-ms`).
pub fn router_with_timeout(queue: Handle, request_timeout: Duration) -> Router {
    Router::new()
        .route("/tasks", post(post_task))
        .route("/tasks/{id}", get(get_task))
        // New: Prometheus's text format, or JSON for a client that asks for it.
        .route("/metrics", get(get_metrics))
        .route("/metrics.json", get(get_metrics_json))
        // Without these two, axum answers an unknown path or a wrong method with an empty body.
        .fallback(no_such_route)
        .method_not_allowed_fallback(wrong_method)
        // Bodies are read up to this size and no further: a larger one is refused with 413.
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        // New: a body that trickles in (a "slowloris" client) gets 408 once the time is up.
        .layer(middleware::from_fn_with_state(request_timeout, time_limit))
        // New: the last layer is the outermost, so even a 408 is answered inside the span.
        .layer(middleware::from_fn(request_span))
        .with_state(queue)
}
// ANCHOR_END: router

// ANCHOR: time_limit
/// Answers `408 Request Timeout` if reading the body and handling the request take longer than
/// `limit`. The clock starts once the request's head has arrived; the handler itself takes
/// microseconds, so in practice this bounds how long a client may take to send its body.
async fn time_limit(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        // Dropping the handler's future drops the half-read body with it.
        Err(_elapsed) => {
            let mut response = ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "the request did not arrive in full within {} ms; send the whole body at once",
                    limit.as_millis()
                ),
            )
            .into_response();
            // The rest of the body may still be on its way: close the connection rather than
            // read it as the next request.
            response.headers_mut().insert(
                header::CONNECTION,
                header::HeaderValue::from_static("close"),
            );
            response
        }
    }
}
// ANCHOR_END: time_limit

/// The body of a `202 Accepted`.
#[derive(Debug, Serialize)]
struct Accepted {
    id: u64,
}

// ANCHOR: post_task
async fn post_task(
    State(queue): State<Handle>,
    // Taking the `Result` lets this handler word the error itself, instead of axum's plain text.
    body: Result<Json<TaskSpec>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(spec) = body.map_err(ApiError::from_json)?;
    if spec.duration_ms > MAX_DURATION_MS {
        return Err(ApiError::bad_request(format!(
            "duration_ms is {}, but a task may take at most {MAX_DURATION_MS} ms (one minute)",
            spec.duration_ms
        )));
    }
    let id = queue
        .try_submit(spec)
        .map_err(|rejected| ApiError::from_rejected(rejected, queue.metrics().capacity))?;
    // In the request's span; the task's own lines come later, in its span, from a worker.
    debug!(target: TARGET, task = id, "accepted task {id}");
    let location = [(header::LOCATION, format!("/tasks/{id}"))];
    Ok((StatusCode::ACCEPTED, location, Json(Accepted { id })).into_response())
}
// ANCHOR_END: post_task

// ANCHOR: get_task
async fn get_task(
    State(queue): State<Handle>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<TaskInfo>, ApiError> {
    let Path(raw) = id.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let id: u64 = raw.parse().map_err(|_| {
        let shown: String = raw.chars().take(40).collect();
        ApiError::bad_request(format!(
            "{shown:?} is not a task id: ids are whole numbers, such as /tasks/7"
        ))
    })?;
    match queue.task(id) {
        Some(task) => Ok(Json(task)),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            match queue.metrics().accepted {
                0 => format!("there is no task {id}: no task has been accepted yet"),
                n => format!("there is no task {id}: the ids so far run from 1 to {n}"),
            },
        )),
    }
}
// ANCHOR_END: get_task

// ANCHOR: get_metrics
/// `GET /metrics`: what a Prometheus server scrapes, in its text format; or the JSON of
/// `GET /metrics.json`, for a client whose `Accept` header prefers `application/json`.
async fn get_metrics(State(queue): State<Handle>, headers: HeaderMap) -> Response {
    let mut response = if prefers_json(&headers) {
        Json(queue.metrics()).into_response()
    } else {
        let content_type = [(header::CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE)];
        (content_type, queue.prometheus()).into_response()
    };
    // The answer depends on `Accept`: a cache between here and the client must know that.
    response
        .headers_mut()
        .insert(header::VARY, HeaderValue::from_static("accept"));
    response
}

/// `GET /metrics.json`: the counters as JSON, for people, the demo and scripts.
async fn get_metrics_json(State(queue): State<Handle>) -> Json<Metrics> {
    Json(queue.metrics())
}

/// Whether an `Accept` header names `application/json` and weighs nothing else above it
/// (`application/json`, or `application/json, text/plain, */*` as JavaScript clients send).
/// No `Accept`, `*/*`, or Prometheus's own (OpenMetrics, then `text/plain;version=0.0.4`, then
/// `*/*`) all get the text format.
fn prefers_json(headers: &HeaderMap) -> bool {
    let mut json: f32 = 0.0;
    let mut others: f32 = 0.0;
    let values = headers.get_all(header::ACCEPT).iter();
    for range in values
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
    {
        let mut parts = range.split(';').map(str::trim);
        let media_type = parts.next().unwrap_or_default();
        // The weight, `q=0.5`: 1 when left out, 0 for "not this".
        let weight = parts
            .filter_map(|p| p.split_once('='))
            .find(|(name, _)| name.trim().eq_ignore_ascii_case("q"))
            .map_or(Some(1.0), |(_, q)| q.trim().parse::<f32>().ok())
            .unwrap_or(0.0);
        if media_type.eq_ignore_ascii_case("application/json") {
            json = json.max(weight);
        } else if !media_type.is_empty() {
            others = others.max(weight);
        }
    }
    json > 0.0 && json >= others
}
// ANCHOR_END: get_metrics

const ROUTES: &str = "POST /tasks, GET /tasks/{id}, GET /metrics and GET /metrics.json";

async fn no_such_route(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!(
            "there is no {method} {}: the routes are {ROUTES}",
            uri.path()
        ),
    )
}

async fn wrong_method(method: Method, uri: Uri) -> ApiError {
    // axum adds the `Allow` header (the methods the path does take) to this response.
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!(
            "{} does not take {method}: the routes are {ROUTES}",
            uri.path()
        ),
    )
}
