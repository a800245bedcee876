// course: exercise
// //! # Exercise 7: the first error cancels the rest
// course: solution
//! # Exercise 7, solved: the first error cancels the rest
// course: end
//!
// course: exercise
// //! Go's `errgroup.WithContext`, with lesson 4's token: run a batch of jobs on a few worker
// //! threads, and let the first job that fails cancel everything that has not started yet. The
// //! token is written for you; write the worker loop and the batch around it:
// //!
// //! - [`worker`] waits on the queue *and* on `token.done()` with `crossbeam_channel::select!`, so
// //!   an idle worker leaves the moment the run is cancelled, even while the queue is open;
// //! - a failing job cancels the token with [`Cause::FirstError`];
// //! - once the token is cancelled, no job starts (`select!` may still hand the worker one);
// //! - [`run_until_first_error`] reports every job exactly once: done, failed, or cancelled if it
// //!   never started, including the jobs still in the queue when the workers stopped.
// //!
// //! Replace each `@todo()` and run `cargo test -p ex07-first-error` until it passes. Stuck? Run
// //! `cargo run -p course -- hint ex07-first-error`.
// course: solution
//! Lesson 4's worker loop and batch, reduced to Go's `errgroup.WithContext`: workers wait on
//! the queue and the token together, the first failure cancels the token, and every job ends
//! exactly once, as done, failed or cancelled.
// course: end

// course: exercise
// use crossbeam_channel::{Receiver, Sender};
// course: solution
use crossbeam_channel::{Receiver, Sender, select};
// course: end
use std::sync::{Arc, Mutex, OnceLock};
// course: solution
use std::thread;
// course: end

/// Why a run was cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// Someone called [`CancelToken::cancel`] from outside the run.
    Requested,
    /// A job failed, and the first failure cancels the rest.
    FirstError {
        /// The job whose failure cancelled the run.
        job: u64,
    },
}

/// A cancellation signal that any number of threads can wait on and any one can trigger:
/// lesson 4's token, ready to use.
///
/// Clones share one signal. Cancelling drops the only `Sender` of a channel, so every clone of
/// its `Receiver` (see [`CancelToken::done`]) wakes up at once.
#[derive(Debug, Clone)]
pub struct CancelToken {
    inner: Arc<TokenInner>,
}

#[derive(Debug)]
struct TokenInner {
    /// Set once, by the first cancel; later cancels keep the first cause.
    cause: OnceLock<Cause>,
    /// Never sends: dropping it is the signal. `Mutex<Option<…>>` so `cancel(&self)` can drop it.
    trigger: Mutex<Option<Sender<()>>>,
    /// What waiters `select!` on: it becomes ready (disconnected) when `trigger` is dropped.
    done: Receiver<()>,
}

impl CancelToken {
    /// A token that has not been cancelled.
    pub fn new() -> CancelToken {
        let (trigger, done) = crossbeam_channel::bounded(0);
        CancelToken {
            inner: Arc::new(TokenInner {
                cause: OnceLock::new(),
                trigger: Mutex::new(Some(trigger)),
                done,
            }),
        }
    }

    /// Cancels everything that shares this token. Returns `false` if it was already cancelled
    /// (the first cause is kept).
    pub fn cancel(&self, cause: Cause) -> bool {
        if self.inner.cause.set(cause).is_err() {
            return false;
        }
        // The cause is set before the wake-up, so whoever wakes sees `is_cancelled()`.
        drop(self.inner.trigger.lock().expect("never poisoned").take());
        true
    }

    /// Whether the token has been cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.inner.cause.get().is_some()
    }

    /// Why it was cancelled, if it was.
    pub fn cause(&self) -> Option<Cause> {
        self.inner.cause.get().copied()
    }

    /// A channel that becomes ready when the token is cancelled, for `select!`: Go's
    /// `ctx.Done()`. Receiving from it returns `Err` once cancelled, and blocks until then.
    pub fn done(&self) -> &Receiver<()> {
        &self.inner.done
    }
}

impl Default for CancelToken {
    fn default() -> Self {
        CancelToken::new()
    }
}

/// How a job ended: exactly one of these per job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// It ran and produced this answer.
    Completed(u64),
    /// It ran and failed with this error.
    Failed(String),
    /// The run was cancelled before the job started; it never ran.
    Cancelled,
}

/// Everything a run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// One `(job, status)` per job given to the run, sorted by job id.
    pub outcomes: Vec<(u64, Status)>,
    /// Why the run was cancelled (the job that failed first), or `None` if nothing failed.
    pub cause: Option<Cause>,
}

