//! The batched and work-stealing pools keep the promises every pool of the course keeps.

use course_support::testing::{Gauge, RunCounts, within};
use lesson_9::shapes::Shape;
use lesson_9::{batched, stealing};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(20);

/// Runs `pool` over `0..jobs` with a work function that records every run, inside a bounded wait.
fn every_job_once(name: &'static str, jobs: u64, pool: fn(Vec<u64>, Arc<RunCounts>) -> Vec<u64>) {
    let counts = Arc::new(RunCounts::new());
    let seen = Arc::clone(&counts);
    let mut answers = within(
        LIMIT,
        name,
        "a worker that never sees the queue close (a sender left alive, or `closed` never read)",
        move || pool((0..jobs).collect(), seen),
    );
    counts.assert_each_ran_once(0..jobs);
    answers.sort_unstable();
    let expected: Vec<u64> = (0..jobs).map(|n| n * 2).collect();
    assert_eq!(
        answers, expected,
        "{name}: one answer per job, each the job doubled"
    );
}

#[test]
fn the_batched_pool_runs_every_job_exactly_once() {
    // 1000 jobs in chunks of 7: the last chunk is short, which an off-by-one would drop.
    every_job_once("batched::run", 1000, |numbers, counts| {
        batched::run(3, 7, numbers, move |n| {
            counts.ran(n);
            n * 2
        })
    });
}

#[test]
fn the_work_stealing_pool_runs_every_job_exactly_once() {
    every_job_once("stealing::run", 5000, |numbers, counts| {
        stealing::run(4, numbers, move |n| {
            counts.ran(n);
            n * 2
        })
    });
}

#[test]
fn both_pools_finish_with_no_jobs_and_with_fewer_jobs_than_workers() {
    for jobs in [0, 1, 2] {
        every_job_once("batched::run", jobs, |numbers, counts| {
            batched::run(4, 256, numbers, move |n| {
                counts.ran(n);
                n * 2
            })
        });
        every_job_once("stealing::run", jobs, |numbers, counts| {
            stealing::run(4, numbers, move |n| {
                counts.ran(n);
                n * 2
            })
        });
    }
}

#[test]
fn the_work_stealing_pool_runs_as_many_jobs_at_once_as_it_has_workers() {
    // Each job waits until 3 are running together: only a pool that really runs 3 at once
    // gets past the first jobs, and the gauge shows it never runs more.
    let gauge = Arc::new(Gauge::new());
    let reached = Arc::new(AtomicBool::new(true));
    let (g, r) = (Arc::clone(&gauge), Arc::clone(&reached));
    within(
        LIMIT,
        "stealing::run with jobs that wait for each other",
        "workers that never pick up a job while another is running",
        move || {
            stealing::run(3, (0..30).collect(), move |n| {
                let _inside = g.enter();
                if !g.wait_for_peak(3, Duration::from_secs(5)) {
                    r.store(false, Ordering::SeqCst);
                }
                n
            })
        },
    );
    assert!(
        reached.load(Ordering::SeqCst),
        "3 workers never ran 3 jobs at once: the pool runs jobs one at a time"
    );
    assert_eq!(gauge.max(), 3, "never more jobs at once than workers");
}

#[test]
fn the_batched_pool_runs_as_many_chunks_at_once_as_it_has_workers() {
    let gauge = Arc::new(Gauge::new());
    let reached = Arc::new(AtomicBool::new(true));
    let (g, r) = (Arc::clone(&gauge), Arc::clone(&reached));
    within(
        LIMIT,
        "batched::run with jobs that wait for each other",
        "workers that never pick up a chunk while another is running",
        move || {
            // A chunk of 1 job each, so 3 workers means 3 jobs at once.
            batched::run(3, 1, (0..30).collect(), move |n| {
                let _inside = g.enter();
                if !g.wait_for_peak(3, Duration::from_secs(5)) {
                    r.store(false, Ordering::SeqCst);
                }
                n
            })
        },
    );
    assert!(
        reached.load(Ordering::SeqCst),
        "3 workers never ran 3 jobs at once"
    );
    assert_eq!(gauge.max(), 3, "never more jobs at once than workers");
}

#[test]
fn every_shape_the_benchmarks_measure_runs_every_job() {
    for shape in Shape::POOLS.into_iter().chain(Shape::QUEUES) {
        for workers in [1, 3] {
            let ran = within(
                LIMIT,
                shape.label(),
                "a pool that does not close its queue",
                move || shape.run(workers, 1000),
            );
            assert_eq!(ran, 1000, "{} with {workers} workers", shape.label());
        }
    }
}

#[test]
fn counters_add_up_in_every_layout() {
    use lesson_9::sharing::{Layout, hammer};
    for layout in [Layout::Shared, Layout::Adjacent, Layout::Padded] {
        let total = within(LIMIT, "hammer", "a thread that never ends", move || {
            hammer(layout, 3, 10_000)
        });
        assert_eq!(total, 30_000, "{layout:?}: no increment is lost");
    }
}

#[test]
fn both_pools_write_each_answer_in_its_jobs_place() {
    // Each job's answer goes into the place beside its number: no sorting needed, and a pool
    // that mixed up the slices would put answers out of order.
    let numbers: Vec<u64> = (0..10_000).rev().collect();
    let expected: Vec<u64> = numbers.iter().map(|n| n * 3).collect();
    let given = numbers.clone();
    let batched = within(LIMIT, "batched::run", "a queue never closed", move || {
        batched::run(4, 97, given, |n| n * 3)
    });
    assert_eq!(
        batched, expected,
        "batched::run: answers out of their jobs' order"
    );
    let stolen = within(LIMIT, "stealing::run", "`closed` never read", move || {
        stealing::run(4, numbers, |n| n * 3)
    });
    assert_eq!(
        stolen, expected,
        "stealing::run: answers out of their jobs' order"
    );
}
