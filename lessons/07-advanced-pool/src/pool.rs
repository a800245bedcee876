//! The pool: its queue, its workers, and the state they share with the submitters. The way in
//! is in `pool/submit.rs`, the workers' loop in `pool/worker.rs`, the way out in
//! `pool/shutdown.rs`.

mod shutdown;
mod submit;
mod tally;
mod worker;

pub use shutdown::{Report, Stop};

use worker::worker;

use crate::breaker::{Breaker, Pass};
use crate::event::{Event, Observer};
use crate::job::Handler;
use crate::metrics::Metrics;
use crate::rate::RateLimiter;
use crate::sync::channel::{self, Receiver, Sender};
use crate::sync::{AtomicBool, AtomicU64, Condvar, Instant, JoinHandle, Mutex, thread};
use crate::{BreakerState, Builder, Clock, Snapshot};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

// ANCHOR: pool
/// A pool of worker threads with every production feature switched on that the builder asked
/// for.
pub struct Pool<J: Send + 'static> {
    /// Dropping this sender closes the queue: workers finish (or hand back) what is in it.
    queue: Option<Sender<Parcel<J>>>,
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

// ANCHOR: parcel
/// What travels through the queue: one job from `submit`, or up to [`BATCH`] jobs from
/// [`Pool::submit_all`], which take one place in the queue and one hand-off between them.
enum Parcel<J> {
    One(Envelope<J>),
    Batch(Batch<J>),
}

/// Jobs from one `submit_all`, numbered from `first_id` and accepted together. What one job
/// needs of its own is only the job and its breaker pass: the fewer bytes per job, the fewer
/// cache lines travel from the submitter's core to the worker's.
struct Batch<J> {
    first_id: u64,
    accepted: Instant,
    jobs: Vec<(J, Option<Pass>)>,
}
// ANCHOR_END: parcel

/// The most jobs one parcel from [`Pool::submit_all`] carries.
pub const BATCH: usize = 256;

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

    /// `n` accepted jobs have ended, whichever way: wake `wait_idle` if they were the last.
    fn done_with(&self, n: usize) {
        if self.metrics.in_flight.fetch_sub(n as i64, Ordering::AcqRel) == n as i64 {
            // Taking the lock orders this notify after a waiter's check of `in_flight`.
            let _guard = self.idle.0.lock().expect("never poisoned");
            self.idle.1.notify_all();
        }
    }
}

impl<J: Send + 'static> Pool<J> {
    pub(crate) fn start(config: Builder, handler: Box<Handler<J>>) -> Pool<J> {
        let (queue, jobs) = channel::bounded(config.queue);
        let (alive, exited) = channel::bounded(0);
        let (hand_back, returned) = channel::unbounded();
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
}
