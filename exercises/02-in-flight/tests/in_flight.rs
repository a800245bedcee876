//! The tests for exercise 2. They run against your code in `exercises/02-in-flight` and against
//! the finished version in `solutions/02-in-flight`.

use course_support::testing::{Gauge, RunCounts, within};
use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(5);
const HANG: &str = "is a Sender still alive? Drop the jobs sender once every item is sent, so the \
                    workers' loops end, and don't keep a results sender of your own while you \
                    collect. (If both channels are small and bounded, are you sending every item \
                    before reading a single result?)";

#[test]
fn every_item_runs_exactly_once_and_every_result_comes_back() {
    let counts = Arc::new(RunCounts::new());
    let seen = Arc::clone(&counts);
    let mut results = within(LIMIT, "run_bounded(4, 1..=100)", HANG, move || {
        in_flight::run_bounded(4, (1..=100).collect(), move |n: u64| {
            seen.ran(n);
            n * 10
        })
    });
    counts.assert_each_ran_once(1..=100);
    assert_eq!(
        results.len(),
        100,
        "{} results for 100 items: every result must come back; collect until the results \
         channel closes (or until you have one per item)",
        results.len()
    );
    results.sort_unstable();
    let expected: Vec<u64> = (1..=100).map(|n| n * 10).collect();
    assert_eq!(
        results, expected,
        "one f(item) per item; the order does not matter"
    );
}

#[test]
fn never_more_than_limit_items_run_at_once_and_the_pool_gets_there() {
    for limit in [1, 2, 4] {
        let gauge = Arc::new(Gauge::new());
        // Every item waits here until the test drops `open`.
        let (open, gate) = crossbeam_channel::bounded::<()>(0);
        let inside = Arc::clone(&gauge);
        let run = std::thread::spawn(move || {
            within(
                LIMIT,
                "run_bounded with items held at a gate",
                HANG,
                move || {
                    in_flight::run_bounded(limit, (0..3 * limit as u64).collect(), move |n| {
                        let _running = inside.enter();
                        // Bounded, so a broken pool fails below instead of hanging here.
                        let _ = gate.recv_timeout(Duration::from_secs(8));
                        n
                    })
                },
            )
        });
        // While the gate is shut, items pile up inside the gauge: a pool must get to `limit`…
        let reached = gauge.wait_for_peak(limit, Duration::from_secs(3));
        // …and no further. Nothing holds an extra thread back, so if the pool can go past the
        // limit it does so at once: a short wait is plenty (and costs a correct pool 0.3 s).
        let exceeded = gauge.wait_for_peak(limit + 1, Duration::from_millis(300));
        let peak = gauge.max();
        drop(open);
        assert!(
            !exceeded,
            "{peak} items ran at once with a limit of {limit}: start exactly `limit` worker \
             threads that share one queue, not a thread per item"
        );
        assert!(
            reached,
            "with a limit of {limit}, only {peak} item(s) ever ran at once: are the workers \
             running one after another (joining each before starting the next), or did you \
             start fewer than `limit`?"
        );
        let results = run
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        assert_eq!(
            results.len(),
            3 * limit,
            "one result per item: collect until the results channel closes"
        );
    }
}

