//! # Lesson 5: the pool on tokio
//!
//! The same pool as before, built from async tasks instead of threads: a bounded
//! `tokio::sync::mpsc` queue feeds a fixed set of worker tasks, and every job ends as done,
//! failed, timed out or cancelled. New since lesson 4: tasks instead of threads,
//! `tokio::select!` instead of crossbeam's, a `CancellationToken` instead of a cancel channel,
//! `tokio::time::timeout` instead of `after`, `spawn_blocking` for CPU-heavy work, and a second
//! shape, [`run_with_permits`], that starts a task per job and bounds them with a `Semaphore`.
//! Run it with `cargo run -p lesson-5`, and `cargo run --release -p lesson-5 -- --compare` to
//! weigh threads against tasks.
//!
//! ```
//! use lesson_5::{Config, Pool};
//!
//! let runtime = tokio::runtime::Runtime::new().unwrap();
//! runtime.block_on(async {
//!     let pool = Pool::new(
//!         Config::new(2, 8),
//!         |n: u64, _token| async move {
//!             if n % 2 == 0 { Ok(()) } else { Err(format!("{n} is odd")) }
//!         },
//!         |_outcome| {},
//!     );
//!     for n in 1..=6 {
//!         pool.submit(n).await.expect("nobody cancelled the pool");
//!     }
//!     let report = pool.shutdown().await;
//!     assert_eq!((report.completed(), report.failed(), report.cancelled()), (3, 3, 0));
//! });
//! ```

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::{Mutex, Semaphore, mpsc};
use tokio::task::{JoinError, JoinSet};
use tokio::time::Instant;
use tokio_util::sync::{CancellationToken, DropGuard};
use tokio_util::task::AbortOnDropHandle;

// ANCHOR: outcome
/// How a job ended. Every job the pool accepts ends in exactly one of these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// The job ran and succeeded.
    Completed,
    /// The job ran and returned this error.
    Failed(String),
    /// The job ran past its own time limit: it was stopped there, or, if it never gave the
    /// pool a chance to stop it, its late result is discarded.
    TimedOut,
    /// The pool was cancelled before the job ended.
    Cancelled {
        /// Whether the job was stopped while running (or else never began).
        started: bool,
    },
}

/// What came of one job; the job itself comes back with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome<J> {
    /// The job as it was submitted.
    pub job: J,
    /// The worker task that took it; `None` if no worker did (a job still queued when the pool
    /// was cancelled, or any job of the permit shape, which has no workers).
    pub worker: Option<usize>,
    /// How it ended.
    pub status: Status,
    /// When it started (or was found cancelled), measured from the pool's start.
    pub started: Duration,
    /// How long it ran (zero if it never started).
    pub took: Duration,
}
// ANCHOR_END: outcome

/// How the pool is set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// How many worker tasks take jobs from the queue.
    pub workers: usize,
    /// How many jobs wait in the queue before `submit` has to wait too.
    pub capacity: usize,
    /// New: how long one job may run before it is stopped and marked timed out.
    pub job_timeout: Option<Duration>,
    /// New: how long the whole run may take, from the pool's start; when it has passed, the
    /// pool cancels itself, as Go's `context.WithTimeout` does.
    pub deadline: Option<Duration>,
}

impl Config {
    /// `workers` worker tasks behind a queue of `capacity`, with no time limits.
    pub fn new(workers: usize, capacity: usize) -> Config {
        Config {
            workers,
            capacity,
            job_timeout: None,
            deadline: None,
        }
    }
}

/// Why the pool handed a job back instead of taking it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The pool was cancelled first.
    Cancelled,
    /// Every worker has died (each job panicked), so nobody would ever run it.
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
    /// use lesson_5::{Reason, Rejected};
    /// let refused = Rejected { job: 7, reason: Reason::Cancelled };
    /// assert_eq!(refused.to_string(), "job refused: the pool was cancelled");
    /// let err: &dyn std::error::Error = &refused;
    /// assert_eq!(err.to_string(), "job refused: the pool was cancelled");
    /// assert_eq!(refused.into_inner(), 7);
    /// ```
    pub fn into_inner(self) -> J {
        self.job
    }
}

impl<J> std::fmt::Display for Rejected<J> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.reason {
            Reason::Cancelled => "job refused: the pool was cancelled",
            Reason::NoWorkers => "job refused: every worker has died",
        })
    }
}

impl<J: std::fmt::Debug> std::error::Error for Rejected<J> {}

