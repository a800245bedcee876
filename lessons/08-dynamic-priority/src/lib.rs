//! # Lesson 8: dynamic and priority pools
//!
//! Two variants of the pool that the Go article's comparison table names but never builds. A
//! [`dynamic::DynamicPool`] starts a worker when a job finds no free one (up to `max`), lets a
//! worker retire after an idle spell (down to `min`), and can be resized while it runs. A
//! [`priority::PriorityPool`] runs the most urgent job first from a heap, and shows that this
//! starves low-priority jobs under steady load until *aging* raises a waiting job's rank.
//! New since lesson 7: the queue is a `Mutex` and a `Condvar` around our own data structure
//! (a `VecDeque`, then a `BinaryHeap`), because a channel can neither count idle workers nor
//! reorder jobs. Run it with `cargo run -p lesson-8`.
//!
//! ```
//! use lesson_8::dynamic::{DynamicPool, Limits};
//! use std::time::Duration;
//!
//! let limits = Limits { min: 1, max: 4, idle: Duration::from_millis(20) };
//! let pool = DynamicPool::new(limits, |n: &u64| assert!(*n < 100))?;
//! for n in 0..50 {
//!     pool.submit(n).expect("the pool is open");
//! }
//! let report = pool.shutdown();
//! assert_eq!(report.ran, 50);
//! assert_eq!(report.started, report.joined, "every worker ever started was joined");
//! # Ok::<(), lesson_8::ConfigError>(())
//! ```

pub mod dynamic;
pub mod priority;

use std::fmt;

/// The most workers a pool will start (the same limit as the course's `--workers` flag).
pub const MAX_WORKERS: usize = course_support::cli::MAX_WORKERS;

/// The slowest aging the priority pool accepts: one level per million arrivals.
pub const MAX_AGING_STEP: u32 = 1_000_000;

// ANCHOR: config_error
/// A configuration a pool refuses, with a message a person can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// A pool that may never run a worker: `max` (or `workers`) is 0.
    NoWorkers,
    /// More than [`MAX_WORKERS`].
    TooManyWorkers(usize),
    /// A dynamic pool whose floor is above its ceiling.
    MinAboveMax {
        /// The floor asked for.
        min: usize,
        /// The ceiling asked for.
        max: usize,
    },
    /// An idle timeout of zero would retire a worker the moment it finished a job.
    NoIdleTimeout,
    /// An aging step of 0, or above [`MAX_AGING_STEP`].
    BadAgingStep(u32),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::NoWorkers => write!(f, "a pool needs room for at least 1 worker"),
            ConfigError::TooManyWorkers(n) => {
                write!(f, "{n} workers is more than the limit of {MAX_WORKERS}")
            }
            ConfigError::MinAboveMax { min, max } => write!(
                f,
                "the minimum of {min} workers is above the maximum of {max}"
            ),
            ConfigError::NoIdleTimeout => {
                write!(f, "the idle timeout must be longer than 0")
            }
            ConfigError::BadAgingStep(n) => write!(
                f,
                "an aging step must be between 1 and {MAX_AGING_STEP} arrivals, not {n}"
            ),
        }
    }
}

impl std::error::Error for ConfigError {}
// ANCHOR_END: config_error
