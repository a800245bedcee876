//! # Lesson 7: the advanced pool
//!
//! The pool the Go article promised, built so that it keeps its promises: a validated
//! [`Builder`], a bounded queue with [`Pool::submit`], [`Pool::try_submit`] and
//! [`Pool::submit_timeout`] that hand a refused job back with the reason, a real rate limiter
//! ([`rate`]), a circuit breaker with a correct state machine ([`breaker`]), panics caught so the
//! pool keeps its size, [`metrics`] that add up, and a shutdown that drains or aborts, with an
//! optional deadline. New since lessons 3 and 4: all of that, on an injectable [`clock`].
//! Run it with `cargo run -p lesson-7` (add `-- --json` for the final metrics as JSON).
//!
//! ```
//! use lesson_7::{Pool, Stop};
//!
//! let pool = Pool::builder().workers(2).queue(8).build(|n: &u64, _ctx| {
//!     if n % 3 == 0 { Err(format!("{n} is a multiple of 3")) } else { Ok(()) }
//! })?;
//! for n in 1..=9 {
//!     pool.submit(n).expect("nothing refuses jobs here");
//! }
//! let report = pool.shutdown(Stop::Drain, None);
//! assert_eq!((report.metrics.completed, report.metrics.failed), (6, 3));
//! # Ok::<(), lesson_7::ConfigError>(())
//! ```

pub mod breaker;
pub mod clock;
pub mod metrics;
pub mod rate;
mod sync;

pub use breaker::{BreakerConfig, State as BreakerState, Transition};
pub use clock::{Clock, ManualClock, SystemClock};
pub use metrics::{Reason, Snapshot};

use breaker::{Breaker, Pass};
use metrics::Metrics;
use rate::RateLimiter;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use sync::{AtomicBool, AtomicU64, Condvar, Instant, JoinHandle, Mutex, thread};

#[cfg(not(loom))]
use crossbeam_channel::{Receiver, RecvTimeoutError, SendTimeoutError, Sender, TrySendError};
// Model tests (`--cfg loom`) need queues loom can see into: there, the name `crossbeam_channel`
// stands for the loom-built channel in `sync`, which has the same API, so the code below reads
// the same in both builds.
#[cfg(loom)]
use sync::channel::{
    self as crossbeam_channel, Receiver, RecvTimeoutError, SendTimeoutError, Sender, TrySendError,
};

/// The most workers a pool will start.
pub const MAX_WORKERS: usize = 1024;

/// The slowest rate the builder accepts: one job every 1000 s.
pub const MIN_RATE: f64 = 0.001;

/// The fastest rate the builder accepts: one job per nanosecond.
pub const MAX_RATE: f64 = 1e9;

// ANCHOR: config_error
/// A configuration the builder refuses, with a message a person can act on.
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigError {
    /// `workers(0)`.
    NoWorkers,
    /// More than [`MAX_WORKERS`].
    TooManyWorkers(usize),
    /// `queue(0)`.
    NoQueue,
    /// A rate that is not between [`MIN_RATE`] and [`MAX_RATE`] jobs per second.
    BadRate(f64),
    /// A burst of 0.
    NoBurst,
    /// A breaker that would open after 0 failures.
    NoBreakerThreshold,
    /// A breaker with no probes could never close again.
    NoProbes,
    /// A breaker with no cool-down would never really open.
    NoCooldown,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::NoWorkers => write!(f, "a pool needs at least 1 worker"),
            ConfigError::TooManyWorkers(n) => {
                write!(f, "{n} workers is more than the limit of {MAX_WORKERS}")
            }
            ConfigError::NoQueue => write!(f, "the queue needs room for at least 1 job"),
            ConfigError::BadRate(r) => write!(
                f,
                "a rate must be between {MIN_RATE} and {MAX_RATE} jobs per second, not {r}"
            ),
            ConfigError::NoBurst => write!(f, "a burst must allow at least 1 job"),
            ConfigError::NoBreakerThreshold => {
                write!(
                    f,
                    "the breaker must allow at least 1 failure before opening"
                )
            }
            ConfigError::NoProbes => write!(f, "a half-open breaker needs at least 1 probe"),
            ConfigError::NoCooldown => write!(f, "the breaker's cool-down must be longer than 0"),
        }
    }
}

impl std::error::Error for ConfigError {}
// ANCHOR_END: config_error

/// What a job is told while it runs.
#[derive(Debug)]
pub struct Ctx<'a> {
    /// The worker running it.
    pub worker: usize,
    aborting: &'a AtomicBool,
}