/// What shutdown found: an outcome for every job the pool accepted.
#[derive(Debug)]
pub struct Report<J> {
    /// One per job, in the order they ended.
    pub outcomes: Vec<Outcome<J>>,
    /// How many jobs the pool accepted.
    pub submitted: usize,
    /// Worker tasks (or, in the permit shape, job tasks) that ended in a panic; each lost the
    /// job it was running.
    pub panicked: usize,
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

    /// Jobs stopped because they ran out of time.
    pub fn timed_out(&self) -> usize {
        self.count(|s| *s == Status::TimedOut)
    }

    /// Jobs stopped, or never started, because the pool was cancelled.
    pub fn cancelled(&self) -> usize {
        self.count(|s| matches!(s, Status::Cancelled { .. }))
    }

    /// Accepted jobs with no outcome: only possible when a job panicked.
    pub fn lost(&self) -> usize {
        self.submitted - self.outcomes.len()
    }

    fn count(&self, f: impl Fn(&Status) -> bool) -> usize {
        self.outcomes.iter().filter(|o| f(&o.status)).count()
    }
}

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
    on_outcome: O,
    report: mpsc::UnboundedSender<Outcome<J>>,
    /// Only the workers hold this value, so it is dropped with the last of them, however that
    /// one ended, and the guard then cancels the pool's `workers_gone`.
    _alive: DropGuard,
}

impl<J: Clone + Send + 'static> Pool<J> {
    // ANCHOR: new
    /// Starts `config.workers` tasks that run `handler(job, token)` for each job, and
    /// call `on_outcome` as each job ends. `token` is cancelled when the job should stop: when
    /// the pool is cancelled, or when the job has timed out.
    ///
    /// # Panics
    ///
    /// If `workers` or `capacity` is 0, or if called outside a tokio runtime.
    pub fn new<F, Fut, O>(config: Config, handler: F, on_outcome: O) -> Pool<J>
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
            on_outcome,
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

    // ANCHOR: submit
    /// Queues a job, waiting while the queue is full, unless the pool is cancelled first: then
    /// the job is handed back.
    pub async fn submit(&self, job: J) -> Result<(), Rejected<J>> {
        let queue = self
            .queue
            .as_ref()
            .expect("the queue is open until shutdown, which takes the pool");
        // New: wait for room *before* handing the job over. `reserve` owns nothing, so when
        // cancellation wins and it is dropped, the job is still here to give back. A plain
        // `queue.send(job)` in this `select!` would take the job with it into the void.
        tokio::select! {
            // Checked first: once the pool is cancelled, not one more job gets in.
            biased;
            () = self.token.cancelled() => Err(Rejected {
                job,
                reason: Reason::Cancelled,
            }),
            // Every worker has died (each job panicked): the queue would never empty.
            () = self.workers_gone.cancelled() => Err(Rejected {
                job,
                reason: Reason::NoWorkers,
            }),
            slot = queue.reserve() => match slot {
                Ok(slot) => {
                    slot.send(job);
                    self.submitted.fetch_add(1, Ordering::Relaxed);
                    Ok(())
                }
                // Only if the receiver were gone, and the pool keeps it for as long as it
                // lives; the job is handed back all the same, never dropped.
                Err(_) => Err(Rejected {
                    job,
                    reason: Reason::Cancelled,
                }),
            },
        }
    }
    // ANCHOR_END: submit

    /// Cancels the pool: workers stop the jobs they are running at their next `.await`, idle
    /// workers wake up and leave, and `submit` hands jobs back.
    pub fn cancel(&self) {
        self.token.cancel();
    }

    /// A clone of the pool's token, for cancelling from elsewhere (a Ctrl-C listener) or for
    /// watching it.
    pub fn cancel_token(&self) -> CancellationToken {
        self.token.clone()
    }

    /// Waits until every worker task has ended, without closing the queue. Workers end only
    /// when the queue is closed and empty, or when the pool is cancelled: this is how to wait
    /// for a cancel to take effect while the pool is still open.
    pub async fn wait_for_workers(&mut self) {
        // `join_next` is cancel-safe: if this wait is dropped half-way (say, by a `timeout`),
        // no worker's result is lost, and the next wait picks up where this one stopped.
        while let Some(ended) = self.workers.join_next().await {
            if ended.is_err_and(|e| e.is_panic()) {
                self.panicked += 1;
            }
        }
    }

    // ANCHOR: shutdown
    /// Stops taking jobs, lets the workers finish every queued job (or, if the pool was
    /// cancelled, stop), and reports on every job the pool accepted.
    pub async fn shutdown(mut self) -> Report<J> {
        // Dropping the only sender closes the queue. Workers empty it, then their loops end.
        drop(self.queue.take());
        self.wait_for_workers().await;
        let mut outcomes: Vec<Outcome<J>> = Vec::new();
        // Every worker has ended, so every outcome they reported is already in the channel.
        while let Ok(outcome) = self.outcomes.try_recv() {
            outcomes.push(outcome);
        }
        // New: a cancelled run can leave jobs in the queue, which no worker will take. They
        // are reported here, as cancelled and never started: no accepted job is forgotten.
        // The workers are gone, so the lock is free.
        let mut queue = self.jobs.lock().await;
        while let Ok(job) = queue.try_recv() {
            outcomes.push(self.clock.never_started(job, None));
        }
        // New: the run is over, so its deadline's timer goes too (aborted, by dropping it).
        drop(self.deadline.take());
        Report {
            outcomes,
            submitted: self.submitted.load(Ordering::Relaxed),
            panicked: self.panicked,
        }
    }
    // ANCHOR_END: shutdown
}

