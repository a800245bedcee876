//! # Lesson 6: an HTTP job queue
//!
//! The async pool of lesson 5 goes behind an HTTP server: `POST /tasks` queues a task and answers
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
//!     assert_eq!(report.tasks[0].state, TaskState::Done);
//! });
//! ```

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use course_support::timeline;
use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use serde::{Deserialize, Serialize};
use std::future::Future as _;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::mpsc::{self, error::TrySendError};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument as _, debug, info_span};

/// The pretend work of a task whose body leaves out `duration_ms`.
pub const DEFAULT_DURATION_MS: u64 = 100;

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

/// The `Content-Type` of `GET /metrics`: Prometheus's text format, version 0.0.4
/// (`text/plain; version=0.0.4; charset=utf-8`), as prometheus-client spells it.
pub const PROMETHEUS_CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// The upper bounds, in seconds, of the buckets of the two latency histograms on `GET /metrics`.
/// Fine around the demo's tasks (50 ms to 150 ms) and the default of 100 ms, coarser up to the
/// one-minute limit; the last bucket, `+Inf`, is implicit.
pub const LATENCY_BUCKETS: [f64; 14] = [
    0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

// ANCHOR: spec
/// What a client asks for: the body of `POST /tasks`, such as `{"duration_ms": 200}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
// New: a misspelt field (`"duraton_ms"`) is an error, not a silently used default.
#[serde(deny_unknown_fields)]
pub struct TaskSpec {
    /// How long the pretend work takes, in milliseconds ([`DEFAULT_DURATION_MS`] if left out).
    #[serde(default = "default_duration_ms")]
    pub duration_ms: u64,
    /// Whether the task fails at the end of its work, so failures can be seen on purpose.
    #[serde(default)]
    pub fail: bool,
}
// ANCHOR_END: spec

fn default_duration_ms() -> u64 {
    DEFAULT_DURATION_MS
}

impl Default for TaskSpec {
    fn default() -> TaskSpec {
        TaskSpec {
            duration_ms: DEFAULT_DURATION_MS,
            fail: false,
        }
    }
}

// ANCHOR: state
/// Where a task is. A task the queue accepted always ends in `Done`, `Failed` or `Abandoned`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskState {
    /// Accepted and waiting in the queue for a worker.
    Queued,
    /// A worker is doing its work now.
    Running,
    /// The work is done.
    Done,
    /// The work ended in an error (here: the client asked for `"fail": true`).
    Failed,
    /// Stop-now came first: the task never started, or was interrupted while it ran.
    Abandoned,
}

/// One accepted task, as `GET /tasks/{id}` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskInfo {
    /// Its id, counted from 1 in the order the queue accepted tasks.
    pub id: u64,
    /// Where it is now.
    pub state: TaskState,
    /// The pretend work it asked for.
    pub duration_ms: u64,
    /// Whether it asked to fail.
    pub fail: bool,
    /// The worker that took it; absent while it is queued.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worker: Option<usize>,
    /// Why it failed or was abandoned; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// When the queue accepted it, measured from the queue's start.
    #[serde(skip)]
    pub accepted: Duration,
    /// When a worker started it, measured from the queue's start (for the run picture).
    #[serde(skip)]
    pub started: Option<Duration>,
    /// When it ended, measured from the queue's start.
    #[serde(skip)]
    pub ended: Option<Duration>,
}
// ANCHOR_END: state

/// The counters `GET /metrics.json` answers (and `GET /metrics`, in Prometheus's format). They
/// add up: `accepted == queued + running + completed + failed + abandoned`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Metrics {
    /// Tasks the queue took (answered `202`).
    pub accepted: u64,
    /// Tasks turned away with `503`: the queue was full, or shutting down.
    pub rejected: u64,
    /// Accepted tasks no worker has taken yet.
    pub queued: u64,
    /// Tasks a worker is working on now.
    pub running: u64,
    /// Tasks that finished their work.
    pub completed: u64,
    /// Tasks whose work ended in an error.
    pub failed: u64,
    /// Tasks stop-now abandoned.
    pub abandoned: u64,
    /// How many workers there are.
    pub workers: usize,
    /// How many tasks the queue holds before it answers `503`.
    pub capacity: usize,
}