impl Ctx<'_> {
    /// Whether the pool is aborting: a long job should check this and stop early.
    pub fn is_cancelled(&self) -> bool {
        self.aborting.load(Ordering::Acquire)
    }
}

/// How a job that ran ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// It returned `Ok`.
    Completed,
    /// It returned this error.
    Failed(String),
    /// It panicked with this message; the worker caught it and carried on.
    Panicked(String),
}

/// Something that happened, for whoever watches the pool (see [`Builder::observe`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A job ran.
    Finished {
        /// The pool's id for the job (the order it was accepted, from 1).
        id: u64,
        /// The worker that ran it.
        worker: usize,
        /// How it ended.
        status: Status,
        /// When it started, from the pool's start.
        started: Duration,
        /// How long it ran.
        took: Duration,
    },
    /// An accepted job was handed back unstarted because the pool aborted.
    Cancelled {
        /// The pool's id for the job.
        id: u64,
    },
    /// The circuit breaker changed state.
    Breaker(Transition),
}

/// A job the pool refused, handed back untouched, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected<J> {
    /// The job.
    pub job: J,
    /// Why.
    pub reason: Reason,
    /// For a rate refusal: when a token will be free.
    pub retry_after: Option<Duration>,
}

/// How to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Finish every queued job first.
    Drain,
    /// Hand queued jobs back unstarted; running jobs see `Ctx::is_cancelled` and finish.
    Abort,
}

/// What shutdown found.
#[derive(Debug)]
pub struct Report<J> {
    /// The final metrics: by now `submitted == completed + failed + panicked + cancelled`.
    pub metrics: Snapshot,
    /// The cancelled jobs themselves, handed back.
    pub returned: Vec<J>,
    /// Whether a drain ran past its deadline and was turned into an abort.
    pub deadline_passed: bool,
}

type Handler<J> = dyn Fn(&J, &Ctx) -> Result<(), String> + Send + Sync;
type Observer = dyn Fn(&Event) + Send + Sync;

// ANCHOR: builder
/// Sets up a [`Pool`]; nothing is checked until [`Builder::build`], which checks everything.
#[derive(Clone)]
pub struct Builder {
    workers: usize,
    queue: usize,
    rate: Option<(f64, u32)>,
    breaker: Option<BreakerConfig>,
    clock: Arc<dyn Clock>,
    observer: Option<Arc<Observer>>,
}

impl Builder {
    /// Worker threads (default 4).
    pub fn workers(mut self, n: usize) -> Self {
        self.workers = n;
        self
    }

    /// Jobs the queue holds before submitters wait or are refused (default 64).
    pub fn queue(mut self, n: usize) -> Self {
        self.queue = n;
        self
    }

    /// At most `per_second` jobs per second on average, in bursts of up to `burst`.
    pub fn rate(mut self, per_second: f64, burst: u32) -> Self {
        self.rate = Some((per_second, burst));
        self
    }

    /// A circuit breaker in front of the queue.
    pub fn breaker(mut self, config: BreakerConfig) -> Self {
        self.breaker = Some(config);
        self
    }

    /// The clock for the rate limiter and the breaker (default: the real one).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Called for every [`Event`], on whichever thread it happens.
    pub fn observe(mut self, f: impl Fn(&Event) + Send + Sync + 'static) -> Self {
        self.observer = Some(Arc::new(f));
        self
    }

    /// Checks the configuration and starts the workers.
    pub fn build<J, F>(self, handler: F) -> Result<Pool<J>, ConfigError>
    where
        J: Send + 'static,
        F: Fn(&J, &Ctx) -> Result<(), String> + Send + Sync + 'static,
    {
        match self.workers {
            0 => return Err(ConfigError::NoWorkers),
            n if n > MAX_WORKERS => return Err(ConfigError::TooManyWorkers(n)),
            _ => {}
        }
        if self.queue == 0 {
            return Err(ConfigError::NoQueue);
        }
        if let Some((per_second, burst)) = self.rate {
            if !(MIN_RATE..=MAX_RATE).contains(&per_second) {
                return Err(ConfigError::BadRate(per_second));
            }
            if burst == 0 {
                return Err(ConfigError::NoBurst);
            }
        }
        if let Some(b) = self.breaker {
            if b.failures == 0 {
                return Err(ConfigError::NoBreakerThreshold);
            }
            if b.probes == 0 {
                return Err(ConfigError::NoProbes);
            }
            if b.cooldown.is_zero() {
                return Err(ConfigError::NoCooldown);
            }
        }
        Ok(Pool::start(self, Box::new(handler)))
    }
}
// ANCHOR_END: builder

