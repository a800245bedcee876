//! Add workers and watch: the same jobs through lesson 1's pool with more and more workers,
//! CPU-bound and sleep-bound, and the sleep-bound jobs through a pool that is already running.

use crate::spin;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

// ANCHOR: sweeps
/// `jobs` CPU-bound jobs of `rounds` steps each through lesson 1's pool with `workers` threads;
/// returns how many ran.
pub fn cpu_bound(workers: usize, jobs: u64, rounds: u64) -> u64 {
    lesson_1::run(
        workers,
        (0..jobs).collect(),
        move |n| spin(n, rounds),
        lesson_1::Log::Quiet,
    )
    .len() as u64
}

/// `jobs` jobs that each sleep `sleep` through lesson 1's pool with `workers` threads; returns
/// how many ran.
pub fn sleep_bound(workers: usize, jobs: u64, sleep: Duration) -> u64 {
    lesson_1::run(
        workers,
        (0..jobs).collect(),
        move |n| lesson_1::double_slowly(n, sleep),
        lesson_1::Log::Quiet,
    )
    .len() as u64
}
// ANCHOR_END: sweeps

// ANCHOR: running
/// The same sleep-bound jobs through a pool that is already running: every worker is started
/// and waiting before the clock starts, as in a long-lived pool, so the time is the jobs' alone
/// (from the first job sent to the last answer back), with no thread start in it.
pub fn sleep_bound_running(workers: usize, jobs: u64, sleep: Duration) -> Duration {
    let (job_tx, job_rx) = crossbeam_channel::unbounded::<u64>();
    let (done_tx, done_rx) = crossbeam_channel::unbounded::<u64>();
    let ready = Arc::new(Barrier::new(workers + 1));
    let handles: Vec<_> = (0..workers)
        .map(|_| {
            let (jobs, done, ready) = (job_rx.clone(), done_tx.clone(), Arc::clone(&ready));
            thread::spawn(move || {
                ready.wait();
                for n in jobs {
                    // The receiver below outlives every job; a failed send cannot happen.
                    let _ = done.send(lesson_1::double_slowly(n, sleep));
                }
            })
        })
        .collect();
    drop(done_tx);
    ready.wait(); // Every worker is up and about to wait on the queue.
    let start = Instant::now();
    for n in 0..jobs {
        job_tx.send(n).expect("the workers hold the receiver");
    }
    let answered = done_rx.iter().take(jobs as usize).count() as u64;
    let took = start.elapsed();
    drop(job_tx); // Closes the queue: the workers' loops end.
    for handle in handles {
        handle.join().expect("a sleeping job never panics");
    }
    assert_eq!(answered, jobs, "every job answers once");
    took
}
// ANCHOR_END: running

/// The least time `jobs` jobs of `each` can take on `workers` workers: whole rounds of jobs.
pub fn ideal(workers: usize, jobs: u64, each: Duration) -> Duration {
    each * jobs.div_ceil(workers as u64) as u32
}
