//! # Lesson 4: cancellation and deadlines
//!
//! A [`CancelToken`] is Rust's answer to Go's `context.Context`: one call to
//! [`CancelToken::cancel`] wakes every worker waiting for a job and every job waiting inside its
//! work, and each job ends in exactly one state: done, failed, timed out or cancelled. New since
//! lesson 2 (whose batch shape this lesson keeps): workers wait on the queue *and* the token with
//! `select!`, jobs get a per-job timeout and a [`Ctx`] to wait on, the whole run can have a
//! deadline, and the first failure can cancel the rest (Go's `errgroup.WithContext`).
//! Run it with `cargo run -p lesson-4`, then add `-- --deadline-ms 400` or `-- --cancel-on-error`.
//!
//! ```
//! use std::time::Duration;
//! use lesson_4::{CancelToken, Config, Job, Cause, run, simulate};
//!
//! let jobs: Vec<Job> = (1..=6)
//!     .map(|id| Job { id, work: Duration::ZERO, fails: id == 2, stuck: false })
//!     .collect();
//! let config = Config { workers: 1, cancel_on_error: true, ..Config::default() };
//! let report = run(&config, jobs, &CancelToken::new(), simulate, |_| {});
//! assert_eq!(report.cause, Some(Cause::FirstError { job: 2 }));
//! assert_eq!((report.completed(), report.failed(), report.cancelled()), (1, 1, 4));
//! ```

use crossbeam_channel::{Receiver, Select, Sender, after, at, never, select};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

// ANCHOR: token
/// Why a run was cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// Someone called [`CancelToken::cancel`] from outside the run.
    Requested,
    /// The run's deadline passed.
    Deadline,
    /// A job failed (or timed out) and the run cancels on the first error.
    FirstError {
        /// The job whose failure cancelled the run.
        job: u64,
    },
    /// A job panicked and took its worker with it; the run stops rather than hang with
    /// nobody left to drain the queue (lesson 7 catches panics instead).
    WorkerPanicked,
}

/// A cancellation signal that any number of threads can wait on and any one can trigger.
///
/// Clones share one signal. Go closes `ctx.Done()` to wake every waiter; here the token drops
/// the only `Sender` of a channel, and every clone of its `Receiver` sees the disconnect at once.
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

    /// Whether the token has been cancelled: the cheap check for code that polls.
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
// ANCHOR_END: token

// ANCHOR: job_ctx
/// Why a job's wait was cut short.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interrupted {
    /// The run was cancelled.
    Cancelled,
    /// The job's own time limit passed.
    TimedOut,
}

/// What a running job gets besides its input: a way to notice cancellation and its deadline.
///
/// A thread cannot be stopped from outside, so a long job must wait through [`Ctx::sleep`]
/// (or call [`Ctx::check`] between steps); that is what makes cancellation cooperative.
#[derive(Debug)]
pub struct Ctx<'a> {
    /// The run's token.
    pub token: &'a CancelToken,
    /// When this job's time is up, if it has a timeout.
    pub deadline: Option<Instant>,
}

impl Ctx<'_> {
    /// Waits for `d`, unless the run is cancelled or the job's deadline passes first.
    pub fn sleep(&self, d: Duration) -> Result<(), Interrupted> {
        let time_up = match self.deadline {
            Some(deadline) => at(deadline),
            None => never(),
        };
        // Whichever comes first: the work is done, the run is cancelled, or time is up.
        select! {
            recv(after(d)) -> _ => Ok(()),
            recv(self.token.done()) -> _ => Err(Interrupted::Cancelled),
            recv(time_up) -> _ => Err(Interrupted::TimedOut),
        }
    }

    /// Returns at once: `Err` if the run is cancelled or the deadline has passed.
    pub fn check(&self) -> Result<(), Interrupted> {
        if self.token.is_cancelled() {
            Err(Interrupted::Cancelled)
        } else if self.deadline.is_some_and(|d| Instant::now() >= d) {
            Err(Interrupted::TimedOut)
        } else {
            Ok(())
        }
    }
}
// ANCHOR_END: job_ctx

// ANCHOR: types
/// One unit of work.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// Unique within a run.
    pub id: u64,
    /// How long the simulated work takes.
    pub work: Duration,
    /// Whether the simulated work fails at the end.
    pub fails: bool,
    /// New: a stuck job never finishes by itself: only its timeout or a cancel ends it.
    pub stuck: bool,
}

/// How a job's work went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobError {
    /// The work failed, for this reason.
    Failed(String),
    /// The work noticed cancellation or its deadline and gave up.
    Interrupted(Interrupted),
}

impl From<Interrupted> for JobError {
    fn from(why: Interrupted) -> JobError {
        JobError::Interrupted(why)
    }
}

