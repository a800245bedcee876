// course: exercise
// //! # Exercise 17: workers that come and go
// course: solution
//! # Exercise 17, solved: workers that come and go
// course: end
//!
// course: exercise
// //! A dynamic pool sizes itself to the work: it starts `min` workers, grows when jobs back up,
// //! up to `max`, and lets a worker go after it has waited `idle` with nothing to do, as long as
// //! more than `min` remain. Write the parts that decide:
// //!
// //! - [`try_grow`] and [`try_retire`]: add one to the count of workers alive unless that passes
// //!   `max`, or take one away unless that goes below `min`, and say whether they did. Several
// //!   threads call them at once, so the check and the change must be one step: a
// //!   compare-and-swap loop (`compare_exchange`, or `fetch_update`), never a `load` followed by
// //!   a `fetch_sub`.
// //! - [`Pool::submit`]: queue the job; then, if more jobs are waiting than workers are idle,
// //!   start a worker (`self.start_worker()`, which is written), but only if `try_grow` says there
// //!   is room. (Growing only here, a pool can lag a job behind; the next `submit` catches up.)
// //! - `worker`, the worker's loop: wait for a job with `recv_timeout(config.idle)`, counted as
// //!   idle while it waits. A job: run it. A time-out: retire (return) if `try_retire` agrees,
// //!   else wait again. A closed queue (`Disconnected`): count itself out of `alive`, and return.
// //!   A worker waits in `recv_timeout`; it never polls in a loop.
// //! - [`Pool::shutdown`]: close the queue and join every worker thread the pool started.
// //!
// //! The pool's bookkeeping is two atomics in `Counts`: `alive` and `idle`. The threads
// //! themselves are counted separately, by the given code, in a [`Census`] that the tests read;
// //! and the workers' end of the queue is an [`Inbox`], a crossbeam `Receiver` that also counts
// //! the calls that come back empty-handed. Jobs here do not panic (lesson 7 shows how to
// //! survive one).
// //!
// //! Replace each `@todo()` and run `cargo test -p ex17-idle-retire` until it passes. Stuck? Run
// //! `cargo run -p course -- hint ex17-idle-retire`.
// course: solution
//! Two counts steer the pool: `alive` and `idle`. `submit` starts a worker when more jobs wait
//! than workers are idle; a worker whose `recv_timeout` runs out retires. Each of those
//! decisions changes `alive` in one step, with a compare-and-swap (`fetch_update`), so two
//! threads deciding at once can never both take the last place above `min` or below `max`.
//! `shutdown` drops the only sender and joins every handle the pool still holds.
// course: end

use crossbeam_channel::{Receiver, RecvError, RecvTimeoutError, Sender, TryRecvError};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// A job: runs once, on whichever worker takes it.
pub type Job = Box<dyn FnOnce() + Send + 'static>;

/// How big the pool may be, and how long a spare worker waits before it retires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Workers that stay however quiet it gets (at least 1).
    pub min: usize,
    /// The most workers alive at once.
    pub max: usize,
    /// How long a worker waits for a job before it retires, if more than `min` are alive.
    pub idle: Duration,
}

/// What the tests watch: worker threads as the code that starts and ends them counts them (not
/// the pool's own bookkeeping), and how often a worker came back from its queue with nothing.
#[derive(Debug, Default)]
pub struct Census {
    /// Threads started and ended, and the fewest alive since [`Census::watch_lowest`].
    state: Mutex<CensusState>,
    /// Wakes [`Census::wait_for_at_most`] when a thread ends.
    changed: Condvar,
    /// Calls to the [`Inbox`] that came back without a job (a time-out, or an empty queue).
    misses: AtomicU64,
}

#[derive(Debug, Default)]
struct CensusState {
    started: usize,
    exited: usize,
    lowest: Option<usize>,
}

impl CensusState {
    fn alive(&self) -> usize {
        self.started - self.exited
    }
}

impl Census {
    /// Worker threads started and not yet ended.
    pub fn alive(&self) -> usize {
        self.lock().alive()
    }

    /// Worker threads ever started.
    pub fn started(&self) -> usize {
        self.lock().started
    }

    /// Worker threads that have ended.
    pub fn exited(&self) -> usize {
        self.lock().exited
    }

    /// From now on, remember the fewest threads alive, checked each time one ends.
    pub fn watch_lowest(&self) {
        let mut state = self.lock();
        state.lowest = Some(state.alive());
    }

    /// The fewest threads alive since [`Census::watch_lowest`] (`None` before it is called).
    pub fn lowest(&self) -> Option<usize> {
        self.lock().lowest
    }

    /// Waits, for at most `limit`, until no more than `n` threads are alive; returns how many
    /// are.
    pub fn wait_for_at_most(&self, n: usize, limit: Duration) -> usize {
        let state = self.lock();
        let (state, _) = self
            .changed
            .wait_timeout_while(state, limit, |s| s.alive() > n)
            .expect("the census lock is never held across a panic");
        state.alive()
    }

