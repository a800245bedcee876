//! # Lesson 3: graceful shutdown
//!
//! The pool becomes a type, [`Pool`], that owns its workers and the sending end of its queue, so
//! it alone decides when the queue closes: [`Pool::shutdown`] stops taking jobs and finishes
//! every queued one, [`Pool::shutdown_now`] hands queued jobs back unstarted, and dropping the
//! pool drains it too. New since lesson 2: the pool outlives a single batch, accepts jobs one at
//! a time, and accounts for every job it ever accepted, as completed, failed or cancelled.
//! Run it with `cargo run -p lesson-3`, and press Ctrl-C (once, or twice) while it runs.
//!
//! ```
//! use lesson_3::Pool;
//!
//! let pool = Pool::new(2, 8, |_worker, n: &u64| if n % 2 == 0 { Ok(()) } else { Err("odd".into()) });
//! for n in 1..=6 {
//!     pool.submit(n).expect("the workers are alive");
//! }
//! let report = pool.shutdown();
//! assert_eq!((report.completed(), report.failed(), report.cancelled()), (3, 3, 0));
//! ```

mod sync;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use sync::{Arc, AtomicBool, AtomicUsize, JoinHandle, thread};

#[cfg(not(loom))]
use crossbeam_channel::{Receiver, Sender, TryRecvError};
// Model tests (`--cfg loom`) need a queue loom can see into: there, the name `crossbeam_channel`
// stands for the loom-built channel in `sync`, which has the same API, so the code below reads
// the same in both builds.
#[cfg(loom)]
use sync::channel::{self as crossbeam_channel, Receiver, Sender, TryRecvError};

/// The loom-built channel, for model tests that call `submit_or_stop`.
#[cfg(loom)]
#[doc(hidden)]
pub use sync::channel as loom_channel;

// ANCHOR: outcome
/// How a job ended. New: a job the pool accepted always ends in exactly one of these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// The job ran and succeeded.
    Completed,
    /// The job ran and returned this error.
    Failed(String),
    /// Stop-now came before the job started, so it never ran.
    Cancelled,
}

/// What came of one job; the job itself comes back with it, so nothing is dropped unseen.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome<J> {
    /// The job as it was submitted.
    pub job: J,
    /// The worker that ran it, or that found it in the queue after stop-now.
    pub worker: usize,
    /// How it ended.
    pub status: Status,
    /// When the worker took it, measured from the pool's start.
    pub started: Duration,
    /// How long it ran (zero when cancelled).
    pub took: Duration,
}
// ANCHOR_END: outcome

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

/// Why the pool handed a job back instead of taking it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The stop channel fired first (in the demo: Ctrl-C).
    Stopped,
    /// Every worker has died (a job panicked), so nobody would ever run it.
    NoWorkers,
}

/// A job the pool did not take, handed back with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected<J> {
    /// The job, untouched.
    pub job: J,
    /// Why it was not taken.
    pub reason: Reason,
}

impl<J> Rejected<J> {
    /// The job, handed back: `Rejected` is an error that owns what it refused, as crossbeam's
    /// and std's `SendError` do.
    ///
    /// ```
    /// use lesson_3::{Reason, Rejected};
    /// let refused = Rejected { job: 7, reason: Reason::Stopped };
    /// assert_eq!(refused.to_string(), "job refused: the pool was told to stop");
    /// let err: &dyn std::error::Error = &refused;
    /// assert_eq!(err.to_string(), "job refused: the pool was told to stop");
    /// assert_eq!(refused.into_inner(), 7);
    /// ```
    pub fn into_inner(self) -> J {
        self.job
    }
}

impl<J> std::fmt::Display for Rejected<J> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.reason {
            Reason::Stopped => "job refused: the pool was told to stop",
            Reason::NoWorkers => "job refused: every worker has died",
        })
    }
}

impl<J: std::fmt::Debug> std::error::Error for Rejected<J> {}

/// A handle that can trigger stop-now from another thread while `shutdown` is waiting.
#[derive(Debug, Clone)]
pub struct StopNow(Arc<AtomicBool>);

impl StopNow {
    /// From now on, workers cancel the jobs they take from the queue instead of running them.
    /// Jobs already running finish (cancelling a running job is lesson 4).
    pub fn stop_now(&self) {
        self.0.store(true, Ordering::Release);
    }

    /// Whether stop-now has been triggered.
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// What shutdown found: an outcome for every job the workers took.
#[derive(Debug)]
pub struct Report<J> {
    /// One per job, in the order they ended.
    pub outcomes: Vec<Outcome<J>>,
    /// How many jobs the pool accepted.
    pub submitted: usize,
    /// Workers that died because a job panicked (each lost the job it was running).
    pub panicked_workers: usize,
}

impl<J> Report<J> {
    /// Jobs that ran and succeeded.
    pub fn completed(&self) -> usize {
        self.count(|s| *s == Status::Completed)
    }

    /// Jobs that ran and failed.
    pub fn failed(&self) -> usize {
        self.count(|s| matches!(s, Status::Failed(_)))
    }

    /// Jobs that were queued when stop-now came, and never started.
    pub fn cancelled(&self) -> usize {
        self.count(|s| *s == Status::Cancelled)
    }

    /// Accepted jobs with no outcome: only possible when a job panicked its worker.
    pub fn lost(&self) -> usize {
        self.submitted - self.outcomes.len()
    }