/// How to start a [`TaskQueue`].
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// How many worker tasks take tasks from the queue.
    pub workers: usize,
    /// How many tasks may wait in the queue; one more gets `503`.
    pub capacity: usize,
    /// Start with the workers waiting for [`TaskQueue::resume`]: tasks are accepted and queued,
    /// but none starts. The demo uses this so that its burst meets a queue nobody is emptying.
    pub paused: bool,
}

impl Default for Config {
    /// 4 workers, a queue of 16, running at once.
    fn default() -> Config {
        Config {
            workers: 4,
            capacity: 16,
            paused: false,
        }
    }
}

/// A task on its way through the queue: only what a worker needs.
#[derive(Debug)]
struct Task {
    /// The key of its record on the board.
    id: u64,
    /// How long to sleep: the pretend work.
    work: Duration,
    /// Whether to end as failed.
    fail: bool,
}

// ANCHOR: board
/// What handlers and workers share: the queue's sender and the record of every task.
struct Board {
    /// One lock for the sender, the records and the counters, so that a task is queued and
    /// recorded in one step, and `/metrics` never sees one without the other. It is never held
    /// across an `.await`, so a plain `std` mutex is the right tool.
    inner: Mutex<Inner>,
    /// The zero of every time drawn and measured. tokio's clock, which is the system's except
    /// in a test that pauses it: there every duration is exact.
    clock: tokio::time::Instant,
}

struct Inner {
    /// New: the queue's only sender. Handlers `try_send` through it; shutdown takes it out, and
    /// dropping it is how the workers learn that no more tasks will come.
    queue: Option<mpsc::Sender<Task>>,
    /// New: every accepted task, indexed by id − 1, so a client can ask about it later.
    tasks: Vec<TaskInfo>,
    /// Kept in step with `tasks`, so `/metrics` costs the same with ten tasks or a million.
    metrics: Metrics,
    /// New: the same counts in Prometheus's types, and two histograms, changed in the same steps.
    exposition: Exposition,
}
// ANCHOR_END: board

// ANCHOR: exposition
/// What `GET /metrics` shows, in the types Prometheus knows: counters, which only go up; gauges,
/// which go up and down; and histograms, which count observations into buckets. Each is changed
/// under the board's lock, in the same step as [`Metrics`], so the two always agree.
struct Exposition {
    /// Every metric below, registered under its name and help text; encoding it is a scrape.
    registry: Registry,
    accepted: Counter,
    rejected: Counter,
    completed: Counter,
    failed: Counter,
    abandoned: Counter,
    queued: Gauge,
    running: Gauge,
    /// How long each task waited in the queue before a worker started it.
    waited: Histogram,
    /// How long each task that finished its work (done or failed) ran.
    ran: Histogram,
}

