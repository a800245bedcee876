//! The tests for exercise 5. They run against your code in `exercises/05-drop-drains` and
//! against the finished version in `solutions/05-drop-drains`.

use course_support::testing::{Gate, Gauge, RunCounts, within};
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use drop_drains::Pool;
use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(5);
const HANG: &str = "close the queue before joining: take() the sender out of `self.queue` and \
                    drop it, or the workers keep waiting for jobs and `join` never returns";

/// A pool being dropped on a thread of its own.
struct Dropping {
    /// Gets a message when `drop` returns; disconnects without one if `drop` panicked.
    returned: Receiver<()>,
    thread: JoinHandle<()>,
}

impl Dropping {
    fn start(pool: Pool) -> Dropping {
        let (returned_tx, returned) = crossbeam_channel::bounded(1);
        let thread = std::thread::spawn(move || {
            drop(pool);
            let _ = returned_tx.send(());
        });
        Dropping { returned, thread }
    }

    /// Whether `drop` returned within `limit`. If it panicked, the test fails with its panic.
    fn returned_within(&self, limit: Duration) -> bool {
        match self.returned.recv_timeout(limit) {
            Ok(()) => true,
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => false,
        }
    }

    /// Fails the test with `drop`'s own panic, if it panicked.
    fn rethrow_panic(self) {
        if self.returned.try_recv().is_err() && self.thread.is_finished() {
            if let Err(panic) = self.thread.join() {
                std::panic::resume_unwind(panic);
            }
        }
    }
}

#[test]
fn dropping_the_pool_runs_every_queued_job_first() {
    let ran = Arc::new(AtomicUsize::new(0));
    let counts = Arc::new(RunCounts::new());
    let gate = Gate::new();
    let pool = Pool::new(2);
    for job in 0..40 {
        let (ran, counts, gate) = (Arc::clone(&ran), Arc::clone(&counts), gate.clone());
        pool.submit(move || {
            gate.wait();
            counts.ran(job);
            ran.fetch_add(1, Ordering::SeqCst);
        });
    }
    // Two jobs wait at the gate, 38 in the queue. A drop that waits cannot return while the
    // gate is shut; one that does not wait returns at once, so 300 ms is plenty to see it.
    let dropping = Dropping::start(pool);
    let too_early = dropping.returned_within(Duration::from_millis(300));
    let ran_by_then = ran.load(Ordering::SeqCst);
    gate.open();
    let returned = dropping.returned_within(LIMIT);
    let ran_after = ran.load(Ordering::SeqCst);
    dropping.rethrow_panic();
    assert!(
        !too_early,
        "drop returned when only {ran_by_then} of 40 queued jobs had run: after closing the \
         queue, join every worker, so that drop waits until the queue is empty and the last \
         job is done"
    );
    assert!(
        returned,
        "drop did not return within {LIMIT:?} of the jobs being let through: {HANG}"
    );
    assert_eq!(
        ran_after, 40,
        "drop returned when only {ran_after} of 40 jobs had run: join every worker after \
         closing the queue"
    );
    counts.assert_each_ran_once(0..40);
}

#[test]
fn drop_waits_for_the_running_job_and_then_returns() {
    let gauge = Arc::new(Gauge::new());
    let gate = Gate::new();
    let pool = Pool::new(1);
    let (inside, held) = (Arc::clone(&gauge), gate.clone());
    pool.submit(move || {
        let _running = inside.enter();
        held.wait();
    });
    assert!(
        gauge.wait_for_peak(1, LIMIT),
        "the job never started: Pool::new and submit are given, so this should not happen"
    );
    let dropping = Dropping::start(pool);
    // Longer than the second or so a drop that gives up after a fixed time would wait.
    let too_early = dropping.returned_within(Duration::from_millis(2500));
    gate.open();
    let returned = dropping.returned_within(LIMIT);
    let running_after = gauge.now();
    dropping.rethrow_panic();
    assert!(
        !too_early,
        "drop returned while a job was still running (2.5 s into it): join every worker \
         thread, with no time limit of your own, so that drop waits however long the job takes"
    );
    assert!(
        returned,
        "drop did not return within {LIMIT:?} after the last job finished: {HANG}"
    );
    assert_eq!(running_after, 0, "the job finished before drop returned");
}

