//! The pool: its queue, its workers, and starting them. The way in is in `pool/submit.rs`, the
//! workers' loop in `pool/worker.rs`, the way out in `pool/shutdown.rs`.

mod shutdown;
mod submit;
mod worker;

pub use shutdown::StopNow;

use worker::worker;

use crate::job::Outcome;
use crate::sync::channel::{self, Receiver, Sender};
use crate::sync::{Arc, AtomicBool, AtomicUsize, JoinHandle, thread};
use std::time::Instant;

// ANCHOR: pool
/// A fixed set of worker threads behind a bounded queue, with a shutdown that loses nothing.
pub struct Pool<J: Send + 'static> {
    /// Dropping this sender is how the pool tells workers that no more jobs will come. It is
    /// an `Option` only so that shutdown can drop it before joining the workers.
    queue: Option<Sender<J>>,
    /// Joined on shutdown: when shutdown returns, no job is running.
    workers: Vec<JoinHandle<()>>,
    /// New: set by stop-now; workers then hand queued jobs back instead of running them.
    stop_now: Arc<AtomicBool>,
    /// Every job the workers take comes back here exactly once.
    outcomes: Receiver<Outcome<J>>,
    /// Jobs accepted so far, to check the report against.
    submitted: AtomicUsize,
}
// ANCHOR_END: pool

impl<J: Send + 'static> Pool<J> {
    // ANCHOR: new
    /// Starts `workers` threads that run `handler(worker_id, &job)` for each job, behind a
    /// queue that holds up to `capacity` waiting jobs.
    ///
    /// # Panics
    ///
    /// If `workers` or `capacity` is 0.
    pub fn new<F>(workers: usize, capacity: usize, handler: F) -> Pool<J>
    where
        F: Fn(usize, &J) -> Result<(), String> + Send + Sync + 'static,
    {
        assert!(workers > 0, "a pool needs at least one worker");
        assert!(capacity > 0, "the queue needs room for at least one job");
        let (queue, jobs) = channel::bounded(capacity);
        // Unbounded: a worker must never wait to report, or shutdown could wait for ever.
        let (report, outcomes) = channel::unbounded();
        let handler = Arc::new(handler);
        let stop_now = Arc::new(AtomicBool::new(false));
        let clock = Instant::now();
        let workers = (1..=workers)
            .map(|id| {
                let jobs = jobs.clone();
                let report = report.clone();
                let handler = Arc::clone(&handler);
                let stop_now = Arc::clone(&stop_now);
                thread::spawn(move || worker(id, jobs, report, &*handler, &stop_now, clock))
            })
            .collect();
        // The pool keeps no receiver of its own: if every worker dies, `submit` sees a
        // disconnected channel and hands the job back instead of queueing it for nobody.
        Pool {
            queue: Some(queue),
            workers,
            stop_now,
            outcomes,
            submitted: AtomicUsize::new(0),
        }
    }
    // ANCHOR_END: new

    /// Jobs waiting in the queue right now.
    pub fn queued(&self) -> usize {
        self.sender().len()
    }

    fn sender(&self) -> &Sender<J> {
        self.queue
            .as_ref()
            .expect("the queue is open until shutdown, which takes the pool")
    }
}