impl Exposition {
    fn new(workers: usize, capacity: usize) -> Exposition {
        let mut exposition = Exposition {
            // Every name starts `taskqueue_`, so it cannot clash with another program's.
            registry: Registry::with_prefix("taskqueue"),
            accepted: Counter::default(),
            rejected: Counter::default(),
            completed: Counter::default(),
            failed: Counter::default(),
            abandoned: Counter::default(),
            queued: Gauge::default(),
            running: Gauge::default(),
            waited: Histogram::new(LATENCY_BUCKETS),
            ran: Histogram::new(LATENCY_BUCKETS),
        };
        // The registry holds clones: a metric is a shared atomic, so a change made through
        // either shows in both. It adds `_total` to a counter's name, the unit to a histogram's,
        // and a full stop to each help text.
        let registry = &mut exposition.registry;
        registry.register(
            "tasks_accepted",
            "Tasks the queue accepted (answered 202 Accepted)",
            exposition.accepted.clone(),
        );
        registry.register(
            "tasks_rejected",
            "Tasks turned away with 503 Service Unavailable: the queue was full, or shutting down",
            exposition.rejected.clone(),
        );
        registry.register(
            "tasks_completed",
            "Accepted tasks that finished their work",
            exposition.completed.clone(),
        );
        registry.register(
            "tasks_failed",
            "Accepted tasks whose work ended in an error",
            exposition.failed.clone(),
        );
        registry.register(
            "tasks_abandoned",
            "Accepted tasks that stop-now abandoned, before they started or while they ran",
            exposition.abandoned.clone(),
        );
        registry.register(
            "tasks_queued",
            "Accepted tasks waiting in the queue for a worker",
            exposition.queued.clone(),
        );
        registry.register(
            "tasks_running",
            "Tasks a worker is running now",
            exposition.running.clone(),
        );
        registry.register(
            "workers",
            "Workers taking tasks from the queue",
            ConstGauge::new(i64::try_from(workers).unwrap_or(i64::MAX)),
        );
        registry.register(
            "capacity",
            "Tasks the queue holds before it answers 503",
            ConstGauge::new(i64::try_from(capacity).unwrap_or(i64::MAX)),
        );
        registry.register_with_unit(
            "task_wait",
            "How long tasks waited in the queue before a worker started them",
            Unit::Seconds,
            exposition.waited.clone(),
        );
        registry.register_with_unit(
            "task_run",
            "How long tasks ran, from their start until they were done or failed",
            Unit::Seconds,
            exposition.ran.clone(),
        );
        exposition
    }

    /// One task moves from `from` to `to`: the same step `record` makes on [`Metrics`].
    fn moved(&self, from: TaskState, to: TaskState) {
        match from {
            TaskState::Queued => {
                self.queued.dec();
            }
            TaskState::Running => {
                self.running.dec();
            }
            // A task never leaves an end state.
            TaskState::Done | TaskState::Failed | TaskState::Abandoned => {}
        }
        match to {
            TaskState::Queued => {
                self.queued.inc();
            }
            TaskState::Running => {
                self.running.inc();
            }
            TaskState::Done => {
                self.completed.inc();
            }
            TaskState::Failed => {
                self.failed.inc();
            }
            TaskState::Abandoned => {
                self.abandoned.inc();
            }
        }
    }

    /// The scrape: every metric in Prometheus's text format.
    fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}
// ANCHOR_END: exposition

/// Why the queue turned a task away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The queue is full: the workers are behind. Try again later.
    Full,
    /// Shutdown has begun (or every worker is gone): this queue takes no more tasks.
    Closed,
}

/// A task the queue did not take, handed back with the reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    /// The task as it was asked for, untouched.
    pub spec: TaskSpec,
    /// Why it was not taken.
    pub reason: Reason,
}

/// A cheap, cloneable way in to the queue: what the HTTP handlers hold.
#[derive(Clone)]
pub struct Handle(Arc<Board>);

