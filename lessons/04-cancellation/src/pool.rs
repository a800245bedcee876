//! The pool: its queue, its workers, its deadline, and starting them. The way in is in
//! `pool/submit.rs`, the workers' loop in `pool/worker.rs`, the way out in `pool/shutdown.rs`.

mod shutdown;
mod submit;
mod worker;

use worker::worker;

use crate::job::{HasId, Outcome};
use crate::{CancelToken, Cause, Config, Ctx, JobError};
use crossbeam_channel::{self as channel, Receiver, Sender, after, select};
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::thread::{self, JoinHandle};
use std::time::Instant;

// ANCHOR: pool
/// A fixed set of worker threads behind a bounded queue, with a shutdown that loses nothing.
pub struct Pool<J: Send + 'static> {
    /// Dropping this sender is how the pool tells workers that no more jobs will come. It is
    /// an `Option` only so that shutdown can drop it before joining the workers.
    queue: Option<Sender<J>>,
    /// Joined on shutdown: when shutdown returns, no job is running.
    workers: Vec<JoinHandle<()>>,
    /// New: replaces lesson 3's stop-now flag: cancelling it wakes idle workers, running jobs
    /// and a waiting `submit` at once.
    token: CancelToken,
    /// New: the pool's own end of the queue. After a cancel the workers leave jobs queued;
    /// shutdown takes them from here and reports them as never started.
    leftovers: Receiver<J>,
    /// Every job the workers take comes back here exactly once.
    outcomes: Receiver<Outcome<J>>,
    /// Jobs accepted so far, to check the report against.
    submitted: AtomicUsize,
    /// New: the thread that cancels the pool when its deadline passes, if it has one.
    deadline: Option<Deadline>,
}

/// New: the deadline thread, and how shutdown ends it early.
struct Deadline {
    /// Never sends: dropping it tells the thread that the pool is over.
    pool_over: Sender<()>,
    /// Joined on shutdown, so no thread outlives the pool.
    thread: JoinHandle<()>,
}
// ANCHOR_END: pool

impl<J: Send + 'static> Pool<J> {
    /// Starts a pool as [`Pool::observed`] does, with nobody watching.
    pub fn new<F>(config: Config, handler: F) -> Pool<J>
    where
        J: HasId,
        F: Fn(usize, &J, &Ctx) -> Result<(), JobError> + Send + Sync + 'static,
    {
        Pool::observed(config, handler, |_: &Outcome<J>| {})
    }

    // ANCHOR: new
    /// Starts `config.workers` threads that run `handler(worker_id, &job, &ctx)` for each job,
    /// behind a queue that holds up to `config.capacity` waiting jobs. New: `observer` is told
    /// how each job ended, on the worker's thread, as soon as it ends.
    ///
    /// # Panics
    ///
    /// If `config.workers` or `config.capacity` is 0.
    pub fn observed<F, O>(config: Config, handler: F, observer: O) -> Pool<J>
    where
        J: HasId,
        F: Fn(usize, &J, &Ctx) -> Result<(), JobError> + Send + Sync + 'static,
        O: Fn(&Outcome<J>) + Send + Sync + 'static,
    {
        assert!(config.workers > 0, "a pool needs at least one worker");
        assert!(
            config.capacity > 0,
            "the queue needs room for at least one job"
        );
        let (queue, jobs) = channel::bounded(config.capacity);
        // Unbounded: a worker must never wait to report, or shutdown could wait for ever.
        let (report, outcomes) = channel::unbounded();
        let handler = Arc::new(handler);
        let observer = Arc::new(observer);
        let token = CancelToken::new();
        let clock = Instant::now();
        let workers = (1..=config.workers)
            .map(|id| {
                let jobs = jobs.clone();
                let report = report.clone();
                let handler = Arc::clone(&handler);
                let observer = Arc::clone(&observer);
                let token = token.clone();
                let config = config.clone();
                thread::spawn(move || {
                    // New: each outcome goes to the observer first, then into the report.
                    let finish = |outcome: Outcome<J>| {
                        observer(&outcome);
                        // The pool holds the receiver until every worker has been joined.
                        report.send(outcome).expect("the pool outlives its workers");
                    };
                    worker(id, jobs, finish, &*handler, &token, &config, clock)
                })
            })
            .collect();
        let deadline = config.deadline.map(|limit| {
            let (pool_over, over) = channel::bounded::<()>(0);
            let token = token.clone();
            // New: the deadline is one more thread, which cancels the token when time is up.
            // It also ends if the pool is cancelled first, or shuts down (`pool_over` dropped).
            let thread = thread::spawn(move || {
                select! {
                    recv(after(limit)) -> _ => { token.cancel(Cause::Deadline); }
                    recv(over) -> _ => {}
                    recv(token.done()) -> _ => {}
                }
            });
            Deadline { pool_over, thread }
        });
        // New: the pool keeps a receiver (`leftovers`), so the queue never disconnects: a
        // worker that dies cancels the token instead, and `submit` watches the token.
        Pool {
            queue: Some(queue),
            workers,
            token,
            leftovers: jobs,
            outcomes,
            submitted: AtomicUsize::new(0),
            deadline,
        }
    }
    // ANCHOR_END: new

    /// Jobs waiting in the queue right now.
    pub fn queued(&self) -> usize {
        self.sender().len()
    }

    /// New: a clone of the pool's token, for cancelling it from another thread (it replaces
    /// lesson 3's `StopNow` handle), or for waiting on it.
    pub fn token(&self) -> CancelToken {
        self.token.clone()
    }

    fn sender(&self) -> &Sender<J> {
        self.queue
            .as_ref()
            .expect("the queue is open until shutdown, which takes the pool")
    }
}
