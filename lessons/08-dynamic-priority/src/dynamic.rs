//! A pool whose size follows the load: it starts a worker when a job finds none free, up to
//! `max`; a worker that has had nothing to do for the idle timeout retires, down to `min`; and
//! [`DynamicPool::resize`] moves both limits while the pool runs.
//!
//! The queue is a `VecDeque` behind a `Mutex`, with a `Condvar` for idle workers to wait on.
//! A channel would carry the jobs just as well, but the decision to grow needs to know how many
//! jobs are waiting and how many workers are free *at the same instant*, and one lock over all
//! of that is the simplest way to know it.

use crate::ConfigError;
use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

// ANCHOR: limits
/// How many workers the pool may have, and how long a worker waits for work before retiring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Workers kept alive even when there is nothing to do (0 is allowed: a pool that sleeps).
    pub min: usize,
    /// Workers the pool never goes above, however long the queue.
    pub max: usize,
    /// How long a worker above `min` waits for a job before it retires.
    pub idle: Duration,
}

impl Limits {
    /// Checks the limits: `1 <= max <= MAX_WORKERS`, `min <= max`, and an idle timeout above 0.
    pub fn check(&self) -> Result<(), ConfigError> {
        match self.max {
            0 => return Err(ConfigError::NoWorkers),
            n if n > crate::MAX_WORKERS => return Err(ConfigError::TooManyWorkers(n)),
            _ => {}
        }
        if self.min > self.max {
            return Err(ConfigError::MinAboveMax {
                min: self.min,
                max: self.max,
            });
        }
        if self.idle.is_zero() {
            return Err(ConfigError::NoIdleTimeout);
        }
        Ok(())
    }
}
// ANCHOR_END: limits

/// Why a worker was started or retired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// Started to bring the pool up to `min`.
    Floor,
    /// Started because a job found no free worker.
    Backlog,
    /// Retired after waiting the idle timeout with nothing to do.
    Idle,
    /// Retired, between jobs, because a resize lowered `max` below the workers alive.
    Surplus,
    /// Retired because the pool shut down and the queue was empty.
    Shutdown,
}

/// Something that happened, for whoever watches the pool (see [`DynamicPool::observed`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A worker thread was started; `alive` counts it.
    Started {
        /// The worker's number: from 1, never reused, so each is one thread.
        worker: usize,
        /// Workers alive after this change.
        alive: usize,
        /// Why.
        why: Why,
    },
    /// A worker left its loop; its thread is about to end.
    Retired {
        /// The worker's number.
        worker: usize,
        /// Workers alive after this change.
        alive: usize,
        /// Why.
        why: Why,
    },
    /// A job ran.
    Finished {
        /// The pool's id for the job (the order it was accepted, from 1).
        job: u64,
        /// The worker that ran it.
        worker: usize,
        /// When it started, from the pool's start.
        started: Duration,
        /// How long it ran.
        took: Duration,
        /// Whether it panicked (the worker caught it and carried on).
        panicked: bool,
    },
}

/// What shutdown found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Worker threads started over the pool's life.
    pub started: usize,
    /// Workers that retired after an idle spell.
    pub retired_idle: usize,
    /// Workers that retired because a resize made them surplus.
    pub retired_surplus: usize,
    /// Worker threads joined: by shutdown's end, every one that was started.
    pub joined: usize,
    /// Jobs that ran.
    pub ran: u64,
    /// Of those, jobs that panicked.
    pub panicked: u64,
}

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

    // ANCHOR: submit
    /// Queues a job and returns its id. If the job finds no free worker and the pool is below
    /// `max`, a worker is started for it. After shutdown has begun the job is handed back.
    pub fn submit(&self, job: J) -> Result<u64, J> {
        let mut state = self.shared.lock();
        if state.closed {
            return Err(job);
        }
        state.next_job += 1;
        let id = state.next_job;
        state.queue.push_back((id, job));
        // New: jobs waiting or running outnumber the workers, so this one has no free worker.
        if state.queue.len() + state.busy > state.alive && state.alive < state.limits.max {
            Shared::spawn(&self.shared, &mut state, Why::Backlog);
        }
        // A waiting worker, if there is one, takes it; otherwise the next to finish does.
        self.shared.work.notify_one();
        Ok(id)
    }
    // ANCHOR_END: submit

    // ANCHOR: resize
    /// Sets new limits while the pool runs. Workers are started at once to reach the new `min`,
    /// and for jobs the old `max` held back. Workers above a lowered `max` retire, but only
    /// between jobs: a running job is never interrupted.
    pub fn resize(&self, min: usize, max: usize) -> Result<(), ConfigError> {
        let mut state = self.shared.lock();
        let limits = Limits {
            min,
            max,
            ..state.limits
        };
        limits.check()?;
        state.limits = limits;
        while state.alive < min {
            Shared::spawn(&self.shared, &mut state, Why::Floor);
        }
        while state.alive < max && state.queue.len() + state.busy > state.alive {
            Shared::spawn(&self.shared, &mut state, Why::Backlog);
        }
        // Waiting workers look again: some may now be surplus, or free to retire when idle.
        self.shared.work.notify_all();
        Ok(())
    }
    // ANCHOR_END: resize

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

    // ANCHOR: shutdown
    /// Refuses new jobs, lets the workers finish every queued one, and joins every worker the
    /// pool ever started, including those that retired long ago.
    pub fn shutdown(mut self) -> Report {
        self.stop()
    }

    fn stop(&mut self) -> Report {
        self.stopped = true;
        let handles = {
            let mut state = self.shared.lock();
            state.closed = true;
            self.shared.work.notify_all();
            std::mem::take(&mut state.handles)
        };
        // Joined without the lock: the workers need it to drain the queue and leave.
        let joined = handles.len();
        for handle in handles {
            handle
                .join()
                .expect("a worker thread does not panic: jobs' panics are caught");
        }
        let mut state = self.shared.lock();
        state.report.joined += joined;
        state.report.clone()
    }
    // ANCHOR_END: shutdown
}

