//! # Lesson 3: graceful shutdown
//!
//! The pool becomes a type, [`Pool`], that owns its workers and the sending end of its queue, so
//! it alone decides when the queue closes: [`Pool::shutdown`] stops taking jobs and finishes
//! every queued one, [`Pool::shutdown_now`] hands queued jobs back unstarted, and dropping the
//! pool drains it too. New since lesson 2: the pool outlives a single batch, accepts jobs one at
//! a time, and accounts for every job it ever accepted, as completed, failed or cancelled.
//! Run it with `cargo run -p lesson-3`, and press Ctrl-C (once, or twice) while it runs.
//!
//! ```
//! use lesson_3::Pool;
//!
//! let pool = Pool::new(2, 8, |_worker, n: &u64| if n % 2 == 0 { Ok(()) } else { Err("odd".into()) });
//! for n in 1..=6 {
//!     pool.submit(n).expect("the workers are alive");
//! }
//! let report = pool.shutdown();
//! assert_eq!((report.completed(), report.failed(), report.cancelled()), (3, 3, 0));
//! ```
//!
//! ## How the pieces fit
//!
//! A job's way through the pool, one file each:
//!
//! - `pool.rs`: the [`Pool`] itself, its queue and its workers, and starting them.
//! - `pool/submit.rs`: the way in, [`Pool::submit`] and [`Pool::submit_or_stop`]; a job the pool
//!   cannot take comes back inside a [`Rejected`].
//! - `pool/worker.rs`: the loop each worker runs, which checks the stop-now flag between jobs.
//! - `pool/shutdown.rs`: the way out, [`Pool::shutdown`], [`Pool::shutdown_now`], the
//!   [`StopNow`] handle, and `Drop`.
//! - `job.rs`: how a job ended ([`Status`]) and what came of it ([`Outcome`]).
//! - `rejected.rs`: a refused job, handed back with its [`Reason`].
//! - `report.rs`: what shutdown found ([`Report`]).
//! - `sync.rs` swaps std's threads and atomics and crossbeam's channel for loom's in the model
//!   tests.

mod job;
mod pool;
mod rejected;
mod report;
mod sync;

pub use job::{Outcome, Status};
pub use pool::{Pool, StopNow};
pub use rejected::{Reason, Rejected};
pub use report::Report;

/// The loom-built channel, for model tests that call `submit_or_stop`.
#[cfg(loom)]
#[doc(hidden)]
pub use sync::channel as loom_channel;
