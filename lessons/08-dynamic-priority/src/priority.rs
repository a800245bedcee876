//! A pool that runs the most urgent job first: a `BinaryHeap` behind a `Mutex`, with a `Condvar`
//! for idle workers. Higher priority runs first; equal priorities run in the order they were
//! submitted.
//!
//! Strict priority starves: while higher-priority jobs keep arriving, a low one waits for ever.
//! With [`Config::aging`] set, a waiting job gains one level for every `step` jobs submitted
//! after it, so it runs after at most [`max_overtakers`] later jobs, however heavy the load.

use crate::ConfigError;
use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

/// A job's priority: higher runs first.
pub type Priority = u8;

/// How to build a [`PriorityPool`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Worker threads, 1 to [`crate::MAX_WORKERS`].
    pub workers: usize,
    /// `None`: strict priority. `Some(step)`: a waiting job gains one level of priority for
    /// every `step` jobs submitted after it (1 to [`crate::MAX_AGING_STEP`]).
    pub aging: Option<u32>,
}

impl Config {
    /// Checks the worker count and the aging step.
    pub fn check(&self) -> Result<(), ConfigError> {
        match self.workers {
            0 => return Err(ConfigError::NoWorkers),
            n if n > crate::MAX_WORKERS => return Err(ConfigError::TooManyWorkers(n)),
            _ => {}
        }
        match self.aging {
            Some(step) if step == 0 || step > crate::MAX_AGING_STEP => {
                Err(ConfigError::BadAgingStep(step))
            }
            _ => Ok(()),
        }
    }
}

/// What a job is told while it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ctx {
    /// The worker running it, from 1.
    pub worker: usize,
    /// The job's id: its place in the order of submission, from 1.
    pub seq: u64,
    /// Its place in the order the workers took jobs from the heap, from 1.
    pub pick: u64,
    /// The priority it was submitted with.
    pub priority: Priority,
}

/// How many jobs of priority `high`, submitted after a job of priority `low`, can be taken
/// before it when aging raises a waiting job one level every `step` arrivals.
///
/// A later job at distance `d` (in submissions) ranks above the waiting one only while
/// `high * step - d > low * step`, that is for `d` from 1 to `(high - low) * step - 1`.
///
/// ```
/// use lesson_8::priority::max_overtakers;
/// assert_eq!(max_overtakers(9, 1, 4), 31);
/// assert_eq!(max_overtakers(1, 9, 4), 0, "a lower priority never overtakes");
/// ```
pub fn max_overtakers(high: Priority, low: Priority, step: u32) -> u64 {
    if high <= low {
        return 0;
    }
    u64::from(high - low) * u64::from(step) - 1
}

// ANCHOR: entry
/// A job in the heap, ordered by rank, then by who came first.
struct Entry<J> {
    /// What the heap orders by; fixed when the job is submitted (see [`rank`]).
    rank: i64,
    /// Submission order: the tie-breaker, so equal ranks run first-in, first-out.
    seq: u64,
    /// As submitted, for the job's `Ctx`.
    priority: Priority,
    /// The job itself.
    job: J,
}

impl<J> Ord for Entry<J> {
    fn cmp(&self, other: &Self) -> Ordering {
        // `BinaryHeap` pops the greatest: the highest rank, and among equals the lowest `seq`.
        self.rank
            .cmp(&other.rank)
            .then_with(|| other.seq.cmp(&self.seq))
    }
}

impl<J> PartialOrd for Entry<J> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<J> PartialEq for Entry<J> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl<J> Eq for Entry<J> {}

/// The key the heap orders by.
///
/// Without aging it is the priority. With aging, a job's effective priority is
/// `priority + (jobs submitted since) / step`. Every waiting job gains at the same pace, so
/// comparing `priority * step - seq` orders them exactly the same way, and that key never
/// changes while the job waits: the heap never needs re-sorting.
fn rank(priority: Priority, seq: u64, aging: Option<u32>) -> i64 {
    match aging {
        None => i64::from(priority),
        // Fits easily: at most 255 * 1_000_000, minus a sequence number below 2^62.
        Some(step) => i64::from(priority) * i64::from(step) - seq as i64,
    }
}
// ANCHOR_END: entry

struct State<J> {
    /// Jobs waiting, most urgent on top.
    heap: BinaryHeap<Entry<J>>,
    /// The last job's id.
    seq: u64,
    /// Jobs taken from the heap so far.
    picks: u64,
    /// Set by shutdown: refuse new jobs, and let workers leave once the heap is empty.
    closed: bool,
    /// Jobs that ran, for the report.
    ran: u64,
    /// Of those, jobs that panicked.
    panicked: u64,
}

