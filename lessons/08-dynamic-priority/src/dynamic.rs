//! A pool whose size follows the load: it starts a worker when a job finds none free, up to
//! `max`; a worker that has had nothing to do for the idle timeout retires, down to `min`; and
//! [`DynamicPool::resize`] moves both limits while the pool runs.
//!
//! The queue is a `VecDeque` behind a `Mutex`, with a `Condvar` for idle workers to wait on.
//! A channel would carry the jobs just as well, but the decision to grow needs to know how many
//! jobs are waiting and how many workers are free *at the same instant*, and one lock over all
//! of that is the simplest way to know it.
//!
//! This file holds the state under that lock and the pool's start. The limits are in
//! `dynamic/limits.rs`, what an observer hears in `dynamic/event.rs`, the way in (growing, and
//! resizing) in `dynamic/submit.rs`, a worker's life (started, its loop, retired) in
//! `dynamic/worker.rs`, and the way out in `dynamic/shutdown.rs`.

mod event;
mod limits;
mod shutdown;
mod submit;
mod worker;

pub use event::{Event, Why};
pub use limits::Limits;
pub use shutdown::Report;

use crate::ConfigError;
use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

type Handler<J> = dyn Fn(&J) + Send + Sync;
type Observer = dyn Fn(&Event) + Send + Sync;

// ANCHOR: state
/// Everything the decisions to grow and to retire look at, under one lock.
struct State<J> {
    /// Accepted jobs no worker has taken yet, oldest first.
    queue: VecDeque<(u64, J)>,
    /// The limits now in force; `resize` changes them.
    limits: Limits,
    /// Workers started and not yet retired, whether busy or waiting.
    alive: usize,
    /// Workers running a job right now: `alive - busy` are free.
    busy: usize,
    /// Set by shutdown: refuse new jobs, and let workers leave once the queue is empty.
    closed: bool,
    /// Every thread started and not yet joined, so shutdown can join them all.
    handles: Vec<JoinHandle<()>>,
    /// The last worker's number: workers are numbered from 1 and numbers are never reused.
    next_worker: usize,
    /// The last job's id, so ids follow the order jobs were accepted.
    next_job: u64,
    /// The counts the report is made of.
    report: Report,
}
// ANCHOR_END: state

struct Shared<J> {
    /// Runs each job.
    handler: Box<Handler<J>>,
    /// Told about every start, retirement and finished job, if the caller asked.
    observer: Option<Box<Observer>>,
    /// The queue and the counts, under one lock so each decision sees them together.
    state: Mutex<State<J>>,
    /// Waiting workers sleep here; notified when a job arrives, the limits change, or the pool
    /// closes.
    work: Condvar,
    /// Notified whenever `alive` changes, for [`DynamicPool::wait_alive`].
    alive_changed: Condvar,
    /// Time zero for the run picture.
    start: Instant,
}

/// A pool that grows under a backlog and shrinks when idle. Dropping it shuts it down.
pub struct DynamicPool<J: Send + 'static> {
    /// The queue, the limits and the counts, shared with the workers.
    shared: Arc<Shared<J>>,
    /// Whether shutdown has run, so `Drop` does not run it twice.
    stopped: bool,
}

impl<J: Send + 'static> DynamicPool<J> {
    /// Checks `limits`, starts `min` workers, and runs `handler` for every job.
    pub fn new(
        limits: Limits,
        handler: impl Fn(&J) + Send + Sync + 'static,
    ) -> Result<DynamicPool<J>, ConfigError> {
        Self::start(limits, None, Box::new(handler))
    }

    /// Like [`DynamicPool::new`], and `observer` is told about every [`Event`]. Starts and
    /// retirements are reported while the pool's lock is held, so they arrive in the order they
    /// happened; the observer must therefore not call back into the pool.
    pub fn observed(
        limits: Limits,
        observer: impl Fn(&Event) + Send + Sync + 'static,
        handler: impl Fn(&J) + Send + Sync + 'static,
    ) -> Result<DynamicPool<J>, ConfigError> {
        Self::start(limits, Some(Box::new(observer)), Box::new(handler))
    }

    fn start(
        limits: Limits,
        observer: Option<Box<Observer>>,
        handler: Box<Handler<J>>,
    ) -> Result<DynamicPool<J>, ConfigError> {
        limits.check()?;
        let shared = Arc::new(Shared {
            handler,
            observer,
            state: Mutex::new(State {
                queue: VecDeque::new(),
                limits,
                alive: 0,
                busy: 0,
                closed: false,
                handles: Vec::new(),
                next_worker: 0,
                next_job: 0,
                report: Report {
                    started: 0,
                    retired_idle: 0,
                    retired_surplus: 0,
                    joined: 0,
                    ran: 0,
                    panicked: 0,
                },
            }),
            work: Condvar::new(),
            alive_changed: Condvar::new(),
            start: Instant::now(),
        });
        {
            let mut state = shared.lock();
            while state.alive < limits.min {
                Shared::spawn(&shared, &mut state, Why::Floor);
            }
        }
        Ok(DynamicPool {
            shared,
            stopped: false,
        })
    }

    /// Workers alive now.
    pub fn alive(&self) -> usize {
        self.shared.lock().alive
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.shared.lock().limits
    }

    /// Waits until exactly `n` workers are alive, for at most `limit`. Returns whether they are.
    pub fn wait_alive(&self, n: usize, limit: Duration) -> bool {
        let state = self.shared.lock();
        let (state, _) = self
            .shared
            .alive_changed
            .wait_timeout_while(state, limit, |s| s.alive != n)
            .expect("the pool's lock is never poisoned: jobs run outside it");
        state.alive == n
    }
}

impl<J: Send + 'static> Shared<J> {
    fn lock(&self) -> MutexGuard<'_, State<J>> {
        self.state
            .lock()
            .expect("the pool's lock is never poisoned: jobs run outside it")
    }

    fn emit(&self, event: Event) {
        if let Some(observer) = &self.observer {
            observer(&event);
        }
    }
}
