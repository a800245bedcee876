//! The promises lesson 1's pool keeps, checked with counters rather than timing.

use course_support::testing::{Gauge, RunCounts, within};
use lesson_1::Log;
use std::sync::Arc;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(10);
const HANG: &str = "is a job sender still alive, so the workers' loops never end?";

#[test]
fn every_job_runs_exactly_once() {
    let counts = Arc::new(RunCounts::new());
    let seen = Arc::clone(&counts);
    let answers = within(LIMIT, "100 jobs on 4 workers", HANG, move || {
        lesson_1::run(
            4,
            (1..=100).collect(),
            move |n| {
                seen.ran(n);
                n
            },
            Log::Quiet,
        )
    });
    counts.assert_each_ran_once(1..=100);
    assert_eq!(answers.len(), 100, "one answer per job");
}

#[test]
fn every_answer_is_the_work_applied_to_its_job() {
    let answers = within(LIMIT, "doubling 1..=20", HANG, || {
        lesson_1::run(3, (1..=20).collect(), |n| n * 2, Log::Quiet)
    });
    for done in &answers {
        assert_eq!(done.answer, done.job * 2, "{done:?}");
        assert!((1..=3).contains(&done.worker), "no worker {}", done.worker);
        assert!(done.started <= done.finished, "{done:?}");
    }
}

// ANCHOR: in_flight
#[test]
fn no_more_than_workers_jobs_run_at_once_and_the_pool_gets_there() {
    for workers in [1, 3, 8] {
        let gauge = Arc::new(Gauge::new());
        let inside = Arc::clone(&gauge);
        let reached = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let all_reached = Arc::clone(&reached);
        within(LIMIT, "the in-flight check", HANG, move || {
            lesson_1::run(
                workers,
                (1..=4 * workers as u64).collect(),
                move |n| {
                    let _running = inside.enter();
                    // Hold this worker until `workers` jobs have run side by side (bounded, so a
                    // pool that never gets there fails below instead of hanging).
                    if !inside.wait_for_peak(workers, Duration::from_secs(5)) {
                        all_reached.store(false, std::sync::atomic::Ordering::SeqCst);
                    }
                    n
                },
                Log::Quiet,
            )
        });
        assert!(
            gauge.max() <= workers,
            "{} jobs ran at once with only {workers} workers",
            gauge.max()
        );
        assert!(
            reached.load(std::sync::atomic::Ordering::SeqCst),
            "with {workers} workers the pool never ran {workers} jobs at once (peak {}): do all \
             workers take from the same queue?",
            gauge.max()
        );
    }
}

// ANCHOR_END: in_flight

#[test]
fn one_worker_takes_jobs_in_the_order_they_were_sent() {
    let answers = within(LIMIT, "one worker", HANG, || {
        lesson_1::run(1, (1..=10).collect(), |n| n, Log::Quiet)
    });
    let order: Vec<u64> = answers.iter().map(|d| d.job).collect();
    assert_eq!(
        order,
        (1..=10).collect::<Vec<_>>(),
        "a channel is a FIFO queue"
    );
}

#[test]
fn no_jobs_means_no_answers_and_no_hang() {
    let answers = within(LIMIT, "an empty run", HANG, || {
        lesson_1::run(3, Vec::new(), |n| n, Log::Quiet)
    });
    assert!(answers.is_empty());
}

#[test]
fn the_std_only_pool_also_runs_every_job_exactly_once() {
    let counts = Arc::new(RunCounts::new());
    let seen = Arc::clone(&counts);
    let answers = within(LIMIT, "the Arc<Mutex<Receiver>> pool", HANG, move || {
        lesson_1::std_only::run(4, (1..=100).collect(), move |n| {
            seen.ran(n);
            n * 2
        })
    });
    counts.assert_each_ran_once(1..=100);
    assert!(answers.iter().all(|&(_, job, answer)| answer == job * 2));
}

#[test]
fn the_std_only_pool_still_runs_jobs_side_by_side() {
    // The lock is held only while waiting for a job, not while working on it.
    let gauge = Arc::new(Gauge::new());
    let inside = Arc::clone(&gauge);
    let hint = "is the mutex held while the job runs (`while let Ok(job) = jobs.lock().unwrap().recv()` \
                keeps the guard for the whole loop body)? Then only one job runs at a time";
    within(LIMIT, "the Arc<Mutex<Receiver>> pool", hint, move || {
        lesson_1::std_only::run(3, (1..=9).collect(), move |n| {
            let _running = inside.enter();
            inside.wait_for_peak(3, Duration::from_secs(5));
            n
        })
    });
    assert_eq!(
        gauge.max(),
        3,
        "is the mutex held while the job runs? then only one job can run at a time"
    );
}