impl<J: Send + 'static> Drop for DynamicPool<J> {
    /// Dropping the pool drains it and joins its workers.
    fn drop(&mut self) {
        if !self.stopped {
            self.stop();
        }
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

    /// Starts one worker. Called with the lock held, so `alive` counts the new worker before
    /// anyone else can look.
    fn spawn(shared: &Arc<Self>, state: &mut State<J>, why: Why) {
        // Join the threads of workers that have retired since, so the list stays short.
        let (done, running) = std::mem::take(&mut state.handles)
            .into_iter()
            .partition::<Vec<_>, _>(|h| h.is_finished());
        state.handles = running;
        for handle in done {
            handle.join().expect("a worker thread does not panic");
            state.report.joined += 1;
        }
        state.next_worker += 1;
        let id = state.next_worker;
        state.alive += 1;
        state.report.started += 1;
        let me = Arc::clone(shared);
        let handle = std::thread::Builder::new()
            .name(format!("dynamic-worker-{id}"))
            .spawn(move || worker(id, &me))
            .expect("the OS can start a thread");
        state.handles.push(handle);
        shared.emit(Event::Started {
            worker: id,
            alive: state.alive,
            why,
        });
        shared.alive_changed.notify_all();
    }

    /// Takes one worker out of `alive`. The caller leaves its loop right after.
    fn retire(&self, mut state: MutexGuard<'_, State<J>>, id: usize, why: Why) {
        state.alive -= 1;
        match why {
            Why::Idle => state.report.retired_idle += 1,
            Why::Surplus => state.report.retired_surplus += 1,
            _ => {}
        }
        self.emit(Event::Retired {
            worker: id,
            alive: state.alive,
            why,
        });
        self.alive_changed.notify_all();
    }
}

// ANCHOR: worker
fn worker<J: Send + 'static>(id: usize, shared: &Shared<J>) {
    let mut state = shared.lock();
    // When this worker last ran out of work; `None` while it has some.
    let mut idle_since: Option<Instant> = None;
    loop {
        // New: a resize lowered `max`; leave now, between jobs, never during one.
        if state.alive > state.limits.max {
            return shared.retire(state, id, Why::Surplus);
        }
        if let Some((job, work)) = state.queue.pop_front() {
            idle_since = None;
            state.busy += 1;
            drop(state);
            let began = Instant::now();
            // As in lesson 7, a panicking job must not take its worker (and `busy`) with it.
            let panicked = catch_unwind(AssertUnwindSafe(|| (shared.handler)(&work))).is_err();
            let took = began.elapsed();
            shared.emit(Event::Finished {
                job,
                worker: id,
                started: began - shared.start,
                took,
                panicked,
            });
            state = shared.lock();
            state.busy -= 1;
            state.report.ran += 1;
            state.report.panicked += u64::from(panicked);
            continue;
        }
        if state.closed {
            return shared.retire(state, id, Why::Shutdown);
        }
        // New: nothing to do. Wait for work, but only until the idle timeout runs out.
        let since = *idle_since.get_or_insert_with(Instant::now);
        let left = state.limits.idle.saturating_sub(since.elapsed());
        if left.is_zero() {
            if state.alive > state.limits.min {
                return shared.retire(state, id, Why::Idle);
            }
            // At the floor: stay, and sleep until something changes.
            idle_since = None;
            state = shared.work.wait(state).expect("never poisoned");
            continue;
        }
        state = shared
            .work
            .wait_timeout(state, left)
            .expect("never poisoned")
            .0;
    }
}
// ANCHOR_END: worker
