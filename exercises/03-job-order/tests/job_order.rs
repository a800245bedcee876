//! The tests for exercise 3. They run against your code in `exercises/03-job-order` and against
//! the finished version in `solutions/03-job-order`.

use course_support::testing::{Gauge, RunCounts, within};
use job_order::run_in_order;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(5);
const HANG: &str = "is a results Sender still alive? The results loop ends only when the last \
                    sender is dropped: drop the one you created once every worker has its \
                    clone, and let each worker drop its own by returning. (And with small \
                    bounded queues, send the jobs from their own scoped thread, so that sending \
                    and collecting happen at the same time.)";

#[test]
fn results_are_in_job_order_even_when_the_first_job_finishes_last() {
    // Job 1 waits until the eleven others are done, so it is certainly the last to finish: the
    // results arrive with job 1 at the end, and must still come back with job 1 first.
    let (results, held_up) = within(LIMIT, "run_in_order(3 workers, jobs 1..=12)", HANG, || {
        let (done_tx, done) = crossbeam_channel::unbounded::<()>();
        let held_up = AtomicBool::new(false);
        let jobs: Vec<(u64, u64)> = (1..=12).map(|id| (id, id)).collect();
        // Scoped threads may borrow: `held_up` is a plain local, no `Arc`.
        let results = run_in_order(3, jobs, |n: u64| {
            if n == 1 {
                let deadline = Instant::now() + Duration::from_secs(3);
                if (2..=12).any(|_| done.recv_deadline(deadline).is_err()) {
                    held_up.store(true, Ordering::SeqCst);
                }
            } else {
                done_tx
                    .send(())
                    .expect("the receiver lives as long as the closure");
            }
            n * 10
        });
        (results, held_up.into_inner())
    });
    assert!(
        !held_up,
        "job 1 waited 3 s for the other eleven jobs, and they never got done: do all `workers` \
         threads take jobs from one shared queue, so that the others carry on while one is busy?"
    );
    let ids: Vec<u64> = results.iter().map(|&(id, _)| id).collect();
    let mut found = ids.clone();
    found.sort_unstable();
    assert_eq!(
        found,
        (1..=12).collect::<Vec<u64>>(),
        "expected one result for each of jobs 1 to 12, got results for {ids:?}: read until the \
         results channel closes, and don't lose or repeat any"
    );
    assert_eq!(
        ids,
        (1..=12).collect::<Vec<u64>>(),
        "results arrive in the order jobs finish (here job 1 finished last); sort them by job \
         id before returning"
    );
    for &(id, value) in &results {
        assert_eq!(value, id * 10, "job {id}'s result belongs to job {id}");
    }
}

#[test]
fn results_are_sorted_by_id_not_by_the_order_the_jobs_came_in() {
    let ids = [42, 7, 19, 3, 88, 1, 56, 23, 64, 10];
    let results = within(LIMIT, "run_in_order with scrambled ids", HANG, move || {
        let jobs: Vec<(u64, u64)> = ids.iter().map(|&id| (id, id * 3)).collect();
        run_in_order(2, jobs, |input: u64| input + 1)
    });
    let mut sorted = ids.to_vec();
    sorted.sort_unstable();
    let expected: Vec<(u64, u64)> = sorted.iter().map(|&id| (id, id * 3 + 1)).collect();
    assert_eq!(
        results, expected,
        "the jobs came in as ids {ids:?}; results must be sorted by id (smallest first), not \
         left in the order the jobs were given or finished, and each pair is (id, f(input))"
    );
}

#[test]
fn every_job_runs_once_and_every_result_comes_back() {
    let counts = Arc::new(RunCounts::new());
    let seen = Arc::clone(&counts);
    let results = within(
        LIMIT,
        "run_in_order(4 workers, 200 jobs)",
        HANG,
        move || {
            let jobs: Vec<(u64, u64)> = (1..=200).map(|id| (id, id)).collect();
            run_in_order(4, jobs, |n: u64| {
                seen.ran(n);
                n + 1000
            })
        },
    );
    counts.assert_each_ran_once(1..=200);
    let ids: Vec<u64> = results.iter().map(|&(id, _)| id).collect();
    let missing: Vec<u64> = (1..=200).filter(|id| !ids.contains(id)).collect();
    assert!(
        missing.is_empty() && results.len() == 200,
        "{} results for 200 jobs, missing {missing:?}: every job's result must come back, so \
         read until the results channel closes, and make sure no worker's send can be lost",
        results.len()
    );
    // Point at the first wrong place rather than printing all 200 pairs.
    let expected: Vec<(u64, u64)> = (1..=200).map(|id| (id, id + 1000)).collect();
    if let Some(at) = (0..200).find(|&i| results[i] != expected[i]) {
        panic!(
            "result {at} is {:?}, expected {:?}: results must be (id, f(input)), sorted by id",
            results[at], expected[at]
        );
    }
}

