// course: exercise
// //! # Exercise 12: stop without losing a task
// course: solution
//! # Exercise 12, solved: stop without losing a task
// course: end
//!
// course: exercise
// //! A task that got `202 Accepted` was promised. Lesson 6's server keeps that promise when it is
// //! told to stop: it stops accepting, lets the workers finish every task already accepted, queued
// //! or running, and only then exits. Here the server is written (the `POST /tasks` handler, the
// //! bounded queue, the workers, the counters); write [`Server::stop`]:
// //!
// //! - stop accepting: from the moment `stop` begins, every `POST /tasks` gets `503`, at once;
// //! - close the queue, so that the workers, once they have taken every queued task, see
// //!   `recv()` return `None` and leave their loops. A worker waiting on an empty queue that is
// //!   still open waits for ever;
// //! - wait for every worker to end: not abort them, which would drop the tasks they hold;
// //! - return a [`Summary`] of the counters, read after the last worker has ended, so that
// //!   `accepted == completed`.
// //!
// //! Read the fields of [`Server`] and [`AppState`] first: which `Sender` keeps the queue open,
// //! and what does the handler do once it is gone?
// //!
// //! Replace the `@todo()` and run `cargo test -p ex12-graceful-stop` until it passes. Stuck? Run
// //! `cargo run -p course -- hint ex12-graceful-stop`.
// course: solution
//! [`Server::stop`] drops the queue's only `Sender`: from then on the handlers' weak senders
//! cannot be upgraded and `POST /tasks` answers `503`, while the workers empty the queue and
//! leave once `recv()` says `None`. Then it awaits every worker and reads the counters.
// course: end

use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::mpsc::{self, error::TrySendError};
use tokio::sync::{Mutex, watch};
use tokio::task::JoinSet;

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

/// What the server has done so far, published on a `watch` channel so that anyone can wait for
/// a moment (`wait_for(|p| p.started >= 1)`) instead of sleeping and hoping.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    /// Tasks answered `202`: on the queue, running, or done.
    pub accepted: u64,
    /// Tasks a worker has taken off the queue and started.
    pub started: u64,
    /// Tasks whose work is done.
    pub completed: u64,
    /// The ids of the completed tasks, in the order they finished: each accepted id should be
    /// here exactly once by the time [`Server::stop`] returns.
    pub finished: Vec<u64>,
}

/// What [`Server::stop`] reports. A stop that lost nothing has `accepted == completed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Tasks the server answered `202` for, over its whole life.
    pub accepted: u64,
    /// Tasks whose work was done.
    pub completed: u64,
}

/// What every request's handler gets.
#[derive(Debug, Clone)]
pub struct AppState {
    /// A *weak* sender of the queue. It can send while the server's own `Sender` lives, but it
    /// does not keep the queue open: once that `Sender` is dropped, `upgrade()` gives `None`.
    /// This is what lets [`Server::stop`] close the queue while routers are still around.
    pub queue: mpsc::WeakSender<Queued>,
    /// The last id handed out, 0 before the first. Shared by every request.
    pub last_id: Arc<AtomicU64>,
    /// The counters, shared with the workers and with [`Server::progress`].
    pub progress: watch::Sender<Progress>,
}

/// The queue, its workers, and the state the HTTP side shares: lesson 6's `TaskQueue`, cut
/// down to what this exercise needs.
pub struct Server {
    /// The queue's only strong `Sender`. While it lives the queue is open: handlers can queue
    /// tasks, and a worker waiting on an empty queue waits on. Dropping it closes the queue.
    queue: mpsc::Sender<Queued>,
    /// What the handlers get (a clone each); it also holds the counters.
    state: AppState,
    /// The worker tasks. A worker leaves its loop when the queue is closed *and* empty.
    /// Dropping a `JoinSet` aborts its tasks, and with them the tasks they hold, which is why a
    /// `Server` must end with `stop().await`.
    workers: JoinSet<()>,
}

impl Server {
    /// Starts `workers` worker tasks behind a queue of `capacity` tasks.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime, or if `workers` or `capacity` is 0.
    pub fn start(workers: usize, capacity: usize) -> Server {
        assert!(workers > 0, "a pool needs at least one worker");
        assert!(capacity > 0, "the queue needs room for at least one task");
        let (queue, tasks) = mpsc::channel(capacity);
        // tokio's receiver has one owner; the workers share it behind an async mutex, and
        // whoever holds the lock is the one worker waiting for the next task.
        let tasks = Arc::new(Mutex::new(tasks));
        let state = AppState {
            queue: queue.downgrade(),
            last_id: Arc::new(AtomicU64::new(0)),
            progress: watch::Sender::new(Progress::default()),
        };
        let mut set = JoinSet::new();
        for _ in 0..workers {
            set.spawn(worker(Arc::clone(&tasks), state.progress.clone()));
        }
        Server {
            queue,
            state,
            workers: set,
        }
    }