    /// Calls to the [`Inbox`] that came back without a job.
    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::SeqCst)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CensusState> {
        self.state
            .lock()
            .expect("the census lock is never held across a panic")
    }

    /// Counts one more thread started, and returns its number (the first is 1).
    fn started_one(&self) -> usize {
        let mut state = self.lock();
        state.started += 1;
        state.started
    }

    fn ended_one(&self) {
        let mut state = self.lock();
        state.exited += 1;
        let alive = state.alive();
        if let Some(lowest) = &mut state.lowest {
            *lowest = (*lowest).min(alive);
        }
        self.changed.notify_all();
    }
}

/// Counts its worker thread out of the [`Census`] when dropped, however the thread ends.
struct Ending(Arc<Census>);

impl Drop for Ending {
    fn drop(&mut self) {
        self.0.ended_one();
    }
}

/// The workers' end of the queue: a crossbeam `Receiver` that also counts how often a worker
/// came back from it with nothing, so the tests can tell a worker that waits from one that
/// polls.
#[derive(Debug, Clone)]
pub struct Inbox {
    /// The queue.
    jobs: Receiver<Job>,
    /// Where misses are counted.
    census: Arc<Census>,
}

impl Inbox {
    /// Waits for a job as long as it takes; `Err` once the queue is closed and empty.
    pub fn recv(&self) -> Result<Job, RecvError> {
        self.jobs.recv()
    }

    /// Waits for a job for at most `timeout`. A time-out counts as a miss.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<Job, RecvTimeoutError> {
        let got = self.jobs.recv_timeout(timeout);
        if let Err(RecvTimeoutError::Timeout) = got {
            self.census.misses.fetch_add(1, Ordering::SeqCst);
        }
        got
    }

    /// Takes a job if one is waiting, without waiting. An empty queue counts as a miss.
    pub fn try_recv(&self) -> Result<Job, TryRecvError> {
        let got = self.jobs.try_recv();
        if let Err(TryRecvError::Empty) = got {
            self.census.misses.fetch_add(1, Ordering::SeqCst);
        }
        got
    }

    /// Jobs waiting in the queue.
    pub fn len(&self) -> usize {
        self.jobs.len()
    }

    /// Whether no job is waiting.
    pub fn is_empty(&self) -> bool {
        self.jobs.is_empty()
    }
}

/// The pool's own bookkeeping, shared by `submit` and the workers.
#[derive(Debug, Default)]
struct Counts {
    /// Workers alive by the pool's count: raised by [`try_grow`] before a worker starts, lowered
    /// by [`try_retire`] (or at shutdown) before it leaves.
    alive: AtomicUsize,
    /// Workers waiting for a job right now: if more jobs wait than this, work is backing up.
    idle: AtomicUsize,
}

/// Adds one to `alive` if that keeps it at most `max`, in one step; says whether it did.
///
/// ```
/// use std::sync::atomic::AtomicUsize;
/// use idle_retire::try_grow;
///
/// let alive = AtomicUsize::new(3);
/// assert!(try_grow(&alive, 4));
/// assert!(!try_grow(&alive, 4));
/// assert_eq!(alive.into_inner(), 4);
/// ```
pub fn try_grow(alive: &AtomicUsize, max: usize) -> bool {
    // course: exercise
    // let _ = (alive, max);
    // @todo("in one step (a compare-and-swap loop): if alive < max, add one and say true; else false")
    // course: solution
    // A compare-and-swap loop: if another thread changed `alive` since we read it, the swap
    // fails and we decide again on the new value.
    alive
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
            (n < max).then_some(n + 1)
        })
        .is_ok()
    // course: end
}

/// Takes one from `alive` if that keeps it at least `min`, in one step; says whether it did.
///
/// ```
/// use std::sync::atomic::AtomicUsize;
/// use idle_retire::try_retire;
///
/// let alive = AtomicUsize::new(2);
/// assert!(try_retire(&alive, 1));
/// assert!(!try_retire(&alive, 1));
/// assert_eq!(alive.into_inner(), 1);
/// ```
pub fn try_retire(alive: &AtomicUsize, min: usize) -> bool {
    // course: exercise
    // let _ = (alive, min);
    // @todo(
    //     "in one step (a compare-and-swap loop): if alive > min, take one away and say true; else false"
    // )
    // course: solution
    // Checking `alive > min` and then subtracting, as two steps, lets two workers both see
    // `min + 1` and both leave.
    alive
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
            (n > min).then_some(n - 1)
        })
        .is_ok()
    // course: end
}

/// A pool that grows when work backs up, up to `max` workers, and shrinks back to `min` when
/// workers sit idle.
pub struct Pool {
    /// The queue's only sender: dropping it (in `shutdown`) is how the workers learn that no
    /// more jobs will come.
    queue: Sender<Job>,
    /// The workers' end of the queue: cloned for each new worker, and read by `submit` to see
    /// how many jobs wait. Holding it also means a send never fails.
    inbox: Inbox,
    /// The pool's own counts of workers alive and idle.
    counts: Arc<Counts>,
    /// The limits and the idle timeout.
    config: Config,
    /// Every worker thread started and not yet joined. A retired worker's handle stays here
    /// until the next start reaps it, or `shutdown` joins it.
    workers: Mutex<Vec<JoinHandle<()>>>,
    /// Threads started and ended, for the tests.
    census: Arc<Census>,
}