/// How a job ended. New: exactly one of these per job, whatever happened to the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// It ran and produced this answer.
    Completed(u64),
    /// It ran and failed.
    Failed(String),
    /// It ran past its own time limit (its answer, if any, came too late and is discarded).
    TimedOut,
    /// The run was cancelled; `started` says whether the job was stopped while running or
    /// never began.
    Cancelled {
        /// Whether it had started when the cancel reached it.
        started: bool,
    },
}

/// What came of one job.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Which job.
    pub job: u64,
    /// The worker that took it, or `None` if no worker ever did.
    pub worker: Option<usize>,
    /// How it ended.
    pub status: Status,
    /// When it started (or was taken), from the start of the run.
    pub started: Duration,
    /// How long it ran.
    pub took: Duration,
}

/// How a run is set up.
#[derive(Debug, Clone)]
pub struct Config {
    /// Worker threads.
    pub workers: usize,
    /// Each job's own time limit.
    pub job_timeout: Option<Duration>,
    /// The whole run's time limit: when it passes, the run is cancelled.
    pub deadline: Option<Duration>,
    /// Cancel the run when a job fails or times out (Go's `errgroup.WithContext`).
    pub cancel_on_error: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            workers: 4,
            job_timeout: None,
            deadline: None,
            cancel_on_error: false,
        }
    }
}
// ANCHOR_END: types

// ANCHOR: worker
fn worker<F>(
    id: usize,
    config: &Config,
    jobs: Receiver<Job>,
    token: &CancelToken,
    results: Sender<Outcome>,
    work: &F,
    clock: Instant,
) where
    F: Fn(&Job, &Ctx) -> Result<u64, JobError>,
{
    // If a job panics, this worker is gone: cancel the run so the producer and the other
    // workers stop too, and the panic reaches the caller instead of a hang.
    let _guard = CancelOnPanic(token);
    loop {
        // New: wait for a job *or* cancellation, so an idle worker wakes the moment the run is
        // cancelled instead of when the next job happens to arrive.
        let job = select! {
            recv(jobs) -> job => match job {
                Ok(job) => job,
                Err(_) => return, // Queue closed and empty: no more work.
            },
            recv(token.done()) -> _ => return,
        };
        let started = clock.elapsed();
        // New: `select!` picks at random when both are ready, so it can hand us a job just
        // after cancellation. Never start one once the token says stop.
        if token.is_cancelled() {
            let outcome = Outcome {
                job: job.id,
                worker: Some(id),
                status: Status::Cancelled { started: false },
                started,
                took: Duration::ZERO,
            };
            results
                .send(outcome)
                .expect("the collector outlives the workers");
            return;
        }
        let ctx = Ctx {
            token,
            deadline: config.job_timeout.map(|t| Instant::now() + t),
        };
        let result = work(&job, &ctx);
        let took = clock.elapsed() - started;
        let status = match result {
            // A job that ignored its deadline still timed out: its answer is too late.
            Ok(_) if config.job_timeout.is_some_and(|t| took > t) => Status::TimedOut,
            Ok(answer) => Status::Completed(answer),
            Err(JobError::Failed(reason)) => Status::Failed(reason),
            Err(JobError::Interrupted(Interrupted::TimedOut)) => Status::TimedOut,
            Err(JobError::Interrupted(Interrupted::Cancelled)) => {
                Status::Cancelled { started: true }
            }
        };
        // New: errgroup's rule: the first failure cancels everyone else.
        if config.cancel_on_error && matches!(status, Status::Failed(_) | Status::TimedOut) {
            token.cancel(Cause::FirstError { job: job.id });
        }
        let outcome = Outcome {
            job: job.id,
            worker: Some(id),
            status,
            started,
            took,
        };
        results
            .send(outcome)
            .expect("the collector outlives the workers");
    }
}
// ANCHOR_END: worker

/// Cancels the token when dropped during a panic.
struct CancelOnPanic<'a>(&'a CancelToken);

impl Drop for CancelOnPanic<'_> {
    fn drop(&mut self) {
        if thread::panicking() {
            self.0.cancel(Cause::WorkerPanicked);
        }
    }
}

// ANCHOR: run_queue
/// Runs jobs from `jobs` on `config.workers` threads until the queue is closed and empty, or
/// the token is cancelled, whichever comes first. Returns an outcome for every job a worker
/// took, in the order they ended. Jobs still in the queue after a cancel are left there for the
/// caller, who knows whether more are coming.
///
/// # Panics
///
/// If `config.workers` is 0, or if `work` panics.
pub fn run_queue<F, O>(
    config: &Config,
    jobs: Receiver<Job>,
    token: &CancelToken,
    work: F,
    mut on_outcome: O,
) -> Vec<Outcome>
where
    F: Fn(&Job, &Ctx) -> Result<u64, JobError> + Sync,
    O: FnMut(&Outcome),
{
    assert!(config.workers > 0, "a pool needs at least one worker");
    let clock = Instant::now();
    let (result_tx, result_rx) = crossbeam_channel::unbounded();
    thread::scope(|scope| {
        for id in 1..=config.workers {
            let (jobs, results, work) = (jobs.clone(), result_tx.clone(), &work);
            scope.spawn(move || worker(id, config, jobs, token, results, work, clock));
        }
        drop(result_tx);

        // New: the deadline is one more thread that cancels the token when time is up. It
        // also stops when the run ends first (`finished` is dropped below) or is cancelled.
        let (finished, run_over) = crossbeam_channel::bounded::<()>(0);
        if let Some(deadline) = config.deadline {
            scope.spawn(move || {
                select! {
                    recv(after(deadline)) -> _ => { token.cancel(Cause::Deadline); }
                    recv(run_over) -> _ => {}
                    recv(token.done()) -> _ => {}
                }
            });
        }

        let mut outcomes = Vec::new();
        for outcome in result_rx {
            on_outcome(&outcome);
            outcomes.push(outcome);
        }
        drop(finished);
        outcomes
    })
}
// ANCHOR_END: run_queue

