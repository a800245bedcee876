//! The pool: worker tasks behind a bounded queue, started paused or running, and a shutdown
//! that finishes every accepted task (or, on stop-now, cancels what is left).

use crate::board::{Board, Handle, Inner};
use crate::log::TARGET;
use crate::metrics::{Exposition, Metrics};
use crate::task::{Report, Task, TaskState};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument as _, info_span};

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
    /// Cancelled for stop-now: workers cancel queued tasks and interrupt the running ones.
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
    /// If the stop-now token is cancelled meanwhile, the workers cancel what is left instead.
    /// Takes the queue by value, so nothing can be submitted through it afterwards (a `Handle`
    /// still held somewhere gets [`Reason::Closed`]).
    ///
    /// [`Reason::Closed`]: crate::Reason::Closed
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
        let span = info_span!(target: TARGET, parent: None, "task", task = task.id, worker = id);
        async {
            if stop_now.is_cancelled() {
                board.record(task.id, id, TaskState::Cancelled);
                return;
            }
            board.record(task.id, id, TaskState::Running);
            let end = tokio::select! {
                // Polled first, so stop-now wins even when the work ends at the same moment.
                biased;
                () = stop_now.cancelled() => TaskState::Cancelled,
                () = tokio::time::sleep(task.work) => {
                    if task.fail { TaskState::Failed } else { TaskState::Completed }
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
