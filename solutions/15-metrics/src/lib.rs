// course: exercise
// //! # Exercise 15: metrics that add up
// course: solution
//! # Exercise 15, solved: metrics that add up
// course: end
//!
// course: exercise
// //! Lesson 7's pool counts every job, and the counts add up: once the pool has drained,
// //! `submitted == completed + failed + panicked`, and every job it refused is counted once, under
// //! one reason. The Go article's pool counted jobs in and never counted them out. Here the pool
// //! and its [`Metrics`] are written, except the three places that do the counting:
// //!
// //! - [`Pool::submit`] waits for room in the queue; [`Pool::try_submit`] never waits, and refuses
// //!   a job with [`Reason::Full`] when the queue is full. Both refuse every job with
// //!   [`Reason::Closed`] once [`Pool::close`] has been called (or if every worker is gone). A
// //!   refused job is handed back inside [`Rejected`], and counted once, under its reason; it is
// //!   *not* submitted. A job is `submitted` only once it is really in the queue.
// //! - `worker` runs each job and counts how it ended: `Ok` is completed, `Err` is failed, a
// //!   panic is panicked. A panicking job must not take its worker down with it: catch the panic
// //!   (`std::panic::catch_unwind`), count it, and take the next job.
// //!
// //! The counters are atomics (`fetch_add(1, Ordering::Relaxed)`): they are counts, not
// //! synchronisation, and [`Pool::shutdown`] joins the workers before it reads them, which makes
// //! every count visible.
// //!
// //! Replace each `@todo()` and run `cargo test -p ex15-metrics` until it passes. Stuck? Run
// //! `cargo run -p course -- hint ex15-metrics`.
// course: solution
//! A job is counted `submitted` only once it is in the queue, a refusal once under its reason,
//! and every job that ran once under how it ended, a panic included: the worker runs each job
//! inside `catch_unwind`, so a panic is a count, not a dead worker.
// course: end

// course: exercise
// use crossbeam_channel::{Receiver, Sender};
// course: solution
use crossbeam_channel::{Receiver, SendError, Sender, TrySendError};
// course: end
use std::fmt;
// course: solution
use std::panic::{AssertUnwindSafe, catch_unwind};
// course: end
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;

/// A job: runs once, and ends with `Ok`, an `Err` saying what went wrong, or a panic.
pub type Job = Box<dyn FnOnce() -> Result<(), String> + Send + 'static>;

/// Why the pool refused a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The queue was full (`try_submit` only: `submit` waits for room).
    Full,
    /// The pool was closed, or every worker is gone.
    Closed,
}

/// A job the pool did not take, handed back with the reason.
pub struct Rejected {
    /// The job, untouched: the caller can retry it, or run it elsewhere.
    pub job: Job,
    /// Why it was refused.
    pub reason: Reason,
}

impl fmt::Debug for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rejected")
            .field("reason", &self.reason)
            .finish_non_exhaustive()
    }
}

/// The pool's counters. Each is one atomic: counting a job is one `fetch_add`, no lock.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Jobs accepted into the queue.
    submitted: AtomicU64,
    /// Jobs that ran and returned `Ok`.
    completed: AtomicU64,
    /// Jobs that ran and returned `Err`.
    failed: AtomicU64,
    /// Jobs that panicked (the worker caught it and carried on).
    panicked: AtomicU64,
    /// Jobs refused because the queue was full.
    rejected_full: AtomicU64,
    /// Jobs refused because the pool was closed.
    rejected_closed: AtomicU64,
}

impl Metrics {
    /// A copy of every counter.
    pub fn snapshot(&self) -> Snapshot {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        Snapshot {
            submitted: read(&self.submitted),
            completed: read(&self.completed),
            failed: read(&self.failed),
            panicked: read(&self.panicked),
            rejected_full: read(&self.rejected_full),
            rejected_closed: read(&self.rejected_closed),
        }
    }
}

/// The counters at one moment. Taken while jobs run, they are only roughly consistent; after
/// [`Pool::shutdown`], exact.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Jobs accepted into the queue.
    pub submitted: u64,
    /// Jobs that returned `Ok`.
    pub completed: u64,
    /// Jobs that returned `Err`.
    pub failed: u64,
    /// Jobs that panicked.
    pub panicked: u64,
    /// Jobs refused with [`Reason::Full`].
    pub rejected_full: u64,
    /// Jobs refused with [`Reason::Closed`].
    pub rejected_closed: u64,
}

impl Snapshot {
    /// Jobs that ran, however they ended: after shutdown, equal to `submitted`.
    pub fn ended(&self) -> u64 {
        self.completed + self.failed + self.panicked
    }

    /// Refusals of every kind.
    pub fn rejected(&self) -> u64 {
        self.rejected_full + self.rejected_closed
    }
}

/// A pool of worker threads behind a bounded queue, that counts everything.
pub struct Pool {
    /// The queue's only sender: dropping it (in `shutdown`) is how the workers learn to stop.
    queue: Sender<Job>,
    /// Joined by `shutdown`.
    workers: Vec<JoinHandle<()>>,
    /// Shared with the workers.
    metrics: Arc<Metrics>,
    /// Set by `close`: from then on, every job is refused with `Closed`.
    closed: AtomicBool,
}

