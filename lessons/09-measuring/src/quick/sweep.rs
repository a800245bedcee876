//! Add workers and watch (`--sweep`): time against worker count, CPU-bound and sleep-bound.

use crate::quick::args::DEBUG;
use course_support::human;
use std::time::{Duration, Instant};

// ANCHOR: sweep
/// Add workers and watch: the same jobs through lesson 1's pool with more and more workers.
pub fn sweep() {
    let (cpu_jobs, rounds) = if DEBUG {
        (8, 1_000)
    } else {
        (lesson_9::CPU_JOBS, lesson_9::CPU_ROUNDS)
    };
    let (sleep_jobs, sleep) = if DEBUG {
        (40, Duration::from_millis(1))
    } else {
        (lesson_9::SLEEP_JOBS, lesson_9::SLEEP)
    };
    println!("Lesson 9: add workers and watch");
    println!(
        "This machine runs {} threads at once (available_parallelism).\n",
        lesson_9::cores()
    );
    println!("CPU-bound: {cpu_jobs} jobs of {rounds} xorshift steps each, lesson 1's pool.");
    let mut first = None;
    for workers in lesson_9::CPU_WORKERS {
        let clock = Instant::now();
        let ran = lesson_9::cpu_bound(workers, cpu_jobs, rounds);
        let took = clock.elapsed();
        assert_eq!(ran, cpu_jobs, "every job runs once");
        let base = *first.get_or_insert(took);
        let noun = if workers == 1 { "worker " } else { "workers" };
        println!(
            "  {workers:>3} {noun} took {:<8} {}",
            human(took),
            bar(took, base)
        );
    }
    println!(
        "\nSleep-bound: {sleep_jobs} jobs that each sleep {}, lesson 1's pool.",
        human(sleep)
    );
    for workers in lesson_9::SLEEP_WORKERS {
        let clock = Instant::now();
        let ran = lesson_9::sleep_bound(workers, sleep_jobs, sleep);
        let took = clock.elapsed();
        assert_eq!(ran, sleep_jobs, "every job runs once");
        let ideal = lesson_9::ideal(workers, sleep_jobs, sleep);
        println!(
            "  {workers:>3} workers took {:<8} (ideal {})",
            human(took),
            human(ideal)
        );
    }
}
// ANCHOR_END: sweep

/// A bar 40 characters long for `base`, and in proportion for `took`.
fn bar(took: Duration, base: Duration) -> String {
    let len = (took.as_secs_f64() / base.as_secs_f64().max(1e-9) * 40.0).round() as usize;
    "█".repeat(len.clamp(1, 80))
}
