//! # Lesson 6: an HTTP job queue
//!
//! A pool of lesson 5's shape (tokio tasks sharing one bounded queue, a token for stop-now),
//! rebuilt for a server, sits behind an HTTP front: `POST /tasks` queues a task and answers
//! `202 Accepted` at once, `GET /tasks/{id}` says how it is doing, `GET /metrics` counts them all
//! in Prometheus's text format (and `GET /metrics.json` in JSON, for people and scripts).
//! New since lesson 5: a full queue answers `503 Service Unavailable` with `Retry-After` instead
//! of making the request wait (`try_send`, never `send`), every accepted task is tracked by id, and
//! SIGINT/SIGTERM stop the server in order (stop accepting, finish every accepted task, exit).
//! A client too slow to send its request gets `408` or is disconnected, so it cannot hold a
//! connection, or the shutdown, for ever.
//! What happens is logged through [`tracing`]: each task's lines are events in a span that
//! carries the task's id and its worker, each request is a span with its method and path, and
//! the program decides how they are printed (`course_support::log`).
//! Run it with `cargo run -p lesson-6` and send it tasks with curl, or see it all with
//! `cargo run -p lesson-6 -- --demo`.
//!
//! The files, in the order a request meets them:
//!
//! - `listener.rs`: connections that must send a whole request in time, and a cap on how many
//!   are open at once ([`DeadlineListener`]).
//! - `api.rs`: the router, its time limit and the handlers ([`router`]); `api_error.rs`: the
//!   JSON error answers ([`ApiError`]).
//! - `board.rs`: what handlers and workers share; [`Handle::try_submit`] queues and records a
//!   task in one step, or hands it back as [`Rejected`] with its [`Reason`] (`rejected.rs`).
//! - `queue.rs`: the pool ([`TaskQueue`]): workers, a paused start, and the shutdown.
//! - `task.rs`: what a task is and where it stands ([`TaskSpec`], [`TaskState`], [`TaskInfo`]),
//!   and what shutdown reports ([`Report`]).
//! - `metrics.rs`: the counters, as JSON and for Prometheus ([`Metrics`]).
//! - `log.rs`: what is logged, and in which span.
//!
//! The program, `main.rs`, reads the flags, serves, and stops in order; `signals.rs` turns
//! SIGINT and SIGTERM into the two stops, `summary.rs` prints the report, and `demo.rs` is
//! `--demo`'s script, which talks to the server through the small HTTP client in `client.rs`.
//!
//! ```
//! use lesson_6::{Config, TaskQueue, TaskSpec, TaskState};
//!
//! let runtime = tokio::runtime::Runtime::new().unwrap();
//! runtime.block_on(async {
//!     let queue = TaskQueue::start(Config { workers: 2, capacity: 4, ..Config::default() });
//!     let handle = queue.handle();
//!     let id = handle.try_submit(TaskSpec { duration_ms: 10, fail: false }).expect("room in the queue");
//!     assert_eq!(id, 1, "ids start at 1");
//!     let report = queue.shutdown().await; // closes the queue and waits for the workers
//!     assert_eq!(report.tasks[0].state, TaskState::Completed);
//! });
//! ```

mod api;
mod api_error;
mod board;
mod listener;
mod log;
mod metrics;
mod queue;
mod rejected;
mod task;

pub use api::{
    BODY_LIMIT, MAX_DURATION_MS, REQUEST_TIMEOUT, RETRY_AFTER_SECS, router, router_with_timeout,
};
pub use api_error::ApiError;
pub use board::Handle;
pub use listener::{DeadlineListener, DeadlineStream};
pub use metrics::{LATENCY_BUCKETS, Metrics, PROMETHEUS_CONTENT_TYPE};
pub use queue::{Config, TaskQueue};
pub use rejected::{Reason, Rejected};
pub use task::{DEFAULT_DURATION_MS, Report, TaskInfo, TaskSpec, TaskState};