impl Handle {
    // ANCHOR: try_submit
    /// Queues a task if there is room, and returns its id; never waits.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use lesson_6::{Config, Reason, TaskQueue, TaskSpec};
    /// let queue = TaskQueue::start(Config { workers: 1, capacity: 1, paused: true, ..Config::default() });
    /// let handle = queue.handle();
    /// assert_eq!(handle.try_submit(TaskSpec::default()), Ok(1));
    /// let refused = handle.try_submit(TaskSpec::default()).unwrap_err();
    /// assert_eq!(refused.reason, Reason::Full, "one waiting task fills a queue of one");
    /// # queue.shutdown().await;
    /// # });
    /// ```
    pub fn try_submit(&self, spec: TaskSpec) -> Result<u64, Refused> {
        let mut inner = self.0.lock();
        let id = inner.tasks.len() as u64 + 1;
        // Read before the task is sent, so no worker can start it earlier than this.
        let accepted = self.0.clock.elapsed();
        let task = Task {
            id,
            work: Duration::from_millis(spec.duration_ms),
            fail: spec.fail,
        };
        // New: `try_send`, not `send().await`. A full queue is an answer ("503, come back
        // later"), not a reason to keep the client's request, and its connection, waiting.
        let sent = match &inner.queue {
            Some(queue) => queue.try_send(task),
            None => Err(TrySendError::Closed(task)),
        };
        match sent {
            Ok(()) => {
                // Still under the lock: a worker that takes the task at once waits for the lock
                // before it marks the task running, so the record is always there first.
                inner.tasks.push(TaskInfo {
                    id,
                    state: TaskState::Queued,
                    duration_ms: spec.duration_ms,
                    fail: spec.fail,
                    worker: None,
                    error: None,
                    accepted,
                    started: None,
                    ended: None,
                });
                inner.metrics.accepted += 1;
                inner.metrics.queued += 1;
                inner.exposition.accepted.inc();
                inner.exposition.queued.inc();
                Ok(id)
            }
            Err(refused) => {
                inner.metrics.rejected += 1;
                inner.exposition.rejected.inc();
                let reason = match refused {
                    TrySendError::Full(_) => Reason::Full,
                    TrySendError::Closed(_) => Reason::Closed,
                };
                Err(Refused { spec, reason })
            }
        }
    }
    // ANCHOR_END: try_submit

    /// The task with this id, if the queue ever accepted it.
    pub fn task(&self, id: u64) -> Option<TaskInfo> {
        let index = usize::try_from(id.checked_sub(1)?).ok()?;
        self.0.lock().tasks.get(index).cloned()
    }

    /// The counters as they are now.
    pub fn metrics(&self) -> Metrics {
        self.0.lock().metrics
    }

    // ANCHOR: prometheus
    /// Everything `GET /metrics` shows, as they are now, in Prometheus's text format.
    pub fn prometheus(&self) -> String {
        // Encoded under the lock, so that this scrape, like `metrics()`, sees one moment: its
        // counts add up, and equal what `metrics()` says at that moment. It takes microseconds.
        let encoded = self.0.lock().exposition.encode();
        // Writing to a `String` cannot fail; if it ever did, the lock has been released already.
        encoded.expect("encoding to a String cannot fail")
    }
    // ANCHOR_END: prometheus
}

/// The counter that counts tasks in `state`.
fn counter(metrics: &mut Metrics, state: TaskState) -> &mut u64 {
    match state {
        TaskState::Queued => &mut metrics.queued,
        TaskState::Running => &mut metrics.running,
        TaskState::Done => &mut metrics.completed,
        TaskState::Failed => &mut metrics.failed,
        TaskState::Abandoned => &mut metrics.abandoned,
    }
}

impl Board {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while the lock is held would leave the counters half updated; nothing in this
        // file panics under the lock, so a poisoned lock is a bug worth stopping for.
        self.inner
            .lock()
            .expect("no code panics while holding the board's lock")
    }

    /// Moves task `id` to `state`, keeping the counters in step, and logs the event in the
    /// span that is current: the worker's span for this task.
    fn record(&self, id: u64, worker: usize, state: TaskState) {
        let now = self.clock.elapsed();
        {
            let mut inner = self.lock();
            let Inner {
                tasks,
                metrics,
                exposition,
                ..
            } = &mut *inner;
            let task = &mut tasks[id as usize - 1];
            *counter(metrics, task.state) -= 1;
            *counter(metrics, state) += 1;
            exposition.moved(task.state, state);
            task.worker = Some(worker);
            match state {
                TaskState::Running => {
                    task.started = Some(now);
                    // New: how long it waited in the queue.
                    let waited = now.saturating_sub(task.accepted);
                    exposition.waited.observe(waited.as_secs_f64());
                }
                TaskState::Failed => {
                    task.error =
                        Some("failed on purpose: the request asked for \"fail\": true".into())
                }
                TaskState::Abandoned => {
                    task.error = Some("abandoned: the server was told to stop now".into())
                }
                _ => {}
            }
            if let Some(started) = task.started
                && state != TaskState::Running
            {
                task.ended = Some(now);
                // New: how long it ran, if its work came to an end (done or failed); an
                // interrupted task's did not, and would only blur the histogram.
                if state != TaskState::Abandoned {
                    let ran = now.saturating_sub(started);
                    exposition.ran.observe(ran.as_secs_f64());
                }
            }
            task.state = state;
        }
        // Logged after the lock is released, so a slow terminal never holds up a handler.
        log(id, state);
    }
}