impl Pool {
    /// Starts `workers` threads, named `pool-worker-1`, `pool-worker-2`, …, behind a queue of
    /// `capacity` jobs.
    ///
    /// # Panics
    ///
    /// If `workers` or `capacity` is 0.
    pub fn new(workers: usize, capacity: usize) -> Pool {
        assert!(workers > 0, "a pool needs at least one worker");
        assert!(capacity > 0, "the queue needs room for at least one job");
        let (queue, jobs) = crossbeam_channel::bounded(capacity);
        let metrics = Arc::new(Metrics::default());
        let workers = (1..=workers)
            .map(|id| {
                let (jobs, metrics) = (jobs.clone(), Arc::clone(&metrics));
                std::thread::Builder::new()
                    .name(format!("pool-worker-{id}"))
                    .spawn(move || worker(jobs, &metrics))
                    .expect("the OS can start a thread")
            })
            .collect();
        // The pool keeps no receiver: once every worker is gone, sending fails instead of
        // queueing jobs that nobody would ever run.
        Pool {
            queue,
            workers,
            metrics,
            closed: AtomicBool::new(false),
        }
    }

    /// Queues a job, waiting for room as long as it takes. Refused only with `Closed`.
    pub fn submit(&self, job: Job) -> Result<(), Rejected> {
        // course: exercise
        // let _ = (self, job);
        // @todo(
        //     "refuse with Closed if closed; send (waiting for room); count `submitted` once the send succeeded, or count the refusal under its reason"
        // )
        // course: solution
        if self.closed.load(Ordering::Acquire) {
            return Err(self.refuse(job, Reason::Closed));
        }
        match self.queue.send(job) {
            // Counted after the send: only a job that is really in the queue is submitted.
            Ok(()) => {
                self.metrics.submitted.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            // Every worker is gone, and the receivers with them.
            Err(SendError(job)) => Err(self.refuse(job, Reason::Closed)),
        }
        // course: end
    }

    /// Queues a job if there is room now; otherwise hands it back with `Full` (or `Closed`).
    pub fn try_submit(&self, job: Job) -> Result<(), Rejected> {
        // course: exercise
        // let _ = (self, job);
        // @todo(
        //     "refuse with Closed if closed; try_send; count `submitted` only if it got in, else count the refusal (Full or Closed) once"
        // )
        // course: solution
        if self.closed.load(Ordering::Acquire) {
            return Err(self.refuse(job, Reason::Closed));
        }
        match self.queue.try_send(job) {
            Ok(()) => {
                self.metrics.submitted.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Err(TrySendError::Full(job)) => Err(self.refuse(job, Reason::Full)),
            Err(TrySendError::Disconnected(job)) => Err(self.refuse(job, Reason::Closed)),
        }
    }

    /// Counts a refusal, once, under its reason, and hands the job back.
    fn refuse(&self, job: Job, reason: Reason) -> Rejected {
        let counter = match reason {
            Reason::Full => &self.metrics.rejected_full,
            Reason::Closed => &self.metrics.rejected_closed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        Rejected { job, reason }
        // course: end
    }

    /// Refuses every job from now on (with `Closed`). Jobs already queued still run.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
    }

    /// The counters now.
    pub fn metrics(&self) -> Snapshot {
        self.metrics.snapshot()
    }

    /// Closes the pool, lets the workers finish every queued job, joins them, and returns the
    /// final counts.
    pub fn shutdown(self) -> Snapshot {
        self.close();
        let Pool {
            queue,
            workers,
            metrics,
            ..
        } = self;
        // Dropping the only sender closes the queue: the workers empty it, then leave.
        drop(queue);
        for handle in workers {
            handle.join().expect(
                "a worker thread panicked (its message is above): if it was a job's panic, run each \
                 job inside catch_unwind, so the worker counts it and carries on",
            );
        }
        // After the joins, every count the workers made is visible here.
        metrics.snapshot()
    }
}

/// One worker: runs jobs until the queue is closed and empty, and counts how each one ended.
fn worker(jobs: Receiver<Job>, metrics: &Metrics) {
    // course: exercise
    // let _ = (jobs, metrics);
    // @todo(
    //     "for each job: run it inside catch_unwind(AssertUnwindSafe(job)); count Ok(Ok) as completed, Ok(Err) as failed, Err(panic) as panicked"
    // )
    // course: solution
    // Ends once the queue is closed and empty.
    for job in jobs {
        // A panic stops here instead of unwinding out of the loop and ending the thread.
        // `AssertUnwindSafe`: after a panic we look only at the `Err`, never at anything the
        // job may have left half changed.
        let counter = match catch_unwind(AssertUnwindSafe(job)) {
            Ok(Ok(())) => &metrics.completed,
            Ok(Err(_)) => &metrics.failed,
            Err(_) => &metrics.panicked,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
    // course: end
}
