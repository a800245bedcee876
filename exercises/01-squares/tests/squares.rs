//! The tests for exercise 1. They run against your code in `exercises/01-squares` and against
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
    let returned = within(
        LIMIT,
        "worker() on a closed queue",
        "does your loop end when the channel is closed and empty? `for job in jobs` does",
        move || {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                squares::worker(jobs, results, &|n| n * n)
            }))
            .is_ok()
        },
    );
    assert!(
        returned,
        "worker() panicked once the queue was closed and empty: `jobs.recv()` returns Err then, \
         which means \"stop\", not a failure to unwrap; `for job in jobs` stops by itself"
    );
    let got: Vec<(u64, u64)> = answers.try_iter().collect();
    assert_eq!(
        got,
        [(2, 4), (3, 9), (4, 16)],
        "one (n, n²) per job, in queue order"
    );
}

#[test]
fn the_worker_waits_for_more_jobs_while_the_queue_is_open() {
    let (jobs_tx, jobs) = crossbeam_channel::unbounded();
    let (results, answers) = crossbeam_channel::unbounded();
    let (returned_tx, returned) = crossbeam_channel::bounded::<()>(1);
    std::thread::spawn(move || {
        squares::worker(jobs, results, &|n| n * n);
        let _ = returned_tx.send(());
    });
    let early = "worker() returned while the queue was empty but still open, before any job \
                 came: loop with `for job in jobs` (which waits for the next job), not \
                 `try_iter`/`try_recv`, which give up as soon as the queue is empty";
    jobs_tx.send(5).expect(early);
    let first = answers.recv_timeout(LIMIT);
    assert_eq!(
        first,
        Ok((5, 25)),
        "worker() got job 5 and sent no (5, 25) within {LIMIT:?}: send (n, square(n)) for each \
         job as soon as it is done"
    );
    // The queue is empty now but still open: a worker must wait, not stop. An idle worker that
    // quits does so at once, so a short wait is plenty (and costs a correct worker 0.3 s).
    assert!(
        returned.recv_timeout(Duration::from_millis(300)).is_err(),
        "worker() returned while the queue was empty but still open, so a job sent after a \
         pause would never run: loop with `for job in jobs` (which waits for the next job), \
         not `try_iter`/`try_recv`, which give up as soon as the queue is empty"
    );
    jobs_tx.send(6).expect(early);
    assert_eq!(
        answers.recv_timeout(LIMIT),
        Ok((6, 36)),
        "job 6, sent after a pause, was never squared: does the worker stop when the queue is \
         empty?"
    );
    drop(jobs_tx);
    assert!(
        returned.recv_timeout(LIMIT).is_ok(),
        "worker() did not return within {LIMIT:?} of the queue closing: `for job in jobs` ends \
         once every sender is dropped and the queue is empty"
    );
}

#[test]
fn a_job_that_panics_is_reported_not_hidden() {
    let outcome = std::panic::catch_unwind(|| {
        within(
            LIMIT,
            "square_all(2 workers, 1..=10) where the job for 7 panics",
            "a worker that panics drops its senders as it unwinds; does your collecting loop \
             wait on a sender you still hold?",
            || {
                squares::square_all(2, (1..=10).collect(), |n| {
                    assert_ne!(n, 7, "the job for 7 fails on purpose");
                    n * n
                })
            },
        )
    });
    if let Ok(answers) = outcome {
        panic!(
            "the job for 7 panicked, yet square_all returned {} answers as if all was well: \
             `handle.join()` returns Err when that worker's thread panicked; don't discard it \
             with `let _ =` or `.ok()`, `.expect()` it so the caller hears of the failure",
            answers.len()
        );
    }
}

#[test]
fn every_number_is_squared_exactly_once() {
    let counts = Arc::new(RunCounts::new());
    let seen = Arc::clone(&counts);
    let mut answers = within(
        LIMIT,
        "square_all(3 workers, 1..=50)",
        "is a Sender still alive? Drop the jobs sender after sending, and don't keep a results \
         sender in square_all, or the workers (or your collecting loop) wait for ever. And \
         join the workers only after the jobs sender is dropped: a worker joined earlier is \
         still waiting for jobs, so `join` never returns",
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
        answers.len(),
        50,
        "{} answers for 50 numbers: collect with `answers.iter()`, which waits until the last \
         worker is done; `try_iter()` takes only what has arrived so far",
        answers.len()
    );
    assert_eq!(
        answers, expected,
        "one (n, square(n)) pair per number, the number first; the order does not matter"
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
                    // Once one job has waited in vain, the rest need not: the test has failed.
                    if !fell_short.load(Ordering::SeqCst)
                        && !inside.wait_for_peak(workers, Duration::from_secs(2))
                    {
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
             after another (joining each before starting the next), or did you start fewer than \
             `workers` threads?",
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