// ANCHOR: worker
async fn worker<J, F, Fut, O>(id: usize, shared: Arc<Shared<J, F, O>>)
where
    J: Clone,
    F: Fn(J, CancellationToken) -> Fut,
    Fut: Future<Output = Result<(), String>>,
    O: Fn(&Outcome<J>),
{
    let token = &shared.runner.token;
    loop {
        // New: wait for the next job *or* for cancellation, whichever comes first, so an idle
        // worker leaves the moment the pool is cancelled, without a job to wake it. `biased`
        // polls the token first: once it is cancelled, no further job is taken.
        let job = tokio::select! {
            biased;
            () = token.cancelled() => break,
            next = next_job(&shared.jobs) => match next {
                Some(job) => job,
                // Closed and empty: the pool is shutting down and the queue is drained.
                None => break,
            },
        };
        let outcome = shared.runner.run(Some(id), job).await;
        (shared.on_outcome)(&outcome);
        // The pool keeps the receiver until every worker has been joined.
        let _ = shared.report.send(outcome);
    }
}

/// Takes the next job from the shared queue.
async fn next_job<J>(jobs: &Mutex<mpsc::Receiver<J>>) -> Option<J> {
    // New: only the worker holding the lock waits on the queue; the others wait for the
    // lock. The guard is a temporary of this expression, so it is released as soon as a job
    // arrives, before the job runs. An async mutex, because the guard is held across an
    // `.await`. Both waits are cancel-safe: a worker woken by cancellation loses no job.
    jobs.lock().await.recv().await
}
// ANCHOR_END: worker

/// How to run one job; shared by both shapes.
struct Runner<F> {
    /// The job itself.
    handler: F,
    /// The pool's token; each job gets a child of it.
    token: CancellationToken,
    /// How long one job may run.
    job_timeout: Option<Duration>,
    /// The pool's start.
    clock: Clock,
}

/// The pool's start, as tokio measures time, so that a test's paused clock is exact.
#[derive(Clone, Copy)]
struct Clock(Instant);

impl Clock {
    fn elapsed(self) -> Duration {
        self.0.elapsed()
    }

    /// The outcome of a job the cancel reached before it began.
    fn never_started<J>(self, job: J, worker: Option<usize>) -> Outcome<J> {
        Outcome {
            job,
            worker,
            status: Status::Cancelled { started: false },
            started: self.elapsed(),
            took: Duration::ZERO,
        }
    }
}

impl<F> Runner<F> {
    // ANCHOR: run_one
    async fn run<J, Fut>(&self, worker: Option<usize>, job: J) -> Outcome<J>
    where
        J: Clone,
        F: Fn(J, CancellationToken) -> Fut,
        Fut: Future<Output = Result<(), String>>,
    {
        // New: a job taken in the same instant as the cancel is handed back unstarted.
        if self.token.is_cancelled() {
            return self.clock.never_started(job, worker);
        }
        let started = self.clock.elapsed();
        // New: the job's own token, a child of the pool's: cancelled with the pool, and, by
        // the drop guard, whenever this function returns. So work the job handed to a
        // blocking thread hears that it should stop, even when the job timed out.
        let job_token = self.token.child_token();
        let _stop_leftovers = job_token.clone().drop_guard();
        // The handler gets a copy: if the job is stopped, its future is dropped with
        // everything it owns, and the report still needs the job.
        let work = (self.handler)(job.clone(), job_token);
        let limited = async {
            match self.job_timeout {
                // New: `timeout` drops the job's future if it is not done in time.
                Some(limit) => tokio::time::timeout(limit, work).await,
                None => Ok(work.await),
            }
        };
        let status = tokio::select! {
            // A job that has finished is reported as finished, even if the cancel came in the
            // same instant.
            biased;
            ended = limited => match ended {
                // A job that never awaits cannot be stopped, so `timeout` never gets a say:
                // its result arrives late, and is not counted as done.
                Ok(_) if self.job_timeout.is_some_and(|t| self.clock.elapsed() - started > t) => {
                    Status::TimedOut
                }
                Ok(Ok(())) => Status::Completed,
                Ok(Err(reason)) => Status::Failed(reason),
                Err(_elapsed) => Status::TimedOut,
            },
            // New: cooperative cancellation, async style: the job's future is dropped at the
            // `.await` it is waiting in.
            () = self.token.cancelled() => Status::Cancelled { started: true },
        };
        Outcome {
            job,
            worker,
            status,
            started,
            took: self.clock.elapsed() - started,
        }
    }
    // ANCHOR_END: run_one
}

