//! The tests for exercise 6. They run against your code in `exercises/06-shutdown-deadline` and
//! against the finished version in `solutions/06-shutdown-deadline`.
//!
//! Jobs are held at gates, so that what is running and what is queued when the deadline passes
//! is decided by the test, not by timing.

use course_support::testing::{Gate, Gauge, RunCounts, within};
use shutdown_deadline::{Pool, Shutdown, StopFlag};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(5);
const HANG: &str = "shutdown_within must return soon after the deadline, even with jobs left: \
                    close the queue first (drop the sender), then wait for the workers with \
                    `exited.recv_timeout(deadline)` rather than `join`, and join them only once \
                    the stop flag is up";

/// Opens the gate once the stop flag goes up, so that the jobs held at it finish only after
/// the deadline has passed. Gives up after 8 s, after the `within` around shutdown has failed.
fn open_when_stopped(flag: Arc<StopFlag>, gate: Gate) -> JoinHandle<()> {
    std::thread::spawn(move || {
        flag.wait_raised(Duration::from_secs(8));
        gate.open();
    })
}

fn sorted(jobs: &[u64]) -> Vec<u64> {
    let mut jobs = jobs.to_vec();
    jobs.sort_unstable();
    jobs
}

/// Fails the test unless every job in `submitted` came back exactly once, in one list or the
/// other.
fn assert_each_back_once(shutdown: &Shutdown<u64>, submitted: impl Iterator<Item = u64>) {
    let both: Vec<u64> = sorted(&shutdown.finished)
        .into_iter()
        .filter(|job| shutdown.unstarted.contains(job))
        .collect();
    assert!(
        both.is_empty(),
        "jobs {both:?} are in both `finished` and `unstarted`: a job either ran or it did not"
    );
    let mut back = shutdown.finished.clone();
    back.extend(&shutdown.unstarted);
    let back = sorted(&back);
    let twice: Vec<u64> = back
        .windows(2)
        .filter(|pair| pair[0] == pair[1])
        .map(|pair| pair[0])
        .collect();
    assert!(twice.is_empty(), "jobs {twice:?} came back more than once");
    let missing: Vec<u64> = submitted.filter(|job| !back.contains(job)).collect();
    assert!(
        missing.is_empty(),
        "jobs {missing:?} were neither finished nor handed back: collect `finished` and \
         `handed_back` after joining the workers, and return both"
    );
}

/// Fails the test if a job that ran came back as unstarted.
fn assert_none_ran_but_came_back(shutdown: &Shutdown<u64>, ran: impl Iterator<Item = u64>) {
    let ran_but_back: Vec<u64> = ran.filter(|job| shutdown.unstarted.contains(job)).collect();
    assert!(
        ran_but_back.is_empty(),
        "jobs {ran_but_back:?} ran, yet came back in `unstarted`: only what the workers handed \
         back (the `handed_back` channel) belongs there"
    );
}

#[test]
fn with_a_generous_deadline_every_job_finishes_and_nothing_comes_back() {
    let counts = Arc::new(RunCounts::new());
    let seen = Arc::clone(&counts);
    let gate = Gate::new();
    let held = gate.clone();
    let pool = Pool::new(2, move |job: &u64| {
        held.wait();
        seen.ran(*job);
    });
    for job in 1..=20 {
        pool.submit(job);
    }
    let flag = pool.stop_flag();
    gate.open();
    // A minute to spare, but the queue drains in milliseconds: shutdown must return then, not
    // at the deadline.
    let shutdown = within(
        LIMIT,
        "shutdown_within(60 s) on a queue that drains at once",
        "it should return as soon as the last worker exits, not at the deadline: close the \
         queue first (drop the sender), then wait with `exited.recv_timeout(deadline)`, which \
         returns as soon as `exited` disconnects",
        move || pool.shutdown_within(Duration::from_secs(60)),
    );
    assert_each_back_once(&shutdown, 1..=20);
    assert!(
        shutdown.unstarted.is_empty(),
        "with a minute to spare every job should finish, but jobs {:?} came back unstarted: \
         raise the stop flag only once the deadline has passed",
        sorted(&shutdown.unstarted)
    );
    assert_eq!(sorted(&shutdown.finished), (1..=20).collect::<Vec<_>>());
    assert!(
        !flag.is_raised(),
        "the stop flag went up although the queue drained in time: raise it only when \
         `recv_timeout` says the deadline passed (`RecvTimeoutError::Timeout`)"
    );
    counts.assert_each_ran_once(1..=20);
}

#[test]
fn when_the_deadline_passes_queued_jobs_come_back_untouched() {
    let gauge = Arc::new(Gauge::new());
    let counts = Arc::new(RunCounts::new());
    let gate = Gate::new();
    let held = gate.clone();
    let (inside, seen) = (Arc::clone(&gauge), Arc::clone(&counts));
    let pool = Pool::new(1, move |job: &u64| {
        let _running = inside.enter();
        held.wait();
        seen.ran(*job);
    });
    for job in 1..=5 {
        pool.submit(job);
    }
    // Job 1 holds the only worker at the gate; jobs 2 to 5 wait in the queue.
    assert!(
        gauge.wait_for_peak(1, LIMIT),
        "job 1 never started: Pool::new and submit are given, so this should not happen"
    );
    let opener = open_when_stopped(pool.stop_flag(), gate.clone());
    let shutdown = within(
        LIMIT,
        "shutdown_within(100 ms) with a job running and four queued",
        HANG,
        move || pool.shutdown_within(Duration::from_millis(100)),
    );
    let running = gauge.now();
    opener.join().expect("the opener does not panic");

    assert_eq!(
        running, 0,
        "shutdown_within returned while a job was still running: join every worker after \
         raising the stop flag"
    );
    assert_each_back_once(&shutdown, 1..=5);
    assert_none_ran_but_came_back(&shutdown, 1..=1);
    assert_eq!(
        shutdown.finished,
        [1],
        "job 1 was running when the deadline passed: it finishes, and counts as finished"
    );
    assert_eq!(
        sorted(&shutdown.unstarted),
        [2, 3, 4, 5],
        "jobs 2 to 5 were still queued when the deadline passed: they come back in `unstarted`"
    );
    counts.assert_each_ran_once([1]);
}