type Handler<J> = dyn Fn(&J, &Ctx) + Send + Sync;

struct Shared<J> {
    /// Runs each job.
    handler: Box<Handler<J>>,
    /// How fast waiting jobs gain rank; `None` for strict priority.
    aging: Option<u32>,
    /// The heap and the counts.
    state: Mutex<State<J>>,
    /// Idle workers wait here for a job or the close.
    ready: Condvar,
}

impl<J> Shared<J> {
    fn lock(&self) -> MutexGuard<'_, State<J>> {
        self.state
            .lock()
            .expect("the pool's lock is never poisoned: jobs run outside it")
    }
}

/// What shutdown found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    /// Jobs that ran.
    pub ran: u64,
    /// Of those, jobs that panicked (the worker caught it and carried on).
    pub panicked: u64,
}

/// A fixed set of workers that always take the most urgent waiting job. Dropping it drains it.
pub struct PriorityPool<J: Send + 'static> {
    /// The heap and the counts, shared with the workers.
    shared: Arc<Shared<J>>,
    /// Joined at shutdown.
    workers: Vec<JoinHandle<()>>,
}

impl<J: Send + 'static> PriorityPool<J> {
    /// Checks `config` and starts the workers; `handler` runs each job.
    pub fn new(
        config: Config,
        handler: impl Fn(&J, &Ctx) + Send + Sync + 'static,
    ) -> Result<PriorityPool<J>, ConfigError> {
        config.check()?;
        let shared = Arc::new(Shared {
            handler: Box::new(handler),
            aging: config.aging,
            state: Mutex::new(State {
                heap: BinaryHeap::new(),
                seq: 0,
                picks: 0,
                closed: false,
                ran: 0,
                panicked: 0,
            }),
            ready: Condvar::new(),
        });
        let workers = (1..=config.workers)
            .map(|id| {
                let shared = Arc::clone(&shared);
                std::thread::Builder::new()
                    .name(format!("priority-worker-{id}"))
                    .spawn(move || worker(id, &shared))
                    .expect("the OS can start a thread")
            })
            .collect();
        Ok(PriorityPool { shared, workers })
    }

    // ANCHOR: submit
    /// Queues a job with a priority and returns its id (its place in the order of submission).
    /// After shutdown has begun the job is handed back.
    pub fn submit(&self, priority: Priority, job: J) -> Result<u64, J> {
        let mut state = self.shared.lock();
        if state.closed {
            return Err(job);
        }
        state.seq += 1;
        let seq = state.seq;
        state.heap.push(Entry {
            rank: rank(priority, seq, self.shared.aging),
            seq,
            priority,
            job,
        });
        self.shared.ready.notify_one();
        Ok(seq)
    }
    // ANCHOR_END: submit

    /// Jobs waiting in the heap now.
    pub fn waiting(&self) -> usize {
        self.shared.lock().heap.len()
    }

    /// Refuses new jobs, runs every waiting one (in priority order), and joins the workers.
    pub fn shutdown(mut self) -> Report {
        self.stop()
    }

    fn stop(&mut self) -> Report {
        self.shared.lock().closed = true;
        self.shared.ready.notify_all();
        for handle in self.workers.drain(..) {
            handle
                .join()
                .expect("a worker thread does not panic: jobs' panics are caught");
        }
        let state = self.shared.lock();
        Report {
            ran: state.ran,
            panicked: state.panicked,
        }
    }
}

impl<J: Send + 'static> Drop for PriorityPool<J> {
    /// Dropping the pool drains it, as shutdown does.
    fn drop(&mut self) {
        if !self.workers.is_empty() {
            self.stop();
        }
    }
}

// ANCHOR: worker
fn worker<J>(id: usize, shared: &Shared<J>) {
    loop {
        let (entry, pick) = {
            let mut state = shared.lock();
            loop {
                // New: the heap, not a channel, decides which job is next.
                if let Some(entry) = state.heap.pop() {
                    state.picks += 1;
                    break (entry, state.picks);
                }
                if state.closed {
                    return;
                }
                state = shared.ready.wait(state).expect("never poisoned");
            }
        };
        let ctx = Ctx {
            worker: id,
            seq: entry.seq,
            pick,
            priority: entry.priority,
        };
        let panicked =
            catch_unwind(AssertUnwindSafe(|| (shared.handler)(&entry.job, &ctx))).is_err();
        let mut state = shared.lock();
        state.ran += 1;
        state.panicked += u64::from(panicked);
    }
}
// ANCHOR_END: worker
