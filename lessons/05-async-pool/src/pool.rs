//! The pool: its queue, its worker tasks, what they share, and starting them. The way in is in
//! `pool/submit.rs`, the workers' loop in `pool/worker.rs`, the way out in `pool/shutdown.rs`.

mod shutdown;
mod submit;
mod worker;

use worker::worker;

use crate::runner::{Clock, Runner};
use crate::{Config, Outcome};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use tokio::sync::{Mutex, mpsc};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::{CancellationToken, DropGuard};
use tokio_util::task::AbortOnDropHandle;

// ANCHOR: pool
/// A fixed set of worker tasks behind a bounded queue, which can be cancelled at any moment
/// and still accounts for every job it accepted.
pub struct Pool<J: Send + 'static> {
    /// Dropping this sender is how the pool tells workers that no more jobs will come.
    queue: Option<mpsc::Sender<J>>,
    /// New: the queue's one receiver, shared by the workers behind an async mutex (tokio's
    /// `Receiver` is not `Clone` either). The pool keeps a handle too, so that shutdown can
    /// report what a cancelled run left in the queue.
    jobs: Arc<Mutex<mpsc::Receiver<J>>>,
    /// New: tasks, not threads. Dropping a `JoinSet` aborts its tasks, so a pool dropped
    /// without `shutdown` cannot leave workers running; shutdown joins them instead.
    workers: JoinSet<()>,
    /// New: cancelling it wakes every worker at once, idle or busy: Go's `ctx.Done()`.
    token: CancellationToken,
    /// Cancelled when the last worker task has ended, even by a panic: then nobody will ever
    /// take a job from the queue, and `submit` must not wait for room.
    workers_gone: CancellationToken,
    /// New: the whole-run deadline's timer. Aborted when the pool goes: a plain `JoinHandle`
    /// would leave it running.
    deadline: Option<AbortOnDropHandle<()>>,
    /// Every job a worker ends comes back here exactly once.
    outcomes: mpsc::UnboundedReceiver<Outcome<J>>,
    /// Jobs accepted so far, to check the report against.
    submitted: AtomicUsize,
    /// Worker tasks that ended in a panic, counted as they are joined.
    panicked: usize,
    /// The pool's start: outcomes are timed from here.
    clock: Clock,
}
// ANCHOR_END: pool

/// What every worker shares: the queue, the way to run a job, and where to report.
struct Shared<J, F, O> {
    jobs: Arc<Mutex<mpsc::Receiver<J>>>,
    runner: Runner<F>,
    observer: O,
    report: mpsc::UnboundedSender<Outcome<J>>,
    /// Only the workers hold this value, so it is dropped with the last of them, however that
    /// one ended, and the guard then cancels the pool's `workers_gone`.
    _alive: DropGuard,
}

impl<J: Clone + Send + 'static> Pool<J> {
    // ANCHOR: new
    /// Starts `config.workers` tasks that run `handler(job, token)` for each job, and tell
    /// `observer` each job's outcome as it ends, from the worker that ran it, as lesson 4's
    /// observer is told. `token` is cancelled when the job should stop: when the pool is
    /// cancelled, or when the job has timed out.
    ///
    /// # Panics
    ///
    /// If `workers` or `capacity` is 0, or if called outside a tokio runtime.
    pub fn new<F, Fut, O>(config: Config, handler: F, observer: O) -> Pool<J>
    where
        F: Fn(J, CancellationToken) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
        O: Fn(&Outcome<J>) + Send + Sync + 'static,
    {
        assert!(config.workers > 0, "a pool needs at least one worker");
        assert!(
            config.capacity > 0,
            "the queue needs room for at least one job"
        );
        // New: tokio's channel. Its `Receiver` has one owner, like `std::sync::mpsc`'s.
        let (queue, jobs) = mpsc::channel(config.capacity);
        let jobs = Arc::new(Mutex::new(jobs));
        // Unbounded: a worker must never wait to report, or shutdown could wait for ever.
        let (report, outcomes) = mpsc::unbounded_channel();
        let token = CancellationToken::new();
        let clock = Clock(Instant::now());
        let workers_gone = CancellationToken::new();
        let shared = Arc::new(Shared {
            jobs: Arc::clone(&jobs),
            runner: Runner {
                handler,
                token: token.clone(),
                job_timeout: config.job_timeout,
                clock,
            },
            observer,
            report,
            _alive: workers_gone.clone().drop_guard(),
        });
        let mut workers = JoinSet::new();
        for id in 1..=config.workers {
            // New: a task, not a thread: no stack of its own, only this future's state.
            workers.spawn(worker(id, Arc::clone(&shared)));
        }
        // New: the whole-run deadline is a timer task that cancels the pool when time is up,
        // unless the pool is cancelled first.
        let deadline = config.deadline.map(|limit| {
            let token = token.clone();
            AbortOnDropHandle::new(tokio::spawn(async move {
                if tokio::time::timeout(limit, token.cancelled())
                    .await
                    .is_err()
                {
                    token.cancel();
                }
            }))
        });
        Pool {
            queue: Some(queue),
            jobs,
            workers,
            token,
            workers_gone,
            deadline,
            outcomes,
            submitted: AtomicUsize::new(0),
            panicked: 0,
            clock,
        }
    }
    // ANCHOR_END: new
}
