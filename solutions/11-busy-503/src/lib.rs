// course: exercise
// //! # Exercise 11: busy means 503
// course: solution
//! # Exercise 11, solved: busy means 503
// course: end
//!
// course: exercise
// //! Lesson 6's server never keeps a request waiting: when its queue is full, it answers
// //! `503 Service Unavailable` at once, with a `Retry-After` header saying when to come back.
// //! Here the app state, the task types and the router are written; write the handler,
// //! [`post_task`], for `POST /tasks`:
// //!
// //! - a body that is not JSON of the shape of [`TaskSpec`] (not JSON at all, a field of the wrong
// //!   type, a missing or unknown field) gets `400 Bad Request` with a JSON body
// //!   `{"error": "..."}`, and queues nothing;
// //! - otherwise the task gets the next id (1, 2, 3, … from [`AppState::last_id`]; ids never
// //!   repeat) and goes on the queue with `try_send`, which never waits. Queued: `202 Accepted`
// //!   with the body `{"id": N}`, the same id as the [`Queued`] task carries;
// //! - the queue is full: `503 Service Unavailable`, the header `Retry-After: 1`
// //!   ([`RETRY_AFTER_SECS`]), and a JSON body such as
// //!   `{"error": "the queue is full; try again in 1 s"}`. At once: never `send().await`, which
// //!   would keep the request (and its connection) waiting until a worker makes room.
// //!
// //! A request that is refused may use up an id, so the ids of accepted tasks can have gaps; they
// //! must only be unique and increasing.
// //!
// //! Replace the `@todo()` and run `cargo test -p ex11-busy-503` until it passes. Stuck? Run
// //! `cargo run -p course -- hint ex11-busy-503`.
// course: solution
//! `POST /tasks` takes the next id and `try_send`s the task: `202` and the id when it is queued,
//! `503` with `Retry-After` at once when the queue is full, `400` for a body that is not a task.
// course: end

use axum::extract::State;
use axum::extract::rejection::JsonRejection;
// course: exercise
// use axum::response::Response;
// course: solution
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
// course: end
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
// course: exercise
// use std::sync::atomic::AtomicU64;
// use tokio::sync::mpsc;
// course: solution
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::mpsc::{self, error::TrySendError};
// course: end

/// What a `503` tells the client in its `Retry-After` header, in seconds.
pub const RETRY_AFTER_SECS: u64 = 1;

/// What a client asks for: the body of `POST /tasks`, such as `{"duration_ms": 200}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
// A misspelt field (`"duraton_ms"`) is an error, not something to ignore.
#[serde(deny_unknown_fields)]
pub struct TaskSpec {
    /// How long the pretend work takes, in milliseconds.
    pub duration_ms: u64,
}

/// A task on the queue: the id its client was given, and what it asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Queued {
    /// The id in the `202` answer.
    pub id: u64,
    /// The task as it was asked for.
    pub spec: TaskSpec,
}

/// The body of a `202 Accepted`: `{"id": 7}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Accepted {
    /// The new task's id.
    pub id: u64,
}

/// What every request's handler gets: the way into the queue, and the id counter.
///
/// axum hands each request its own clone of the state, so anything that must be shared between
/// requests is behind an `Arc` (the sender is a handle to one shared queue already).
#[derive(Debug, Clone)]
pub struct AppState {
    /// The queue's sender. The queue is bounded: once it holds `capacity` tasks, `try_send`
    /// says `Full` until someone takes one out.
    pub queue: mpsc::Sender<Queued>,
    /// The last id handed out, 0 before the first. Shared by every request.
    pub last_id: Arc<AtomicU64>,
}

impl AppState {
    /// A state with a queue of `capacity` tasks, and the queue's receiving end: the workers' in
    /// a real server, the test's own here.
    ///
    /// # Panics
    ///
    /// If `capacity` is 0.
    pub fn new(capacity: usize) -> (AppState, mpsc::Receiver<Queued>) {
        let (queue, tasks) = mpsc::channel(capacity);
        let state = AppState {
            queue,
            last_id: Arc::new(AtomicU64::new(0)),
        };
        (state, tasks)
    }
}

/// The HTTP side: one route.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/tasks", post(post_task))
        .with_state(state)
}

/// `POST /tasks`: `202` and the id, `503` with `Retry-After` when the queue is full, `400` for a
/// body that is not a task. Never waits.
///
/// The body arrives as a `Result`: axum could not read it as a [`TaskSpec`] if it is `Err`,
/// and the handler words that answer itself.
pub async fn post_task(
    State(state): State<AppState>,
    body: Result<Json<TaskSpec>, JsonRejection>,
) -> Response {
    // course: exercise
    // let _ = (state, body);
    // @todo(
    //     "400 + a JSON error for a bad body; else take the next id and try_send the task: 202 + {{\"id\": N}}, or 503 + Retry-After: 1 + a JSON error when the queue is full"
    // )
    // course: solution
    let spec = match body {
        Ok(Json(spec)) => spec,
        // Every reason axum could not read a task (bad JSON, wrong shape) is the client's: 400.
        Err(rejection) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!(
                    "the body is not a task ({}); send JSON such as {{\"duration_ms\": 200}}",
                    rejection.body_text()
                ),
            );
        }
    };
    // One atomic step, so two requests at the same moment never get the same id. A refused
    // request uses one up too: ids are unique and increasing, with gaps where a 503 was.
    let id = state.last_id.fetch_add(1, Ordering::Relaxed) + 1;
    // `try_send`, not `send().await`: a full queue is an answer, not a reason to wait.
    match state.queue.try_send(Queued { id, spec }) {
        Ok(()) => (StatusCode::ACCEPTED, Json(Accepted { id })).into_response(),
        Err(TrySendError::Full(_)) => {
            let mut busy = error(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("the queue is full; try again in {RETRY_AFTER_SECS} s"),
            );
            busy.headers_mut()
                .insert(header::RETRY_AFTER, RETRY_AFTER_SECS.into());
            busy
        }
        // Every receiver is gone: no worker will ever take a task.
        Err(TrySendError::Closed(_)) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is shutting down and takes no new tasks",
        ),
    }
    // course: end
}
// course: solution

/// An error answer: `status` and the body `{"error": message}`.
fn error(status: StatusCode, message: impl Into<String>) -> Response {
    let body = Json(serde_json::json!({ "error": message.into() }));
    (status, body).into_response()
}
// course: end