/// A job in the queue, with what the pool needs to account for it.
struct Envelope<J> {
    id: u64,
    job: J,
    /// For latency: from acceptance to finish.
    accepted: Instant,
    /// How it got past the breaker, so its result is credited correctly.
    pass: Option<Pass>,
}

/// What the workers and the submitters share.
struct Shared<J> {
    handler: Box<Handler<J>>,
    metrics: Metrics,
    limiter: Option<RateLimiter>,
    breaker: Option<Breaker>,
    clock: Arc<dyn Clock>,
    observer: Option<Arc<Observer>>,
    /// Set by `close`: submissions from then on are refused with `Closed`.
    closed: AtomicBool,
    /// Set by an abort: workers hand queued jobs back instead of running them.
    aborting: AtomicBool,
    /// Ids for accepted jobs.
    next_id: AtomicU64,
    /// Notified when the last in-flight job finishes, for `wait_idle`.
    idle: (Mutex<()>, Condvar),
    /// Time zero for the run picture.
    start: Instant,
}

impl<J> Shared<J> {
    fn emit(&self, event: Event) {
        if let Some(observer) = &self.observer {
            observer(&event);
        }
    }

    fn release(&self, pass: Option<Pass>) {
        if let (Some(breaker), Some(pass)) = (&self.breaker, pass) {
            breaker.release(pass);
        }
    }

    /// One accepted job has ended, whichever way: wake `wait_idle` if it was the last.
    fn done_with_one(&self) {
        if self.metrics.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            // Taking the lock orders this notify after a waiter's check of `in_flight`.
            let _guard = self.idle.0.lock().expect("never poisoned");
            self.idle.1.notify_all();
        }
    }
}

// ANCHOR: pool
/// A pool of worker threads with every production feature switched on that the builder asked
/// for.
pub struct Pool<J: Send + 'static> {
    /// Dropping this sender closes the queue: workers finish (or hand back) what is in it.
    queue: Option<Sender<Envelope<J>>>,
    /// Joined at shutdown.
    workers: Vec<JoinHandle<()>>,
    /// Counters, limiter, breaker, clock and flags, shared with the workers.
    shared: Arc<Shared<J>>,
    /// Every worker holds a sender of this channel; it disconnects when the last worker has
    /// exited. A `JoinHandle` cannot be waited on with a deadline; this can.
    exited: Receiver<()>,
    /// Jobs the workers handed back unstarted after an abort.
    returned: Receiver<J>,
}
// ANCHOR_END: pool

#[derive(Clone, Copy)]
enum Wait {
    No,
    Until(Instant),
    Forever,
}

impl Pool<()> {
    /// A builder with 4 workers, a queue of 64, no rate limit, no breaker, the real clock.
    pub fn builder() -> Builder {
        Builder {
            workers: 4,
            queue: 64,
            rate: None,
            breaker: None,
            clock: Arc::new(SystemClock::default()),
            observer: None,
        }
    }
}

