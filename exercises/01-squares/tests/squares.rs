//! The tests for exercise 1a. They run against your code in `exercises/01-squares` and against
//! the finished version in `solutions/01-squares`.

use course_support::testing::{Gauge, RunCounts, within};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(5);

#[test]
fn the_worker_squares_every_job_and_stops_when_the_queue_closes() {
    let (jobs_tx, jobs) = crossbeam_channel::unbounded();
    let (results, answers) = crossbeam_channel::unbounded();
    for n in [2, 3, 4] {
        jobs_tx.send(n).unwrap();
    }
    drop(jobs_tx);
    within(
        LIMIT,
        "worker() on a closed queue",
        "does your loop end when the channel is closed and empty? `for job in jobs` does",
        move || squares::worker(jobs, results, &|n| n * n),
    );
    let got: Vec<(u64, u64)> = answers.try_iter().collect();
    assert_eq!(
        got,
        [(2, 4), (3, 9), (4, 16)],
        "one (n, n²) per job, in queue order"
    );
}

#[test]
fn every_number_is_squared_exactly_once() {
    let counts = Arc::new(RunCounts::new());
    let seen = Arc::clone(&counts);
    let mut answers = within(
        LIMIT,
        "square_all(3 workers, 1..=50)",
        "is a Sender still alive? Drop the jobs sender after sending, and don't keep a results \
         sender in square_all, or the workers (or your collecting loop) wait for ever",
        move || {
            squares::square_all(3, (1..=50).collect(), move |n| {
                seen.ran(n);
                n * n
            })
        },
    );
    counts.assert_each_ran_once(1..=50);
    answers.sort_unstable();
    let expected: Vec<(u64, u64)> = (1..=50).map(|n| (n, n * n)).collect();
    assert_eq!(
        answers, expected,
        "one (n, n²) pair per number; the order does not matter"
    );
}

#[test]
fn no_more_than_workers_jobs_run_at_once_and_all_workers_help() {
    for workers in [1, 2, 4] {
        let gauge = Arc::new(Gauge::new());
        let short = Arc::new(AtomicBool::new(false));
        let (inside, fell_short) = (Arc::clone(&gauge), Arc::clone(&short));
        within(
            LIMIT,
            "the in-flight check",
            "either a Sender is still alive (see every_number_is_squared_exactly_once), or fewer \
             than `workers` jobs ever ran at once: do all the workers take from the same queue?",
            move || {
                squares::square_all(workers, (1..=(3 * workers as u64)).collect(), move |n| {
                    let _running = inside.enter();
                    if !inside.wait_for_peak(workers, Duration::from_secs(2)) {
                        fell_short.store(true, Ordering::SeqCst);
                    }
                    n * n
                })
            },
        );
        assert!(
            gauge.max() <= workers,
            "{} jobs ran at the same time with {workers} workers: are you starting a thread per \
             job instead of `workers` threads?",
            gauge.max()
        );
        assert!(
            !short.load(Ordering::SeqCst),
            "with {workers} workers, only {} jobs ever ran at once: are the workers running one \
             after another (joining each before starting the next)?",
            gauge.max()
        );
    }
}

#[test]
fn no_numbers_means_no_answers() {
    let answers = within(
        LIMIT,
        "square_all with no numbers",
        "with nothing to send, the queue must still be closed so the workers can stop",
        || squares::square_all(2, Vec::new(), |n| n * n),
    );
    assert!(answers.is_empty());
}