// ANCHOR: log
/// Logs that task `id` moved to `state`, as a `tracing` event in the current span. The message
/// is what the readable form prints after `worker N` (`took job 7`); in the structured form the
/// span adds the task's id and worker, and `state` says what happened in a field of its own.
/// A failed or abandoned task is a `WARN`, so `RUST_LOG=warn` shows just what went wrong.
fn log(id: u64, state: TaskState) {
    match state {
        TaskState::Running => tracing::info!(state = "running", "took job {id}"),
        TaskState::Done => tracing::info!(state = "done", "finished job {id}"),
        TaskState::Failed => tracing::warn!(state = "failed", "failed job {id}"),
        TaskState::Abandoned => tracing::warn!(state = "abandoned", "abandoned job {id}"),
        TaskState::Queued => unreachable!("a task never goes back to the queue"),
    }
}
// ANCHOR_END: log

// ANCHOR: queue
/// The pool: worker tasks behind a bounded queue, with a shutdown that loses nothing.
pub struct TaskQueue {
    /// Shared with the handlers (through [`Handle`]) and with the workers.
    board: Arc<Board>,
    /// Joined by shutdown, so that when it returns no task is running. Dropping a `JoinSet`
    /// aborts its tasks, which is why a `TaskQueue` must end with `shutdown().await`.
    workers: JoinSet<()>,
    /// New: cancelled by `resume` (or by shutdown); paused workers wait for it.
    resume: CancellationToken,
    /// Cancelled for stop-now: workers abandon queued tasks and interrupt the running ones.
    stop_now: CancellationToken,
}
// ANCHOR_END: queue

impl TaskQueue {
    // ANCHOR: start
    /// Starts `config.workers` worker tasks behind a queue of `config.capacity`.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime, or if `workers` or `capacity` is 0.
    pub fn start(config: Config) -> TaskQueue {
        assert!(config.workers > 0, "a pool needs at least one worker");
        assert!(
            config.capacity > 0,
            "the queue needs room for at least one task"
        );
        let (sender, receiver) = mpsc::channel(config.capacity);
        // tokio's receiver has one owner; the workers share it behind an async mutex, and
        // whoever holds the lock is the one worker waiting for the next task.
        let receiver = Arc::new(tokio::sync::Mutex::new(receiver));
        let board = Arc::new(Board {
            inner: Mutex::new(Inner {
                queue: Some(sender),
                tasks: Vec::new(),
                metrics: Metrics {
                    workers: config.workers,
                    capacity: config.capacity,
                    ..Metrics::default()
                },
                exposition: Exposition::new(config.workers, config.capacity),
            }),
            clock: tokio::time::Instant::now(),
        });
        let resume = CancellationToken::new();
        if !config.paused {
            resume.cancel();
        }
        let stop_now = CancellationToken::new();
        let mut workers = JoinSet::new();
        for id in 1..=config.workers {
            workers.spawn(worker(
                id,
                Arc::clone(&receiver),
                Arc::clone(&board),
                resume.clone(),
                stop_now.clone(),
            ));
        }
        // The queue keeps no receiver of its own: once every worker is gone, `try_send` says
        // `Closed` instead of queueing tasks that nobody would ever run.
        TaskQueue {
            board,
            workers,
            resume,
            stop_now,
        }
    }
    // ANCHOR_END: start

    /// A handle for submitting and looking up tasks, for the HTTP handlers.
    pub fn handle(&self) -> Handle {
        Handle(Arc::clone(&self.board))
    }

    /// Lets paused workers start taking tasks. Does nothing if they already run.
    pub fn resume(&self) {
        self.resume.cancel();
    }

