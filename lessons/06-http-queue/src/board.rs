//! The board: what the HTTP handlers and the workers share. A [`Handle`] is the handlers' way in:
//! `try_submit` queues and records a task in one step, or hands it back [`Rejected`]; the
//! workers record each step of a task on it.

use crate::log::log;
use crate::metrics::{Exposition, Metrics, counter};
use crate::rejected::{Reason, Rejected};
use crate::task::{Task, TaskInfo, TaskSpec, TaskState};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::mpsc::{self, error::TrySendError};

// ANCHOR: board
/// What handlers and workers share: the queue's sender and the record of every task.
pub(crate) struct Board {
    /// One lock for the sender, the records and the counters, so that a task is queued and
    /// recorded in one step, and `/metrics` never sees one without the other. It is never held
    /// across an `.await`, so a plain `std` mutex is the right tool.
    pub(crate) inner: Mutex<Inner>,
    /// The zero of every time drawn and measured. tokio's clock, which is the system's except
    /// in a test that pauses it: there every duration is exact.
    pub(crate) clock: tokio::time::Instant,
}

pub(crate) struct Inner {
    /// New: the queue's only sender. Handlers `try_send` through it; shutdown takes it out, and
    /// dropping it is how the workers learn that no more tasks will come.
    pub(crate) queue: Option<mpsc::Sender<Task>>,
    /// New: every accepted task, indexed by id − 1, so a client can ask about it later.
    pub(crate) tasks: Vec<TaskInfo>,
    /// Kept in step with `tasks`, so `/metrics` costs the same with ten tasks or a million.
    pub(crate) metrics: Metrics,
    /// New: the same counts in Prometheus's types, and two histograms, changed in the same steps.
    pub(crate) exposition: Exposition,
}
// ANCHOR_END: board

/// A cheap, cloneable way in to the queue: what the HTTP handlers hold.
#[derive(Clone)]
pub struct Handle(pub(crate) Arc<Board>);

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
    /// let rejected = handle.try_submit(TaskSpec::default()).unwrap_err();
    /// assert_eq!(rejected.reason, Reason::Full, "one waiting task fills a queue of one");
    /// # queue.shutdown().await;
    /// # });
    /// ```
    pub fn try_submit(&self, spec: TaskSpec) -> Result<u64, Rejected> {
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
                Err(Rejected { spec, reason })
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

impl Board {
    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while the lock is held would leave the counters half updated; nothing in this
        // crate panics under the lock, so a poisoned lock is a bug worth stopping for.
        self.inner
            .lock()
            .expect("no code panics while holding the board's lock")
    }

    /// Moves task `id` to `state`, keeping the counters in step, and logs the event in the
    /// span that is current: the worker's span for this task.
    pub(crate) fn record(&self, id: u64, worker: usize, state: TaskState) {
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
                TaskState::Cancelled => {
                    task.error = Some("cancelled: the server was told to stop now".into())
                }
                _ => {}
            }
            if let Some(started) = task.started
                && state != TaskState::Running
            {
                task.ended = Some(now);
                // New: how long it ran, if its work came to an end (done or failed); an
                // interrupted task's did not, and would only blur the histogram.
                if state != TaskState::Cancelled {
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