    fn count(&self, f: impl Fn(&Status) -> bool) -> usize {
        self.outcomes.iter().filter(|o| f(&o.status)).count()
    }
}

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
        let (queue, jobs) = crossbeam_channel::bounded(capacity);
        // Unbounded: a worker must never wait to report, or shutdown could wait for ever.
        let (report, outcomes) = crossbeam_channel::unbounded();
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

    // ANCHOR: submit
    /// Queues a job, waiting while the queue is full.
    pub fn submit(&self, job: J) -> Result<(), Rejected<J>> {
        self.sender().send(job).map_err(|e| Rejected {
            job: e.into_inner(),
            reason: Reason::NoWorkers,
        })?;
        self.submitted.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Queues a job, waiting while the queue is full, unless `stop` receives a message first:
    /// then the job is handed back. Go writes this as
    /// `select { case jobs <- j: case <-stop: }`.
    pub fn submit_or_stop(&self, job: J, stop: &Receiver<()>) -> Result<(), Rejected<J>> {
        // `select!` picks at random among ready operations, so check `stop` first: once a stop
        // is pending (a message, or a disconnect, as below), not one more job gets in.
        if !matches!(stop.try_recv(), Err(TryRecvError::Empty)) {
            return Err(Rejected {
                job,
                reason: Reason::Stopped,
            });
        }
        let queue = self.sender();
        let mut op = crossbeam_channel::Select::new();
        let send = op.send(queue);
        let stopped = op.recv(stop);
        let chosen = op.select();
        match chosen.index() {
            i if i == send => {
                chosen.send(queue, job).map_err(|e| Rejected {
                    job: e.into_inner(),
                    reason: Reason::NoWorkers,
                })?;
                self.submitted.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            i if i == stopped => {
                // A message or a disconnect: either way, stop.
                let _ = chosen.recv(stop);
                Err(Rejected {
                    job,
                    reason: Reason::Stopped,
                })
            }
            _ => unreachable!("only two operations were registered"),
        }
    }
    // ANCHOR_END: submit

    /// Jobs waiting in the queue right now.
    pub fn queued(&self) -> usize {
        self.sender().len()
    }

    /// A handle for triggering stop-now from another thread, for example a second Ctrl-C.
    pub fn stop_handle(&self) -> StopNow {
        StopNow(Arc::clone(&self.stop_now))
    }

    // ANCHOR: shutdown
    /// Stops taking jobs, lets the workers finish every queued job, and reports on all of them.
    ///
    /// It takes the pool by value, so nothing can be submitted afterwards: the mistake that
    /// makes Go's `send on closed channel` panic does not compile.
    ///
    /// ```compile_fail,E0382
    /// let pool = lesson_3::Pool::new(2, 4, |_worker, _job: &u32| Ok(()));
    /// let report = pool.shutdown(); // the pool moves into shutdown…
    /// pool.submit(7);               // …so this line is rejected: "borrow of moved value"
    /// ```
    pub fn shutdown(mut self) -> Report<J> {
        self.close_and_join()
    }

    /// Stops taking jobs and cancels every queued job: workers finish the job in hand, then
    /// hand the rest back unstarted. The report holds them all.
    pub fn shutdown_now(self) -> Report<J> {
        self.stop_now.store(true, Ordering::Release);
        self.shutdown()
    }

    fn close_and_join(&mut self) -> Report<J> {
        // Dropping the only sender closes the queue. Workers empty it, then their loops end.
        drop(self.queue.take());
        let mut panicked_workers = 0;
        for handle in self.workers.drain(..) {
            if handle.join().is_err() {
                panicked_workers += 1;
            }
        }
        Report {
            // Every worker has exited, so every outcome is already in the channel.
            outcomes: self.outcomes.try_iter().collect(),
            submitted: self.submitted.load(Ordering::Relaxed),
            panicked_workers,
        }
    }
    // ANCHOR_END: shutdown

    fn sender(&self) -> &Sender<J> {
        self.queue
            .as_ref()
            .expect("the queue is open until shutdown, which takes the pool")
    }
}

// ANCHOR: drop
impl<J: Send + 'static> Drop for Pool<J> {
    /// Dropping a pool drains it: close the queue, let workers finish it, wait for them.
    fn drop(&mut self) {
        if self.queue.is_some() {
            self.close_and_join();
        }
    }
}
// ANCHOR_END: drop

// ANCHOR: worker
fn worker<J, F>(
    id: usize,
    jobs: Receiver<J>,
    report: Sender<Outcome<J>>,
    handler: &F,
    stop_now: &AtomicBool,
    clock: Instant,
) where
    F: Fn(usize, &J) -> Result<(), String>,
{
    // The loop ends when the queue is closed (the pool dropped its sender) and empty, so a
    // closed queue still hands out every job that was in it: none is silently dropped.
    for job in jobs {
        let started = clock.elapsed();
        // New: checked between jobs, never during one, so a running job always finishes.
        let status = if stop_now.load(Ordering::Acquire) {
            Status::Cancelled
        } else {
            match handler(id, &job) {
                Ok(()) => Status::Completed,
                Err(reason) => Status::Failed(reason),
            }
        };
        let took = match status {
            Status::Cancelled => Duration::ZERO,
            _ => clock.elapsed() - started,
        };
        let outcome = Outcome {
            job,
            worker: id,
            status,
            started,
            took,
        };
        // The pool holds the receiver until every worker has been joined.
        report.send(outcome).expect("the pool outlives its workers");
    }
}
// ANCHOR_END: worker