    /// The token that triggers stop-now; cancel it from anywhere, for example on a second
    /// signal, while `shutdown` is waiting.
    pub fn stop_now_token(&self) -> CancellationToken {
        self.stop_now.clone()
    }

    // ANCHOR: shutdown
    /// Stops taking tasks, lets the workers finish every queued one, and reports on all of them.
    ///
    /// If the stop-now token is cancelled meanwhile, the workers abandon what is left instead.
    /// Takes the queue by value, so nothing can be submitted through it afterwards (a `Handle`
    /// still held somewhere gets [`Reason::Closed`]).
    pub async fn shutdown(mut self) -> Report {
        // Dropping the only sender closes the queue. The workers empty it; then `recv` returns
        // `None` and their loops end.
        drop(self.board.lock().queue.take());
        // A paused queue must still drain, so the workers start if they have not yet.
        self.resume.cancel();
        // A worker only sleeps and records. If one ever panicked, the task it held would stay
        // `running`, and the report would count it as lost rather than hide it.
        while self.workers.join_next().await.is_some() {}
        let inner = self.board.lock();
        Report {
            tasks: inner.tasks.clone(),
            metrics: inner.metrics,
        }
    }
    // ANCHOR_END: shutdown
}

// ANCHOR: worker
async fn worker(
    id: usize,
    tasks: Arc<tokio::sync::Mutex<mpsc::Receiver<Task>>>,
    board: Arc<Board>,
    resume: CancellationToken,
    stop_now: CancellationToken,
) {
    // New: a paused queue accepts tasks, but its workers wait here until resumed.
    tokio::select! {
        () = resume.cancelled() => {}
        () = stop_now.cancelled() => {}
    }
    loop {
        // The lock is held only while waiting for the next task, and released before the work
        // starts (the guard is a temporary of this statement), so workers run side by side.
        let next = tasks.lock().await.recv().await;
        // `None`: the queue is closed and empty. Everything that was in it has been handed out.
        let Some(task) = next else { break };
        // New: a span per task, so that every line logged about it carries its id and worker.
        // It stands alone (`parent: None`): a log tool sees each task as a whole.
        let span = info_span!(parent: None, "task", task = task.id, worker = id);
        async {
            if stop_now.is_cancelled() {
                board.record(task.id, id, TaskState::Abandoned);
                return;
            }
            board.record(task.id, id, TaskState::Running);
            let end = tokio::select! {
                // Polled first, so stop-now wins even when the work ends at the same moment.
                biased;
                () = stop_now.cancelled() => TaskState::Abandoned,
                () = tokio::time::sleep(task.work) => {
                    if task.fail { TaskState::Failed } else { TaskState::Done }
                }
            };
            board.record(task.id, id, end);
        }
        // The span is entered each time this future is polled, and only then: a worker waiting
        // for its next task is in no task's span.
        .instrument(span)
        .await;
    }
}
// ANCHOR_END: worker

/// What shutdown found: every task the queue ever accepted, and the final counters.
#[derive(Debug, Clone)]
pub struct Report {
    /// Every accepted task, in id order.
    pub tasks: Vec<TaskInfo>,
    /// The counters at the end, including how many requests were turned away.
    pub metrics: Metrics,
}

impl Report {
    /// Tasks accepted.
    pub fn accepted(&self) -> usize {
        self.tasks.len()
    }

    /// Tasks in `state`.
    pub fn count(&self, state: TaskState) -> usize {
        self.tasks.iter().filter(|t| t.state == state).count()
    }

    /// Accepted tasks that did not end: only possible if a worker panicked.
    pub fn lost(&self) -> usize {
        self.count(TaskState::Queued) + self.count(TaskState::Running)
    }

    /// The ids of the tasks in `state`, in order.
    pub fn ids(&self, state: TaskState) -> Vec<u64> {
        self.tasks
            .iter()
            .filter(|t| t.state == state)
            .map(|t| t.id)
            .collect()
    }