impl Report {
    /// Jobs that produced an answer.
    pub fn completed(&self) -> usize {
        self.count(|s| matches!(s, Status::Completed(_)))
    }

    /// Jobs that ran and failed.
    pub fn failed(&self) -> usize {
        self.count(|s| matches!(s, Status::Failed(_)))
    }

    /// Jobs that never started because the run was cancelled.
    pub fn cancelled(&self) -> usize {
        self.count(|s| *s == Status::Cancelled)
    }

    fn count(&self, f: impl Fn(&Status) -> bool) -> usize {
        self.outcomes.iter().filter(|(_, s)| f(s)).count()
    }
}

/// Takes jobs from `jobs` and runs `work(job, token)` on each, sending one `(job, status)` per
/// job it takes to `results`, until the queue is closed and empty or the token is cancelled.
///
/// When a job fails, the worker cancels the token with [`Cause::FirstError`]. Once the token
/// is cancelled, the worker starts no job: one it has just taken is reported
/// [`Status::Cancelled`], and the worker returns.
pub fn worker(
    jobs: Receiver<u64>,
    token: &CancelToken,
    work: &(dyn Fn(u64, &CancelToken) -> Result<u64, String> + Sync),
    results: Sender<(u64, Status)>,
) {
    // course: exercise
    // let _ = (jobs, token, work, results);
    // @todo(
    //     "loop: select! on the jobs queue and token.done(); skip (report Cancelled) a job taken after the cancel; run the job, cancel the token with Cause::FirstError if it fails, send (job, status)"
    // )
    // course: solution
    loop {
        // Wait for a job *or* the cancel, so an idle worker wakes the moment the run is
        // cancelled, even if the queue is still open.
        let job = select! {
            recv(jobs) -> job => match job {
                Ok(job) => job,
                Err(_) => return, // Closed and empty: no more work.
            },
            recv(token.done()) -> _ => return,
        };
        // `select!` picks at random when both are ready: it can hand us a job after the
        // cancel. Never start one once the token says stop.
        if token.is_cancelled() {
            results
                .send((job, Status::Cancelled))
                .expect("the collector outlives the workers");
            return;
        }
        let status = match work(job, token) {
            Ok(answer) => Status::Completed(answer),
            Err(error) => {
                // errgroup's rule: the first failure cancels everyone else. A later failure
                // finds the token already cancelled, and the first cause stays.
                token.cancel(Cause::FirstError { job });
                Status::Failed(error)
            }
        };
        results
            .send((job, status))
            .expect("the collector outlives the workers");
    }
    // course: end
}

/// Runs every job on `workers` threads sharing one queue, until the first job fails; from then
/// on no job starts. Returns a report with one outcome per job, sorted by job id: the jobs that
/// ran are done or failed, all others cancelled.
///
/// `work` gets the job and the run's token, so a long job can watch `token.done()` too.
///
/// # Panics
///
/// If `workers` is 0.
pub fn run_until_first_error<F>(workers: usize, jobs: Vec<u64>, work: F) -> Report
where
    F: Fn(u64, &CancelToken) -> Result<u64, String> + Sync,
{
    // course: exercise
    // let _ = (workers, jobs, work);
    // @todo(
    //     "make a token and a closed queue holding every job, run `workers` scoped threads of `worker`, collect their outcomes, add the jobs left in the queue as Cancelled, sort by job id, and take the cause from the token"
    // )
    // course: solution
    assert!(workers > 0, "a pool needs at least one worker");
    let token = CancelToken::new();
    let (queue, taken) = crossbeam_channel::unbounded();
    for job in jobs {
        queue.send(job).expect("`taken` is still here");
    }
    // Closes the queue: workers leave once it is empty.
    drop(queue);
    let (results, answers) = crossbeam_channel::unbounded();
    let mut outcomes: Vec<(u64, Status)> = thread::scope(|scope| {
        for _ in 0..workers {
            let (taken, results, token, work) = (taken.clone(), results.clone(), &token, &work);
            scope.spawn(move || worker(taken, token, work, results));
        }
        // Only the workers hold result senders now: the loop below ends with the last one.
        drop(results);
        answers.iter().collect()
    });
    // Every worker has stopped. What is still queued was never taken: cancelled, never started.
    outcomes.extend(taken.try_iter().map(|job| (job, Status::Cancelled)));
    outcomes.sort_by_key(|(job, _)| *job);
    Report {
        outcomes,
        cause: token.cause(),
    }
    // course: end
}
