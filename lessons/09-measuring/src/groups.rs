//! The benchmarks' names: each criterion group, and the pools or cases in it. `benches/pools.rs`
//! writes its results under these names and `tools/bench-plot` reads them back under the same
//! ones, so the two cannot disagree.

use crate::shapes::Shape;
use crate::sharing::Layout;

/// Group: trivial jobs through each pool.
pub const TRIVIAL: &str = "trivial_jobs";
/// Group: the same pools at [`MILLION`] jobs per iteration.
pub const TRIVIAL_MILLION: &str = "trivial_jobs_million";
/// The jobs per iteration of the [`TRIVIAL_MILLION`] group.
pub const MILLION: u64 = 1_000_000;
/// Group: the queue's hand-off against its bound.
pub const QUEUES: &str = "queues";
/// Group: a thread per job against pools.
pub const SPAWN: &str = "thread_per_job";
/// Group: CPU-bound jobs against the worker count.
pub const CPU: &str = "cpu_sweep";
/// Group: sleep-bound jobs against the worker count.
pub const SLEEPY: &str = "sleep_sweep";
/// Group: the same sleep-bound jobs through a pool that is already running.
pub const SLEEPY_RUNNING: &str = "sleep_running";
/// Group: counters shared, side by side, and padded.
pub const SHARING: &str = "false_sharing";
/// Group: one reading of the clock, which lesson 1's pool does twice per job.
pub const CLOCK: &str = "clock";
/// The one benchmark of the [`CLOCK`] group.
pub const CLOCK_NOW: &str = "instant-now";

/// The pools of the [`TRIVIAL`] group: all but a thread per job, which has its own group.
pub const TRIVIAL_SHAPES: [Shape; 10] = [
    Shape::Lesson1,
    Shape::GoShape,
    Shape::StdMutex,
    Shape::Advanced,
    Shape::AdvancedRoomy,
    Shape::AdvancedAll,
    Shape::Batched,
    Shape::Stealing,
    Shape::Threadpool,
    Shape::Rayon,
];

/// The shapes of the [`SPAWN`] group.
pub const SPAWN_SHAPES: [Shape; 3] = [Shape::ThreadPerJob, Shape::Lesson1, Shape::Batched];

/// The cases of the [`SHARING`] group: layout, benchmark id, and what it measures.
pub const SHARING_CASES: [(Layout, &str, &str); 3] = [
    (Layout::Shared, "shared", "one shared counter"),
    (Layout::Adjacent, "adjacent", "a counter each, side by side"),
    (Layout::Padded, "padded", "a counter each, CachePadded"),
];