// ANCHOR: report
/// Everything a run did: an outcome per job, in job order, and why it was cancelled, if it was.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// One per job submitted to the run, sorted by job id.
    pub outcomes: Vec<Outcome>,
    /// Why the run was cancelled, or `None` if it ran to the end.
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
    /// Jobs that ran past their own time limit.
    pub fn timed_out(&self) -> usize {
        self.count(|s| *s == Status::TimedOut)
    }
    /// Jobs the cancel reached, running or not yet started.
    pub fn cancelled(&self) -> usize {
        self.count(|s| matches!(s, Status::Cancelled { .. }))
    }
    fn count(&self, f: impl Fn(&Status) -> bool) -> usize {
        self.outcomes.iter().filter(|o| f(&o.status)).count()
    }
}
// ANCHOR_END: report

// ANCHOR: run
/// Runs a batch of jobs and reports on every one of them, however the run ends.
///
/// A producer thread feeds the queue and stops feeding when the token is cancelled. Jobs it
/// never sent and jobs still queued come back as `Cancelled { started: false }`.
pub fn run<F, O>(
    config: &Config,
    jobs: Vec<Job>,
    token: &CancelToken,
    work: F,
    on_outcome: O,
) -> Report
where
    F: Fn(&Job, &Ctx) -> Result<u64, JobError> + Sync,
    O: FnMut(&Outcome),
{
    let (queue, taken) = crossbeam_channel::bounded::<Job>(config.workers);
    let leftovers = taken.clone();
    let (mut outcomes, unsent) = thread::scope(|scope| {
        let producer = scope.spawn(move || feed(queue, jobs, token));
        let outcomes = run_queue(config, taken, token, work, on_outcome);
        (
            outcomes,
            producer.join().expect("the producer does not panic"),
        )
    });
    // Every worker and the producer have stopped: what is left in the queue or was never
    // sent is accounted for here, so no job goes missing from the report.
    let never_started = leftovers.try_iter().chain(unsent).map(|job| Outcome {
        job: job.id,
        worker: None,
        status: Status::Cancelled { started: false },
        started: Duration::ZERO,
        took: Duration::ZERO,
    });
    outcomes.extend(never_started);
    outcomes.sort_by_key(|o| o.job);
    Report {
        outcomes,
        cause: token.cause(),
    }
}

/// Sends jobs until they run out or the token is cancelled; returns the ones it did not send.
fn feed(queue: Sender<Job>, jobs: Vec<Job>, token: &CancelToken) -> Vec<Job> {
    let mut jobs = jobs.into_iter();
    while let Some(job) = jobs.next() {
        // New: wait for room in the queue or for cancellation, whichever comes first.
        let mut sel = Select::new();
        let send = sel.send(&queue);
        let cancelled = sel.recv(token.done());
        let op = sel.select();
        if op.index() == cancelled {
            // Completes the selected operation; it is always `Err` (the token's sender is gone).
            let _ = op.recv(token.done());
            return std::iter::once(job).chain(jobs).collect();
        }
        debug_assert_eq!(op.index(), send);
        // A selected send must be completed. If the run was cancelled at that same moment,
        // the job waits in the queue, and `run` drains it as never started.
        op.send(&queue, job)
            .expect("`run` holds a receiver until the end");
    }
    Vec::new()
    // `queue` is dropped here: the workers see it close once they have emptied it.
}
// ANCHOR_END: run

/// The simulated work: wait out `job.work` (a stuck job waits for ever), then double the id or
/// fail as the seed decided. The waiting goes through `ctx`, so it ends early on a cancel or a
/// timeout.
pub fn simulate(job: &Job, ctx: &Ctx) -> Result<u64, JobError> {
    if job.stuck {
        // Wait "for ever": an hour is longer than any deadline in this course.
        ctx.sleep(Duration::from_secs(3600))?;
    }
    ctx.sleep(job.work)?;
    if job.fails {
        Err(JobError::Failed("simulated failure".into()))
    } else {
        Ok(job.id * 2)
    }
}