impl<J: Send + 'static> Pool<J> {
    fn start(config: Builder, handler: Box<Handler<J>>) -> Pool<J> {
        let (queue, jobs) = crossbeam_channel::bounded(config.queue);
        let (alive, exited) = crossbeam_channel::bounded(0);
        let (hand_back, returned) = crossbeam_channel::unbounded();
        let shared = Arc::new(Shared {
            handler,
            metrics: Metrics::default(),
            limiter: config.rate.map(|(r, b)| RateLimiter::new(r, b)),
            breaker: config.breaker.map(Breaker::new),
            clock: config.clock,
            observer: config.observer,
            closed: AtomicBool::new(false),
            aborting: AtomicBool::new(false),
            next_id: AtomicU64::new(0),
            idle: (Mutex::new(()), Condvar::new()),
            start: Instant::now(),
        });
        let workers = (1..=config.workers)
            .map(|id| {
                let (jobs, shared) = (jobs.clone(), Arc::clone(&shared));
                let (alive, hand_back) = (alive.clone(), hand_back.clone());
                thread::Builder::new()
                    .name(format!("pool-worker-{id}"))
                    .spawn(move || worker(id, jobs, &shared, &hand_back, alive))
                    .expect("the OS can start a thread")
            })
            .collect();
        Pool {
            queue: Some(queue),
            workers,
            shared,
            exited,
            returned,
        }
    }

    /// Queues a job, waiting for a rate token and for room in the queue as long as it takes.
    /// Refused at once only by the breaker or a closed pool.
    pub fn submit(&self, job: J) -> Result<u64, Rejected<J>> {
        self.enter(job, Wait::Forever)
    }

    /// Queues a job only if it can be done now: otherwise it comes back with `Full`, `Rate`,
    /// `Breaker` or `Closed`.
    pub fn try_submit(&self, job: J) -> Result<u64, Rejected<J>> {
        self.enter(job, Wait::No)
    }

    /// Queues a job, waiting at most `timeout` for room in the queue (and for a rate token, if
    /// one will be free within that time).
    pub fn submit_timeout(&self, job: J, timeout: Duration) -> Result<u64, Rejected<J>> {
        self.enter(job, Wait::Until(Instant::now() + timeout))
    }

    // ANCHOR: enter
    fn enter(&self, job: J, wait: Wait) -> Result<u64, Rejected<J>> {
        let s = &*self.shared;
        if s.closed.load(Ordering::Acquire) {
            return Err(self.refuse(job, Reason::Closed, None));
        }
        // The breaker goes first, so a job it refuses does not use up a rate token.
        let pass = match &s.breaker {
            None => None,
            Some(breaker) => {
                let (verdict, change) = breaker.admit(s.clock.now());
                if let Some(change) = change {
                    s.emit(Event::Breaker(change));
                }
                match verdict {
                    Ok(pass) => Some(pass),
                    Err(()) => return Err(self.refuse(job, Reason::Breaker, None)),
                }
            }
        };
        if let Some(limiter) = &s.limiter {
            while let Err(free_in) = limiter.try_acquire(s.clock.now()) {
                let fits = match wait {
                    Wait::No => false,
                    Wait::Until(deadline) => Instant::now() + free_in <= deadline,
                    Wait::Forever => true,
                };
                if !fits {
                    s.release(pass);
                    return Err(self.refuse(job, Reason::Rate, Some(free_in)));
                }
                s.clock.sleep(free_in);
            }
        }
        let id = s.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let envelope = Envelope {
            id,
            job,
            accepted: Instant::now(),
            pass,
        };
        // Counted before the send: a fast worker could otherwise finish the job first, and a
        // reader would see more jobs finished than submitted. `submitted` goes first, so the
        // release of `in_flight` publishes it to whoever sees the pool idle. Both are taken back
        // if the send fails.
        Metrics::add(&s.metrics.submitted);
        s.metrics.in_flight.fetch_add(1, Ordering::AcqRel);
        let queue = self
            .queue
            .as_ref()
            .expect("open until shutdown, which takes the pool");
        let sent = match wait {
            Wait::No => queue.try_send(envelope).map_err(|e| match e {
                TrySendError::Full(env) => (env, Reason::Full),
                TrySendError::Disconnected(env) => (env, Reason::Closed),
            }),
            Wait::Until(deadline) => queue
                .send_deadline(envelope, deadline)
                .map_err(|e| match e {
                    SendTimeoutError::Timeout(env) => (env, Reason::Timeout),
                    SendTimeoutError::Disconnected(env) => (env, Reason::Closed),
                }),
            Wait::Forever => queue
                .send(envelope)
                .map_err(|e| (e.into_inner(), Reason::Closed)),
        };
        match sent {
            Ok(()) => Ok(id),
            Err((envelope, reason)) => {
                s.metrics.submitted.fetch_sub(1, Ordering::Relaxed);
                s.done_with_one();
                s.release(envelope.pass);
                Err(self.refuse(envelope.job, reason, None))
            }
        }
    }

    fn refuse(&self, job: J, reason: Reason, retry_after: Option<Duration>) -> Rejected<J> {
        self.shared.metrics.reject(reason);
        Rejected {
            job,
            reason,
            retry_after,
        }
    }
    // ANCHOR_END: enter

    /// Refuses every submission from now on (with `Closed`); jobs already queued still run.
    pub fn close(&self) {
        self.shared.closed.store(true, Ordering::Release);
    }

    /// The metrics right now.
    pub fn metrics(&self) -> Snapshot {
        let depth = self.queue.as_ref().map_or(0, Sender::len);
        self.shared.metrics.snapshot(depth)
    }

    /// The breaker's state, if the pool has one.
    pub fn breaker_state(&self) -> Option<BreakerState> {
        self.shared.breaker.as_ref().map(Breaker::state)
    }

    /// Waits until every accepted job has ended, for at most `limit`. Returns whether it did.
    pub fn wait_idle(&self, limit: Duration) -> bool {
        let (lock, idle) = &self.shared.idle;
        let guard = lock.lock().expect("never poisoned");
        let in_flight = || self.shared.metrics.in_flight.load(Ordering::Acquire);
        let (_guard, _) = idle
            .wait_timeout_while(guard, limit, |_| in_flight() != 0)
            .expect("never poisoned");
        in_flight() == 0
    }

    // ANCHOR: shutdown
    /// Stops the pool. `Drain` finishes every queued job; `Abort` hands queued jobs back. With a
    /// deadline, a drain that runs past it turns into an abort.
    pub fn shutdown(mut self, stop: Stop, deadline: Option<Duration>) -> Report<J> {
        let deadline_passed = self.stop(stop, deadline);
        Report {
            metrics: self.shared.metrics.snapshot(0),
            returned: self.returned.try_iter().collect(),
            deadline_passed,
        }
    }

    fn stop(&mut self, stop: Stop, deadline: Option<Duration>) -> bool {
        self.close();
        if stop == Stop::Abort {
            self.shared.aborting.store(true, Ordering::Release);
        }
        // Closing the queue: workers empty it (running or handing back), then leave.
        drop(self.queue.take());
        let mut deadline_passed = false;
        if let Some(limit) = deadline {
            // Err(Disconnected) means every worker has exited: the drain made it in time.
            if let Err(RecvTimeoutError::Timeout) = self.exited.recv_timeout(limit) {
                deadline_passed = true;
                self.shared.aborting.store(true, Ordering::Release);
            }
        }
        for handle in self.workers.drain(..) {
            // Jobs' panics are caught inside the worker, so a worker never panics itself.
            handle.join().expect("a worker thread does not panic");
        }
        deadline_passed
    }
    // ANCHOR_END: shutdown
}

