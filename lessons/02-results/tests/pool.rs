//! The promises lesson 2's pool keeps, checked with counters rather than timing.

use course_support::testing::{Gauge, RunCounts, within};
use lesson_2::{Job, JobError, Outcome, run, simulate};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(10);
const HANG: &str = "does something still hold a result sender, so the collector's loop never ends?";

fn jobs(n: u64) -> Vec<Job> {
    (1..=n)
        .map(|id| Job {
            id,
            input: id,
            work: Duration::ZERO,
            fails: id % 5 == 0,
        })
        .collect()
}

#[test]
fn every_job_runs_exactly_once() {
    let counts = Arc::new(RunCounts::new());
    let seen = Arc::clone(&counts);
    let outcomes = within(LIMIT, "200 jobs on 4 workers", HANG, move || {
        run(
            4,
            jobs(200),
            move |job| {
                seen.ran(job.id);
                simulate(job)
            },
            |_| {},
        )
    });
    counts.assert_each_ran_once(1..=200);
    assert_eq!(outcomes.len(), 200);
}

#[test]
fn the_results_stream_ends_once_the_workers_are_done() {
    // `run` returns only when the results loop has ended; if any sender outlived the workers
    // this would hang, and `within` would fail it.
    let outcomes = within(LIMIT, "collecting results", HANG, || {
        run(3, jobs(30), simulate, |_| {})
    });
    assert_eq!(
        outcomes.len(),
        30,
        "the loop ended before every result arrived"
    );
}

#[test]
fn results_come_back_in_job_order_with_their_worker_and_error() {
    let outcomes = within(LIMIT, "collecting results", HANG, || {
        run(4, jobs(40), simulate, |_| {})
    });
    let ids: Vec<u64> = outcomes.iter().map(|o| o.job).collect();
    assert_eq!(
        ids,
        (1..=40).collect::<Vec<_>>(),
        "outcomes should be sorted by job id"
    );
    for o in &outcomes {
        assert!((1..=4).contains(&o.worker), "no worker {}", o.worker);
        if o.job % 5 == 0 {
            assert_eq!(
                o.result,
                Err(JobError {
                    job: o.job,
                    reason: "simulated failure".into()
                })
            );
        } else {
            assert_eq!(o.result, Ok(o.job * 2));
        }
    }
}

#[test]
fn every_outcome_is_reported_as_it_arrives_exactly_once() {
    let mut seen: Vec<u64> = Vec::new();
    let outcomes = run(2, jobs(25), simulate, |o: &Outcome| seen.push(o.job));
    seen.sort_unstable();
    assert_eq!(seen, (1..=25).collect::<Vec<_>>());
    assert_eq!(outcomes.len(), 25);
}

#[test]
fn no_more_than_workers_jobs_run_at_once_and_the_pool_gets_there() {
    for workers in [1, 2, 5] {
        let gauge = Gauge::new();
        let short = AtomicBool::new(false);
        // Scoped threads let the work borrow the gauge: no Arc needed (that is the point).
        run(
            workers,
            jobs(4 * workers as u64),
            |job| {
                let _running = gauge.enter();
                if !gauge.wait_for_peak(workers, Duration::from_secs(5)) {
                    short.store(true, Ordering::SeqCst);
                }
                Ok(job.input)
            },
            |_| {},
        );
        assert!(
            gauge.max() <= workers,
            "{} ran at once with {workers} workers",
            gauge.max()
        );
        assert!(
            !short.load(Ordering::SeqCst),
            "with {workers} workers the pool never ran {workers} jobs at once (peak {})",
            gauge.max()
        );
    }
}

#[test]
fn a_failed_job_does_not_stop_the_others() {
    let ran = AtomicUsize::new(0);
    let outcomes = run(
        2,
        jobs(10),
        |job| {
            ran.fetch_add(1, Ordering::SeqCst);
            Err(JobError {
                job: job.id,
                reason: "always".into(),
            })
        },
        |_| {},
    );
    assert_eq!(ran.load(Ordering::SeqCst), 10);
    assert!(outcomes.iter().all(|o| o.result.is_err()));
}

#[test]
fn no_jobs_means_no_outcomes_and_no_hang() {
    let outcomes = within(LIMIT, "an empty run", HANG, || {
        run(3, Vec::new(), simulate, |_| {})
    });
    assert!(outcomes.is_empty());
}