impl Pool {
    /// Starts a pool with `config.min` workers.
    ///
    /// # Panics
    ///
    /// If `min` is 0 (jobs could be left with no worker), `max < min`, or `idle` is zero.
    pub fn new(config: Config) -> Pool {
        assert!(config.min >= 1, "a pool needs at least one worker");
        assert!(config.max >= config.min, "max must be at least min");
        assert!(
            !config.idle.is_zero(),
            "the idle timeout must be above zero"
        );
        let (queue, jobs) = crossbeam_channel::unbounded();
        let census = Arc::new(Census::default());
        let pool = Pool {
            queue,
            inbox: Inbox {
                jobs,
                census: Arc::clone(&census),
            },
            counts: Arc::new(Counts::default()),
            config,
            workers: Mutex::new(Vec::new()),
            census,
        };
        pool.counts.alive.store(config.min, Ordering::SeqCst);
        for _ in 0..config.min {
            pool.start_worker();
        }
        pool
    }

    /// Queues a job, and starts one more worker if jobs are backing up and fewer than `max`
    /// are alive.
    pub fn submit(&self, job: Job) {
        // course: exercise
        // let _ = (job, &self.counts.idle);
        // @todo(
        //     "send the job; then if more jobs wait (self.inbox.len()) than workers are idle, and try_grow agrees, start_worker"
        // )
        // course: solution
        self.queue
            .send(job)
            .expect("the pool holds a receiver, so the queue is open");
        // Backing up: more jobs wait than there are idle workers to take them.
        let waiting = self.inbox.len();
        if waiting > self.counts.idle.load(Ordering::SeqCst)
            && try_grow(&self.counts.alive, self.config.max)
        {
            self.start_worker();
        }
        // course: end
    }

    /// Workers alive, by the pool's own count.
    pub fn alive(&self) -> usize {
        self.counts.alive.load(Ordering::SeqCst)
    }

    /// The census of worker threads, for the tests.
    pub fn census(&self) -> Arc<Census> {
        Arc::clone(&self.census)
    }

    /// Closes the queue, lets the workers finish every job in it, and joins every worker thread
    /// the pool started that it has not joined yet.
    pub fn shutdown(self) {
        let Pool { queue, workers, .. } = self;
        // course: exercise
        // let _ = (queue, workers);
        // @todo("drop the sender first, then join every handle in `workers`")
        // course: solution
        // Dropping the only sender closes the queue: once it is empty, every worker's
        // `recv_timeout` says `Disconnected`, and the worker leaves.
        drop(queue);
        let workers = workers
            .into_inner()
            .expect("the workers lock is never held across a panic");
        for handle in workers {
            handle
                .join()
                .expect("a worker thread panicked (its message is above)");
        }
        // course: end
    }

    /// Starts one worker thread, named `idle-retire-worker-N` (N counts up from 1 in the order
    /// they start). The caller has already counted it in `counts.alive`.
    fn start_worker(&self) {
        let inbox = self.inbox.clone();
        let counts = Arc::clone(&self.counts);
        let census = Arc::clone(&self.census);
        let config = self.config;
        let number = self.census.started_one();
        let handle = std::thread::Builder::new()
            .name(format!("idle-retire-worker-{number}"))
            .spawn(move || {
                let _ending = Ending(census);
                worker(inbox, &counts, config);
            })
            .expect("the OS can start a thread");
        let mut workers = self
            .workers
            .lock()
            .expect("the workers lock is never held across a panic");
        // Reap the workers that have retired: their threads are over, so joining is instant.
        // (A panic in one was already printed by its thread.)
        let (ended, running): (Vec<_>, Vec<_>) =
            workers.drain(..).partition(|handle| handle.is_finished());
        for handle in ended {
            let _ = handle.join();
        }
        *workers = running;
        workers.push(handle);
    }
}

/// One worker: runs jobs; after `config.idle` with nothing to do, retires if more than
/// `config.min` workers are alive; leaves when the queue is closed and empty.
fn worker(inbox: Inbox, counts: &Counts, config: Config) {
    // course: exercise
    // let _ = (inbox, counts, config);
    // @todo(
    //     "loop: count yourself idle, recv_timeout(config.idle), count yourself busy; a job: run it; Timeout: return if try_retire agrees; Disconnected: take yourself out of `alive` and return"
    // )
    // course: solution
    loop {
        counts.idle.fetch_add(1, Ordering::SeqCst);
        // Blocks until a job, the time-out, or the close: no polling.
        let next = inbox.recv_timeout(config.idle);
        counts.idle.fetch_sub(1, Ordering::SeqCst);
        match next {
            Ok(job) => job(),
            Err(RecvTimeoutError::Timeout) => {
                if try_retire(&counts.alive, config.min) {
                    return;
                }
            }
            Err(RecvTimeoutError::Disconnected) => {
                counts.alive.fetch_sub(1, Ordering::SeqCst);
                return;
            }
        }
    }
    // course: end
}