impl<J: Send + 'static> Drop for Pool<J> {
    /// Dropping the pool drains it, as in lesson 3.
    fn drop(&mut self) {
        if self.queue.is_some() {
            self.stop(Stop::Drain, None);
        }
    }
}

// ANCHOR: worker
fn worker<J>(
    id: usize,
    jobs: Receiver<Envelope<J>>,
    shared: &Shared<J>,
    hand_back: &Sender<J>,
    _alive: Sender<()>,
) {
    let ctx = Ctx {
        worker: id,
        aborting: &shared.aborting,
    };
    let metrics = &shared.metrics;
    for envelope in jobs {
        if shared.aborting.load(Ordering::Acquire) {
            Metrics::add(&metrics.cancelled);
            shared.release(envelope.pass);
            shared.emit(Event::Cancelled { id: envelope.id });
            // The pool holds the receiver until after the workers are joined.
            let _ = hand_back.send(envelope.job);
            shared.done_with_one();
            continue;
        }
        metrics.busy.fetch_add(1, Ordering::Relaxed);
        let began = Instant::now();
        // New: a panicking job is caught here, so the worker lives on and the pool keeps its
        // size. `AssertUnwindSafe`: after a panic we only read the job's result, never state the
        // job may have left half-changed.
        let result = catch_unwind(AssertUnwindSafe(|| (shared.handler)(&envelope.job, &ctx)));
        let ended = Instant::now();
        let (started, took) = (began - shared.start, ended - began);
        metrics.busy.fetch_sub(1, Ordering::Relaxed);
        let status = match result {
            Ok(Ok(())) => Status::Completed,
            Ok(Err(reason)) => Status::Failed(reason),
            Err(payload) => Status::Panicked(panic_message(payload.as_ref())),
        };
        Metrics::add(match status {
            Status::Completed => &metrics.completed,
            Status::Failed(_) => &metrics.failed,
            Status::Panicked(_) => &metrics.panicked,
        });
        metrics.latency.record(ended - envelope.accepted);
        // New: every result feeds the breaker, not only submission timeouts.
        if let (Some(breaker), Some(pass)) = (&shared.breaker, envelope.pass) {
            let ok = status == Status::Completed;
            if let Some(change) = breaker.record(pass, ok, shared.clock.now()) {
                shared.emit(Event::Breaker(change));
            }
        }
        shared.emit(Event::Finished {
            id: envelope.id,
            worker: id,
            status,
            started,
            took,
        });
        // Last, so that once `wait_idle` returns, every count and event above is in.
        shared.done_with_one();
    }
}
// ANCHOR_END: worker

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic with no message".to_string()
    }
}