    /// The HTTP side: `POST /tasks`. Every router shares this server's queue and counters.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/tasks", post(post_task))
            .with_state(self.state.clone())
    }

    /// A way to read the counters, or to wait until they say something.
    pub fn progress(&self) -> watch::Receiver<Progress> {
        self.state.progress.subscribe()
    }

    /// Stops accepting tasks (every `POST /tasks` from now on gets `503`), waits until the
    /// workers have finished every task already accepted, queued or running, and reports.
    pub async fn stop(self) -> Summary {
        // course: exercise
        // let _ = (self.queue, self.state, self.workers);
        // @todo(
        //     "stop accepting and close the queue (which Sender keeps it open?), await every worker (never abort one), then return the counters as a Summary"
        // )
        // course: solution
        let Server {
            queue,
            state,
            mut workers,
        } = self;
        // The only strong Sender: dropping it closes the queue. The handlers' `upgrade()` now
        // fails, so they answer 503; the workers still get every queued task, then `None`.
        drop(queue);
        // Await each worker, never abort one: an aborted worker drops the task it holds.
        while let Some(ended) = workers.join_next().await {
            ended.expect("a worker only sleeps and counts: it never panics");
        }
        // Read only now: every worker has ended, so nothing can change the counters any more.
        let progress = state.progress.borrow();
        Summary {
            accepted: progress.accepted,
            completed: progress.completed,
        }
        // course: end
    }
}

/// One worker: takes tasks off the shared queue and does their work, until the queue is closed
/// and empty.
async fn worker(tasks: Arc<Mutex<mpsc::Receiver<Queued>>>, progress: watch::Sender<Progress>) {
    loop {
        // The lock is held only while waiting for the next task, and released before the work
        // starts (the guard is a temporary of this statement), so workers run side by side.
        let next = tasks.lock().await.recv().await;
        // `None`: every Sender is gone and the queue is empty. Nothing more will come.
        let Some(task) = next else { break };
        progress.send_modify(|p| p.started += 1);
        tokio::time::sleep(Duration::from_millis(task.spec.duration_ms)).await;
        progress.send_modify(|p| {
            p.completed += 1;
            p.finished.push(task.id);
        });
    }
}

/// `POST /tasks`: `202` and the id; `503` with `Retry-After` when the queue is full or the
/// server is stopping; `400` for a body that is not a task. Never waits.
pub async fn post_task(
    State(state): State<AppState>,
    body: Result<Json<TaskSpec>, JsonRejection>,
) -> Response {
    let spec = match body {
        Ok(Json(spec)) => spec,
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
    // `None`: the server's Sender is gone, so the queue is closed for good.
    let Some(queue) = state.queue.upgrade() else {
        return stopping();
    };
    let id = state.last_id.fetch_add(1, Ordering::Relaxed) + 1;
    match queue.try_send(Queued { id, spec }) {
        Ok(()) => {
            // Counted while `queue`, a strong Sender, is still alive: the queue cannot close,
            // nor the last worker leave, before this task is counted. (A fast worker may start
            // it a moment before it is counted.)
            state.progress.send_modify(|p| p.accepted += 1);
            (StatusCode::ACCEPTED, Json(Accepted { id })).into_response()
        }
        Err(TrySendError::Full(_)) => busy(format!(
            "the queue is full; try again in {RETRY_AFTER_SECS} s"
        )),
        // Every worker is gone: nobody would ever run the task.
        Err(TrySendError::Closed(_)) => stopping(),
    }
}

/// The `503` of a server that has stopped accepting.
fn stopping() -> Response {
    busy("the server is stopping and takes no new tasks".into())
}

/// A `503` with `Retry-After` and the body `{"error": message}`.
fn busy(message: String) -> Response {
    let mut response = error(StatusCode::SERVICE_UNAVAILABLE, message);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, RETRY_AFTER_SECS.into());
    response
}

/// An error answer: `status` and the body `{"error": message}`.
fn error(status: StatusCode, message: impl Into<String>) -> Response {
    let body = Json(serde_json::json!({ "error": message.into() }));
    (status, body).into_response()
}
