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

pub mod batched;
pub mod go;
pub mod groups;
mod jobs;
mod machine;
pub mod queues;
pub mod shapes;
pub mod sharing;
pub mod stealing;
pub mod svg;
mod sweeps;

pub use jobs::{spin, trivial};
pub use machine::{cores, status_kib};
pub use sweeps::{cpu_bound, ideal, sleep_bound, sleep_bound_running};

use std::time::Duration;

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
