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
mod error;
pub mod priority;

pub use error::ConfigError;

/// The most workers a pool will start (the same limit as the course's `--workers` flag).
pub const MAX_WORKERS: usize = course_support::cli::MAX_WORKERS;

/// The slowest aging the priority pool accepts: one level per million arrivals.
pub const MAX_AGING_STEP: u32 = 1_000_000;
