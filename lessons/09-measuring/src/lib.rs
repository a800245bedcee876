//! # Lesson 9: measuring and tuning
//!
//! Every claim the course makes about speed comes from here: criterion benchmarks that push
//! trivial jobs through each pool of the course and through two crates, a thread per job
//! against a pool, worker-count sweeps for CPU-bound and sleep-bound jobs, and counters with
//! and without cache-line padding. What is new is measuring itself, plus the two pools that
//! win on tiny jobs: a [`batched`] pool and a [`stealing`] pool. Run `cargo bench -p lesson-9`
//! for the full measurement, `cargo run --release -p lesson-9` for a quick table with peak
//! memory, and `-- --sweep` to add workers and watch; `cargo run --release -p bench-plot --
//! book/src/img/lesson-9` turns the benchmark results into the book's plots and tables.
//!
//! ```
//! use lesson_9::shapes::Shape;
//!
//! // Every shape runs every job exactly once, whatever its machinery.
//! for shape in Shape::POOLS.into_iter().chain(Shape::QUEUES) {
//!     assert_eq!(shape.run(2, 100), 100, "{shape:?}");
//! }
//! ```

use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

pub mod batched;
pub mod go;
pub mod groups;
pub mod queues;
pub mod shapes;
pub mod sharing;
pub mod stealing;
pub mod svg;

/// Workers in the per-job comparisons: as in lesson 7's benchmark, so the figures line up.
pub const WORKERS: usize = 4;

/// Jobs per iteration in the per-job benchmarks: start-up and shutdown spread over these.
pub const JOBS: u64 = 10_000;

/// Jobs per iteration when every job gets a thread of its own (fewer: each costs a thread).
pub const SPAWN_JOBS: u64 = 1_000;

/// Worker counts of the CPU-bound sweep.
pub const CPU_WORKERS: [usize; 5] = [1, 2, 3, 4, 8];

/// Jobs in the CPU-bound sweep.
pub const CPU_JOBS: u64 = 200;

/// Rounds of arithmetic in one CPU-bound job: on the order of 100 µs in a release build.
pub const CPU_ROUNDS: u64 = 100_000;

/// Worker counts of the sleep-bound sweep.
pub const SLEEP_WORKERS: [usize; 4] = [25, 50, 100, 200];

/// Jobs in the sleep-bound sweep.
pub const SLEEP_JOBS: u64 = 1_000;

/// How long each sleep-bound job sleeps.
pub const SLEEP: Duration = Duration::from_millis(10);

/// Threads in the false-sharing benchmark.
pub const SHARING_THREADS: usize = 2;

/// Increments per thread in the false-sharing benchmark.
pub const INCREMENTS: u64 = 1_000_000;

/// The trivial job: doubles a number. `black_box` stops the compiler from doing it for us at
/// compile time, so every pool really calls it once per job.
pub fn trivial(n: u64) -> u64 {
    std::hint::black_box(n) * 2
}

/// A CPU-bound job: `rounds` steps of a xorshift generator seeded with `n`; each step depends
/// on the one before, so nothing can skip or overlap them.
pub fn spin(n: u64, rounds: u64) -> u64 {
    let mut x = n | 1;
    for _ in 0..rounds {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    std::hint::black_box(x)
}

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

/// A `kB` line of `/proc/self/status`, such as `VmHWM` (peak resident memory) or `VmRSS`;
/// `None` where there is no such file (not Linux).
pub fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
}

/// How many threads this machine runs at once, as the standard library sees it (1 if unknown).
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