#[test]
fn every_job_is_finished_or_handed_back_exactly_once() {
    let running = Arc::new(Gauge::new());
    let counts = Arc::new(RunCounts::new());
    let gate = Gate::new();
    let held = gate.clone();
    let (inside, seen) = (Arc::clone(&running), Arc::clone(&counts));
    // Every fifth job is held at the gate: one worker stops at job 5, the other runs 6 to 9
    // and stops at 10. Jobs 1 to 10 are then done or running, and 11 to 20 are queued.
    let pool = Pool::new(2, move |job: &u64| {
        if job % 5 == 0 {
            let _held = inside.enter();
            held.wait();
        }
        seen.ran(*job);
    });
    for job in 1..=20 {
        pool.submit(job);
    }
    assert!(
        running.wait_for_peak(2, LIMIT),
        "jobs 5 and 10 never both started: Pool::new and submit are given, so this should not \
         happen"
    );
    let opener = open_when_stopped(pool.stop_flag(), gate.clone());
    let shutdown = within(
        LIMIT,
        "shutdown_within(50 ms) with two jobs running and ten queued",
        HANG,
        move || pool.shutdown_within(Duration::from_millis(50)),
    );
    opener.join().expect("the opener does not panic");

    assert_each_back_once(&shutdown, 1..=20);
    assert_none_ran_but_came_back(&shutdown, 1..=10);
    assert_eq!(
        sorted(&shutdown.finished),
        (1..=10).collect::<Vec<_>>(),
        "jobs 1 to 10 ran (5 and 10 were running at the deadline and finished)"
    );
    assert_eq!(
        sorted(&shutdown.unstarted),
        (11..=20).collect::<Vec<_>>(),
        "jobs 11 to 20 were queued at the deadline and come back untouched"
    );
    counts.assert_each_ran_once(1..=10);
}

#[test]
fn an_idle_pool_shuts_down_at_once_even_with_no_time_to_spare() {
    for deadline in [Duration::ZERO, Duration::from_secs(60)] {
        let pool: Pool<u64> = Pool::new(3, |_| {});
        let shutdown = within(
            LIMIT,
            "shutting down a pool with no jobs",
            HANG,
            move || pool.shutdown_within(deadline),
        );
        assert!(
            shutdown.finished.is_empty() && shutdown.unstarted.is_empty(),
            "no jobs were submitted, so none can come back: {shutdown:?}"
        );
    }
}

#[test]
fn a_deadline_of_zero_gives_up_at_once_rather_than_never() {
    let gauge = Arc::new(Gauge::new());
    let gate = Gate::new();
    let held = gate.clone();
    let inside = Arc::clone(&gauge);
    let pool = Pool::new(1, move |_job: &u64| {
        let _running = inside.enter();
        held.wait();
    });
    for job in 1..=3 {
        pool.submit(job);
    }
    assert!(
        gauge.wait_for_peak(1, LIMIT),
        "job 1 never started: Pool::new and submit are given, so this should not happen"
    );
    let opener = open_when_stopped(pool.stop_flag(), gate.clone());
    let shutdown = within(
        LIMIT,
        "shutdown_within(Duration::ZERO) with a job running and two queued",
        "a deadline of zero means no time to wait, not no deadline: `recv_timeout(ZERO)` times \
         out at once if a worker is still busy, and then the stop flag goes up",
        move || pool.shutdown_within(Duration::ZERO),
    );
    opener.join().expect("the opener does not panic");
    assert_each_back_once(&shutdown, 1..=3);
    assert_eq!(shutdown.finished, [1], "job 1 was running: it finishes");
    assert_eq!(
        sorted(&shutdown.unstarted),
        [2, 3],
        "with no time to wait, jobs 2 and 3, still queued, come back untouched"
    );
}

#[test]
fn a_job_that_panics_is_reported_not_hidden() {
    let outcome = std::panic::catch_unwind(|| {
        within(
            LIMIT,
            "shutdown_within(60 s) after job 3 panicked",
            "the worker that ran job 3 died with it and dropped its `exited` sender, so \
             `recv_timeout` still ends when the others are done; are you waiting on something \
             else?",
            || {
                let pool = Pool::new(2, |job: &u64| {
                    assert_ne!(*job, 3, "job 3 fails on purpose");
                });
                for job in 1..=6 {
                    pool.submit(job);
                }
                pool.shutdown_within(Duration::from_secs(60))
            },
        )
    });
    if let Ok(shutdown) = outcome {
        panic!(
            "job 3 panicked, yet shutdown_within returned {shutdown:?} as if all was well: \
             `join` returns Err for the worker that died with it; `.expect()` it rather than \
             discarding it with `let _ =`"
        );
    }
}