    /// A box for every task that ran, even partly, for `timeline::render`. Tasks that failed or
    /// were interrupted are marked failed, so they are drawn with `!`.
    pub fn spans(&self) -> Vec<timeline::Span> {
        self.tasks
            .iter()
            .filter_map(|t| {
                Some(timeline::Span {
                    worker: t.worker?,
                    job: t.id,
                    start: t.started?,
                    end: t.ended?,
                    failed: t.state != TaskState::Done,
                })
            })
            .collect()
    }
}

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

// ANCHOR: request_span
/// A span per request, with its method and path, that the handler runs in; and, at `DEBUG`, an
/// event for the answer. `RUST_LOG=lesson_6=debug` shows every request, and what the handler
/// logs (`accepted task 7`) is inside the span of the request it is about.
async fn request_span(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let span = info_span!("request", %method, %path);
    let response = next.run(request).instrument(span.clone()).await;
    let status = response.status();
    // The readable form leaves the span's fields out, so the message says them again.
    span.in_scope(|| debug!(status = status.as_u16(), "{method} {path} → {status}"));
    response
}
// ANCHOR_END: request_span

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
        .map_err(|refused| ApiError::from_refused(refused, queue.metrics().capacity))?;
    // In the request's span; the task's own lines come later, in its span, from a worker.
    debug!(task = id, "accepted task {id}");
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

// ANCHOR: errors
/// An error answer: a status and a JSON body `{"error": "..."}` a person can read.
#[derive(Debug)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// What went wrong, and where it helps, what to send instead.
    pub message: String,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }

    fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    /// axum's reasons for not reading the body, reworded. Its own statuses stand except one:
    /// JSON that does not fit a task is `400` here (axum says `422`), like any other bad body.
    fn from_json(rejection: JsonRejection) -> ApiError {
        const EXAMPLE: &str = r#"send a JSON object such as {"duration_ms": 200, "fail": false}"#;
        match rejection {
            JsonRejection::JsonSyntaxError(e) => ApiError::bad_request(format!(
                "the body is not valid JSON ({}); {EXAMPLE}",
                cause(&e)
            )),
            JsonRejection::JsonDataError(e) => {
                ApiError::bad_request(format!("the body is not a task ({}); {EXAMPLE}", cause(&e)))
            }
            JsonRejection::MissingJsonContentType(_) => ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "the body must be JSON, with the header Content-Type: application/json \
                 (curl: --json '{\"duration_ms\": 200}')",
            ),
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the body is larger than {BODY_LIMIT} bytes; a task needs about 40"),
            ),
            // Any other reason: a body that could not be read at all.
            other => ApiError::new(other.status(), other.body_text()),
        }
    }

    fn from_refused(refused: Refused, capacity: usize) -> ApiError {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            match refused.reason {
                Reason::Full => format!(
                    "the queue is full ({capacity} tasks are waiting); try again in \
                     {RETRY_AFTER_SECS} s"
                ),
                Reason::Closed => "the server is shutting down and takes no new tasks".into(),
            },
        )
    }
}

/// The innermost error in a chain: serde's own words, such as "unknown field `duraton_ms`".
fn cause(error: &dyn std::error::Error) -> String {
    let mut error = error;
    while let Some(source) = error.source() {
        error = source;
    }
    error.to_string()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(serde_json::json!({ "error": self.message }));
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            // New: a 503 says when to come back, so a well-behaved client backs off instead
            // of retrying in a tight loop.
            let retry = [(header::RETRY_AFTER, RETRY_AFTER_SECS.to_string())];
            (self.status, retry, body).into_response()
        } else {
            (self.status, body).into_response()
        }
    }
}
// ANCHOR_END: errors