// ANCHOR: permits
/// The other shape: no workers and no queue, but a task per job, at most `limit` of them
/// running because each holds a permit from a semaphore. Runs every job in `jobs` unless
/// `token` is cancelled, and reports on each.
///
/// # Panics
///
/// If `limit` is 0, or if called outside a tokio runtime.
pub async fn run_with_permits<J, I, F, Fut>(
    limit: usize,
    jobs: I,
    job_timeout: Option<Duration>,
    token: CancellationToken,
    handler: F,
) -> Report<J>
where
    J: Clone + Send + 'static,
    I: IntoIterator<Item = J>,
    F: Fn(J, CancellationToken) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    assert!(limit > 0, "at least one job must be allowed to run");
    let permits = Arc::new(Semaphore::new(limit));
    let runner = Arc::new(Runner {
        handler,
        token: token.clone(),
        job_timeout,
        clock: Clock(Instant::now()),
    });
    let mut running = JoinSet::new();
    let mut report = Report {
        outcomes: Vec::new(),
        submitted: 0,
        panicked: 0,
    };
    for job in jobs {
        report.submitted += 1;
        // Acquire *before* spawning: while `limit` jobs hold permits, this loop waits here,
        // so the set never holds more than `limit` tasks, however many jobs are still to come.
        let permit = tokio::select! {
            biased;
            () = token.cancelled() => {
                report.outcomes.push(runner.clock.never_started(job, None));
                continue;
            }
            permit = Arc::clone(&permits).acquire_owned() => {
                permit.expect("the semaphore is never closed")
            }
        };
        let runner = Arc::clone(&runner);
        running.spawn(async move {
            let outcome = runner.run(None, job).await;
            // The permit goes back only now, when the job has ended: the next one may start.
            drop(permit);
            outcome
        });
        // A `JoinSet` keeps each finished task's output until it is joined: collect them as
        // we go, so they do not pile up.
        while let Some(ended) = running.try_join_next() {
            collect(&mut report, ended);
        }
    }
    while let Some(ended) = running.join_next().await {
        collect(&mut report, ended);
    }
    report
}
// ANCHOR_END: permits

fn collect<J>(report: &mut Report<J>, ended: Result<Outcome<J>, JoinError>) {
    match ended {
        Ok(outcome) => report.outcomes.push(outcome),
        Err(e) if e.is_panic() => report.panicked += 1,
        // Only an aborted task ends otherwise, and nothing here aborts one.
        Err(_) => {}
    }
}

// ANCHOR: blocking
/// CPU-heavy work done without stalling the runtime: the busy loop runs on tokio's blocking
/// threads, and the job's task only awaits it.
///
/// Dropping the awaited handle would not stop the loop (a dropped `JoinHandle` detaches the
/// work, it does not cancel it), and nothing can stop a thread from the outside, so the loop
/// checks `token` between steps. The pool cancels a job's token when the job ends for any
/// reason, so the loop of a job that timed out stops as well.
pub async fn crunch(work: Duration, token: CancellationToken) -> Result<(), String> {
    tokio::task::spawn_blocking(move || busy_loop(work, &token))
        .await
        .map_err(|e| format!("the blocking work panicked: {e}"))?
        .map(|_steps| ())
}

/// Keeps one CPU busy for `work`, in steps of about a millisecond, and gives up early once
/// `token` is cancelled. Returns how many steps it did.
pub fn busy_loop(work: Duration, token: &CancellationToken) -> Result<u64, String> {
    let start = std::time::Instant::now();
    let mut steps = 0;
    while start.elapsed() < work {
        // Cooperative cancellation by hand: this code never awaits, so nothing else can stop it.
        if token.is_cancelled() {
            return Err(format!("cancelled after {steps} steps"));
        }
        let step = std::time::Instant::now();
        while step.elapsed() < Duration::from_millis(1) {
            std::hint::spin_loop();
        }
        steps += 1;
    }
    Ok(steps)
}
// ANCHOR_END: blocking
