//! What is logged, and in which span: a task's steps as events in its worker's span for it,
//! and a span per HTTP request. How they are printed is the program's choice
//! (`course_support::log`).

use crate::task::TaskState;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use tracing::{Instrument as _, debug, info_span};

// ANCHOR: log
/// The target of every span and event the library logs: the crate's name, whichever file logs
/// it, so that a filter such as `RUST_LOG=lesson_6=debug` and the `target` of a JSON line name
/// the program, not one of its files.
pub(crate) const TARGET: &str = "lesson_6";

/// Logs that task `id` moved to `state`, as a `tracing` event in the current span. The message
/// is what the readable form prints after `worker N` (`took job 7`); in the structured form the
/// span adds the task's id and worker, and `state` says what happened in a field of its own.
/// A failed or cancelled task is a `WARN`, so `RUST_LOG=warn` shows just what went wrong.
pub(crate) fn log(id: u64, state: TaskState) {
    match state {
        TaskState::Running => tracing::info!(target: TARGET, state = "running", "took job {id}"),
        TaskState::Completed => {
            tracing::info!(target: TARGET, state = "completed", "finished job {id}")
        }
        TaskState::Failed => tracing::warn!(target: TARGET, state = "failed", "failed job {id}"),
        TaskState::Cancelled => {
            tracing::warn!(target: TARGET, state = "cancelled", "cancelled job {id}")
        }
        TaskState::Queued => unreachable!("a task never goes back to the queue"),
    }
}
// ANCHOR_END: log

// ANCHOR: request_span
/// A span per request, with its method and path, that the handler runs in; and, at `DEBUG`, an
/// event for the answer. `RUST_LOG=lesson_6=debug` shows every request, and what the handler
/// logs (`accepted task 7`) is inside the span of the request it is about.
pub(crate) async fn request_span(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let span = info_span!(target: TARGET, "request", %method, %path);
    let response = next.run(request).instrument(span.clone()).await;
    let status = response.status();
    // The readable form leaves the span's fields out, so the message says them again.
    span.in_scope(
        || debug!(target: TARGET, status = status.as_u16(), "{method} {path} → {status}"),
    );
    response
}
// ANCHOR_END: request_span