#[test]
fn the_results_loop_ends_when_the_last_worker_is_done() {
    for workers in [1, 2, 6] {
        let results = within(LIMIT, "run_in_order(workers, 4 jobs)", HANG, move || {
            run_in_order(workers, vec![(1, 'a'), (2, 'b'), (3, 'c'), (4, 'd')], |c| c)
        });
        assert_eq!(
            results,
            [(1, 'a'), (2, 'b'), (3, 'c'), (4, 'd')],
            "with {workers} worker(s): one (id, result) per job, sorted by id"
        );
    }
}

#[test]
fn no_jobs_means_no_results_and_no_hang() {
    let results = within(LIMIT, "run_in_order with no jobs", HANG, || {
        run_in_order(3, Vec::<(u64, u64)>::new(), |n| n)
    });
    assert!(results.is_empty(), "no jobs, no results");
}

#[test]
fn never_more_than_workers_jobs_run_at_once_and_the_pool_gets_there() {
    for workers in [1, 3] {
        let gauge = Arc::new(Gauge::new());
        // Every job waits here until the test drops `open`.
        let (open, gate) = crossbeam_channel::bounded::<()>(0);
        let inside = Arc::clone(&gauge);
        let run = std::thread::spawn(move || {
            within(
                LIMIT,
                "run_in_order with jobs held at a gate",
                HANG,
                move || {
                    let jobs: Vec<(u64, u64)> =
                        (0..3 * workers as u64).map(|id| (id, id)).collect();
                    run_in_order(workers, jobs, |n| {
                        let _running = inside.enter();
                        // Bounded, so a broken pool fails below instead of hanging here.
                        let _ = gate.recv_timeout(Duration::from_secs(8));
                        n
                    })
                },
            )
        });
        // While the gate is shut, jobs pile up inside the gauge: a pool must get to `workers`…
        let reached = gauge.wait_for_peak(workers, Duration::from_secs(3));
        // …and no further. Nothing holds an extra thread back, so a pool that can go past the
        // limit does so at once: a short wait is plenty.
        let exceeded = gauge.wait_for_peak(workers + 1, Duration::from_millis(300));
        let peak = gauge.max();
        drop(open);
        assert!(
            !exceeded,
            "{peak} jobs ran at once with {workers} worker(s): spawn exactly `workers` scoped \
             threads that share one queue, not a thread per job"
        );
        assert!(
            reached,
            "with {workers} workers, only {peak} job(s) ever ran at once: did you start fewer \
             than `workers` threads, or wait for each before starting the next?"
        );
        let results = run
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        assert_eq!(results.len(), 3 * workers, "one result per job");
    }
}

#[test]
fn a_job_that_panics_is_reported_not_hidden() {
    let outcome = std::panic::catch_unwind(|| {
        within(
            LIMIT,
            "run_in_order(2 workers, jobs 1..=10) where job 7 panics",
            "a worker that panics drops its senders as it unwinds, and the others carry on; \
             does your collecting loop wait on a sender you still hold?",
            || {
                let jobs: Vec<(u64, u64)> = (1..=10).map(|id| (id, id)).collect();
                run_in_order(2, jobs, |n: u64| {
                    assert_ne!(n, 7, "job 7 fails on purpose");
                    n
                })
            },
        )
    });
    if let Ok(results) = outcome {
        panic!(
            "job 7 panicked, yet run_in_order returned {} results as if all was well: let the \
             scope report it (it panics when a thread it started panicked and nobody joined \
             it), or `.expect()` what `join()` returns; don't discard the Err",
            results.len()
        );
    }
}

#[test]
#[should_panic(expected = "at least one worker")]
fn zero_workers_panics_with_a_clear_message() {
    let results = within(
        LIMIT,
        "run_in_order(0 workers, 3 jobs)",
        "with no workers nobody ever takes a job: check `workers` first, with `assert!`",
        || run_in_order(0, vec![(1, 1u64), (2, 2), (3, 3)], |n| n),
    );
    panic!(
        "run_in_order(0, …) returned {results:?} instead of panicking: with no workers nothing \
         can run, so refuse 0 up front with `assert!(workers > 0, \"…\")` and the message from \
         the doc comment"
    );
}