// ANCHOR: deadline
/// New: a TCP listener whose connections must keep the conversation moving. A connection that
/// goes twice the request timeout without the server sending it anything (since it connected,
/// or since its last answer) is closed. That bounds the clients no handler ever sees: one that
/// connects and says nothing, one that sends its request head a byte at a time, one that keeps
/// an idle connection open. axum's `serve` has no time limit of its own for them, and without
/// one each holds a connection, a task and up to about 400 KiB of buffered head for as long as
/// it likes, and holds up a graceful shutdown too. Twice, so that a slow body is first answered
/// `408` by [`router_with_timeout`]'s limit. And at most `max_connections` are open at once: a
/// deadline bounds how long each stalled client costs, the cap bounds how many there are, and so
/// the memory they can hold. Beyond the cap, new connections wait in the kernel's backlog.
pub struct DeadlineListener {
    /// Where connections come from.
    listener: tokio::net::TcpListener,
    /// How long a connection may go without an answer.
    limit: Duration,
    /// One permit per open connection; accepting waits for a free one.
    open: Arc<tokio::sync::Semaphore>,
}

impl DeadlineListener {
    /// Wraps `listener`; its connections get twice `request_timeout` to send a whole request,
    /// and at most `max_connections` (at least 1) are open at once.
    pub fn new(
        listener: tokio::net::TcpListener,
        request_timeout: Duration,
        max_connections: usize,
    ) -> DeadlineListener {
        DeadlineListener {
            listener,
            limit: request_timeout * 2,
            open: Arc::new(tokio::sync::Semaphore::new(max_connections.max(1))),
        }
    }
}

impl axum::serve::Listener for DeadlineListener {
    type Io = DeadlineStream;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (DeadlineStream, std::net::SocketAddr) {
        // A free place first, then the connection: while every place is taken, new clients
        // wait in the kernel's backlog instead of in this process's memory.
        let permit = Arc::clone(&self.open)
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        // axum's own accept, which waits and retries when accepting fails (too many open files).
        let (stream, addr) = axum::serve::Listener::accept(&mut self.listener).await;
        let deadline = Box::pin(tokio::time::sleep(self.limit));
        let limit = self.limit;
        (
            DeadlineStream {
                stream,
                limit,
                deadline,
                _place: permit,
            },
            addr,
        )
    }

    fn local_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.listener.local_addr()
    }
}

/// A connection from a [`DeadlineListener`]: reading or writing fails with `TimedOut` once it
/// has waited past its deadline, which moves on each time the server manages to send something.
pub struct DeadlineStream {
    /// The connection itself.
    stream: tokio::net::TcpStream,
    /// How far the deadline moves when the server sends something.
    limit: Duration,
    /// When the connection is given up on if it is still waiting.
    deadline: Pin<Box<tokio::time::Sleep>>,
    /// The connection's place under the listener's cap, given back when it closes.
    _place: tokio::sync::OwnedSemaphorePermit,
}

impl DeadlineStream {
    /// `Pending` stays `Pending` until the deadline, then becomes a `TimedOut` error, which
    /// makes hyper close the connection.
    fn or_time_out<T>(
        &mut self,
        cx: &mut Context<'_>,
        poll: Poll<std::io::Result<T>>,
    ) -> Poll<std::io::Result<T>> {
        match poll {
            Poll::Pending => match self.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "the client sent no whole request in time",
                ))),
                Poll::Pending => Poll::Pending,
            },
            ready => ready,
        }
    }
}

impl AsyncRead for DeadlineStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        // Bytes arriving do not move the deadline: a byte at a time must not buy more time.
        let read = Pin::new(&mut self.stream).poll_read(cx, buf);
        self.or_time_out(cx, read)
    }
}

impl AsyncWrite for DeadlineStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let written = Pin::new(&mut self.stream).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = written
            && n > 0
        {
            // An answer went out: the client gets a fresh allowance for its next request.
            let next = tokio::time::Instant::now() + self.limit;
            self.deadline.as_mut().reset(next);
        }
        // A client that never reads its answers times out too.
        self.or_time_out(cx, written)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let flushed = Pin::new(&mut self.stream).poll_flush(cx);
        self.or_time_out(cx, flushed)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let shut = Pin::new(&mut self.stream).poll_shutdown(cx);
        self.or_time_out(cx, shut)
    }
}
// ANCHOR_END: deadline