/// Counts, on the thread it belongs to, that the thread has ended.
struct ThreadExit(Arc<AtomicUsize>);

impl Drop for ThreadExit {
    fn drop(&mut self) {
        // Not synchronisation: this only widens the window in which a worker that was never
        // joined is still ending. `join` waits for it, sleep included.
        std::thread::sleep(Duration::from_millis(20));
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

thread_local! {
    /// Dropped when its thread ends, after everything else the thread did.
    static EXIT: RefCell<Option<ThreadExit>> = const { RefCell::new(None) };
}

#[test]
fn every_worker_thread_has_ended_when_drop_returns() {
    let gauge = Arc::new(Gauge::new());
    let ended = Arc::new(AtomicUsize::new(0));
    let gate = Gate::new();
    let pool = Pool::new(4);
    for _ in 0..4 {
        let (inside, ended, gate) = (Arc::clone(&gauge), Arc::clone(&ended), gate.clone());
        pool.submit(move || {
            // Count this worker thread when it ends.
            EXIT.with(|exit| *exit.borrow_mut() = Some(ThreadExit(ended)));
            let _running = inside.enter();
            gate.wait();
        });
    }
    // One job on each of the four workers, so all four threads are counted.
    assert!(
        gauge.wait_for_peak(4, LIMIT),
        "four jobs never ran at once on four workers: Pool::new and submit are given, so this \
         should not happen"
    );
    gate.open();
    within(LIMIT, "dropping a pool of four workers", HANG, move || {
        drop(pool)
    });
    let ended = ended.load(Ordering::SeqCst);
    assert_eq!(
        ended, 4,
        "only {ended} of the 4 worker threads had ended when drop returned: join every one of \
         them (`self.workers.drain(..)`), not just some"
    );
}

#[test]
fn no_job_runs_twice_or_goes_missing() {
    let counts = Arc::new(RunCounts::new());
    let pool = Pool::new(4);
    for job in 1..=200 {
        let counts = Arc::clone(&counts);
        pool.submit(move || counts.ran(job));
    }
    within(LIMIT, "dropping a pool with 200 jobs", HANG, move || {
        drop(pool)
    });
    counts.assert_each_ran_once(1..=200);
}

#[test]
fn dropping_an_idle_pool_returns_promptly() {
    for workers in [1, 4] {
        let pool = Pool::new(workers);
        within(
            LIMIT,
            "dropping a pool with nothing to do",
            HANG,
            move || drop(pool),
        );
    }
}

#[test]
fn the_last_owner_drops_the_pool_on_its_own_thread() {
    // Three threads share the pool through an `Arc`; whichever lets go last runs `drop`, on its
    // own thread, after the test thread has already let go of its handle.
    let ran = Arc::new(AtomicUsize::new(0));
    let pool = Arc::new(Pool::new(2));
    let submitters: Vec<_> = (0..3)
        .map(|_| {
            let (pool, ran) = (Arc::clone(&pool), Arc::clone(&ran));
            std::thread::spawn(move || {
                for _ in 0..10 {
                    let ran = Arc::clone(&ran);
                    pool.submit(move || {
                        ran.fetch_add(1, Ordering::SeqCst);
                    });
                }
                // The last of these drops is the pool's `drop`.
            })
        })
        .collect();
    drop(pool);
    within(
        LIMIT,
        "the threads sharing the pool, the last of which drops it",
        HANG,
        move || {
            for submitter in submitters {
                if let Err(panic) = submitter.join() {
                    std::panic::resume_unwind(panic);
                }
            }
        },
    );
    let ran = ran.load(Ordering::SeqCst);
    assert_eq!(
        ran, 30,
        "the pool was dropped on another thread when only {ran} of 30 jobs had run: drop must \
         wait for every queued job, whichever thread it runs on"
    );
}

#[test]
fn a_job_that_panics_does_not_make_drop_panic_or_skip_the_rest() {
    // Which worker dies is up to the scheduler, and so is where it sits among the handles `drop`
    // joins; three of four dying makes the survivor the first handle only one time in four, and
    // five rounds leave a `drop` that stops at the first failed join nowhere to hide.
    for _ in 0..5 {
        let ran = Arc::new(AtomicUsize::new(0));
        let gate = Gate::new();
        let pool = Pool::new(4);
        // Each of these panics at once and takes its worker with it, so three different
        // workers die; the fourth drains the queue.
        for _ in 0..3 {
            pool.submit(|| panic!("this job fails on purpose"));
        }
        for _ in 0..10 {
            let (ran, gate) = (Arc::clone(&ran), gate.clone());
            pool.submit(move || {
                gate.wait();
                ran.fetch_add(1, Ordering::SeqCst);
            });
        }
        let dropping = Dropping::start(pool);
        // The channel disconnects without a message if `drop` panicked.
        let early = dropping.returned.recv_timeout(Duration::from_millis(300));
        let too_early = early.is_ok();
        gate.open();
        let later = match early {
            Err(RecvTimeoutError::Timeout) => dropping.returned.recv_timeout(LIMIT),
            _ => early,
        };
        let returned = later.is_ok();
        let panicked = later == Err(RecvTimeoutError::Disconnected);
        let ran = ran.load(Ordering::SeqCst);
        assert!(
            !panicked,
            "drop panicked because a job had panicked: `join` returns Err for a worker that died \
             with its job. Ignore that (`let _ = worker.join();`) and go on joining the others: \
             a panic inside drop while the program is already unwinding aborts it"
        );
        assert!(
            !too_early,
            "drop returned while 10 queued jobs still waited to run on the one worker left: \
             join every worker in `self.workers`, and go on after a join returns Err (that \
             worker's job panicked)"
        );
        assert!(
            returned,
            "drop did not return within {LIMIT:?} after three jobs panicked: {HANG}"
        );
        assert_eq!(
            ran, 10,
            "drop returned when only {ran} of the 10 jobs queued after the panicking ones had \
             run: join every worker, even after one join returned Err"
        );
    }
}

/// Holds its thread back from ending, once the thread's jobs are done, until the test drops
/// the matching sender.
struct ExitGate(Receiver<()>);

impl Drop for ExitGate {
    fn drop(&mut self) {
        let _ = self.0.recv_timeout(Duration::from_secs(8));
    }
}

thread_local! {
    static EXIT_GATE: RefCell<Option<ExitGate>> = const { RefCell::new(None) };
}

#[test]
fn drop_waits_for_every_worker_thread_not_just_some() {
    // Four workers, each unable to end until the test lets it. Three are let go and one held:
    // `drop` must still be waiting. Which handle belongs to the held thread is up to the
    // scheduler, so a `drop` that joins only some is caught in one round or another.
    for _ in 0..5 {
        let gauge = Arc::new(Gauge::new());
        let gate = Gate::new();
        let (exits_tx, exits) = crossbeam_channel::unbounded::<Sender<()>>();
        let pool = Pool::new(4);
        for _ in 0..4 {
            let (inside, gate, exits_tx) = (Arc::clone(&gauge), gate.clone(), exits_tx.clone());
            pool.submit(move || {
                let (exit_tx, exit) = crossbeam_channel::bounded::<()>(0);
                EXIT_GATE.with(|slot| *slot.borrow_mut() = Some(ExitGate(exit)));
                let _ = exits_tx.send(exit_tx);
                let _running = inside.enter();
                gate.wait();
            });
        }
        assert!(
            gauge.wait_for_peak(4, LIMIT),
            "four jobs never ran at once on four workers: Pool::new and submit are given, so \
             this should not happen"
        );
        gate.open();
        let mut held: Vec<Sender<()>> = (0..4)
            .map(|_| {
                exits
                    .recv_timeout(LIMIT)
                    .expect("each job sends its exit gate")
            })
            .collect();
        let dropping = Dropping::start(pool);
        let last = held.pop();
        drop(held);
        let too_early = dropping.returned_within(Duration::from_millis(300));
        drop(last);
        let returned = dropping.returned_within(LIMIT);
        dropping.rethrow_panic();
        assert!(
            !too_early,
            "drop returned while one of the four worker threads had not ended yet: join every \
             one of them (`for worker in self.workers.drain(..)`), not just one or some"
        );
        assert!(
            returned,
            "drop did not return within {LIMIT:?} of the last worker being let go: {HANG}"
        );
    }
}