#[test]
fn a_slow_item_does_not_hold_up_the_others() {
    // Whichever item starts first waits until the seven others are done. With one shared
    // queue, the second worker takes all seven while the first is busy; if each worker had a
    // fixed share of the items (however they were split), some of them would be stuck behind
    // the slow one.
    let (done_tx, done) = crossbeam_channel::unbounded::<()>();
    let held_up = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&held_up);
    let first = AtomicBool::new(true);
    let mut results = within(LIMIT, "run_bounded(2, 0..8)", HANG, move || {
        in_flight::run_bounded(2, (0..8).collect(), move |n: u64| {
            if first.swap(false, Ordering::SeqCst) {
                let deadline = Instant::now() + Duration::from_secs(3);
                if (1..8).any(|_| done.recv_deadline(deadline).is_err()) {
                    flag.store(true, Ordering::SeqCst);
                }
            } else {
                done_tx
                    .send(())
                    .expect("the receiver lives in the same closure");
            }
            n
        })
    });
    assert!(
        !held_up.load(Ordering::SeqCst),
        "the first item to start waited 3 s for the other seven, and they never got done: do all workers \
         take from one shared queue (clones of one Receiver), so that a free worker picks up \
         the next item while another is busy? Splitting the items into a fixed share per \
         worker leaves some waiting behind a slow one"
    );
    results.sort_unstable();
    assert_eq!(
        results,
        (0..8).collect::<Vec<u64>>(),
        "one result per item: collect until the results channel closes, not just what has \
         arrived so far"
    );
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
fn every_worker_has_finished_when_run_bounded_returns() {
    let started = Arc::new(AtomicUsize::new(0));
    let ended = Arc::new(AtomicUsize::new(0));
    let (count_start, count_end) = (Arc::clone(&started), Arc::clone(&ended));
    let results = within(LIMIT, "run_bounded(3, 0..30)", HANG, move || {
        in_flight::run_bounded(3, (0..30).collect(), move |n: u64| {
            // The first item a thread runs registers that thread, to be counted when it ends.
            EXIT.with(|exit| {
                let mut exit = exit.borrow_mut();
                if exit.is_none() {
                    count_start.fetch_add(1, Ordering::SeqCst);
                    *exit = Some(ThreadExit(Arc::clone(&count_end)));
                }
            });
            n
        })
    });
    let (started, ended) = (started.load(Ordering::SeqCst), ended.load(Ordering::SeqCst));
    assert!(
        started <= 3,
        "30 items with a limit of 3 ran on {started} different threads: start exactly `limit` \
         worker threads that take items from one queue, not a thread per item (even one that \
         waits for a free place first)"
    );
    assert_eq!(
        started, ended,
        "{started} threads ran items, but only {ended} of them had ended when run_bounded \
         returned: `join` every worker before returning, so that no thread outlives the call"
    );
    assert_eq!(
        results.len(),
        30,
        "one result per item: collect until the results channel closes"
    );
}

#[test]
fn an_item_that_panics_is_reported_not_hidden() {
    let outcome = std::panic::catch_unwind(|| {
        within(
            LIMIT,
            "run_bounded(2, 1..=10) where item 7 panics",
            "a worker that panics drops its senders as it unwinds; does your collecting loop \
             wait on a sender you still hold?",
            || {
                in_flight::run_bounded(2, (1..=10).collect(), |n: u64| {
                    assert_ne!(n, 7, "item 7 fails on purpose");
                    n
                })
            },
        )
    });
    if let Ok(results) = outcome {
        panic!(
            "item 7 panicked, yet run_bounded returned {} results as if all was well: \
             `handle.join()` returns Err when that worker's thread panicked; don't discard it \
             with `let _ =` or `.ok()`, `.expect()` it so the caller hears of the failure",
            results.len()
        );
    }
}

#[test]
fn more_workers_than_items_is_fine() {
    let mut results = within(LIMIT, "run_bounded(8, [1, 2, 3])", HANG, || {
        in_flight::run_bounded(8, vec![1u64, 2, 3], |n| n + 1)
    });
    results.sort_unstable();
    assert_eq!(
        results,
        [2, 3, 4],
        "with more workers than items, the idle workers simply find the queue closed"
    );
}

#[test]
fn no_items_means_no_results_and_no_hang() {
    let results = within(
        LIMIT,
        "run_bounded with no items",
        "with nothing to send, the queue must still be closed so the workers can stop",
        || in_flight::run_bounded(3, Vec::<u64>::new(), |n| n),
    );
    assert!(results.is_empty(), "no items, no results");
}

#[test]
#[should_panic(expected = "limit of at least 1")]
fn a_limit_of_zero_panics_with_a_clear_message() {
    let results = within(
        LIMIT,
        "run_bounded(0, [1, 2, 3])",
        "with no workers nobody ever takes an item: check `limit` first, with `assert!`",
        || in_flight::run_bounded(0, vec![1u64, 2, 3], |n| n),
    );
    panic!(
        "run_bounded(0, …) returned {results:?} instead of panicking: with no workers nothing \
         can run, so refuse a limit of 0 up front with `assert!(limit > 0, \"…\")` and the \
         message from the doc comment"
    );
}
