//! # Lesson 5: the pool on tokio
//!
//! The same pool as before, built from async tasks instead of threads: a bounded
//! `tokio::sync::mpsc` queue feeds a fixed set of worker tasks, and every job ends as done,
//! failed, timed out or cancelled. New since lesson 4: tasks instead of threads,
//! `tokio::select!` instead of crossbeam's, a `CancellationToken` instead of a cancel channel,
//! `tokio::time::timeout` instead of `after`, `spawn_blocking` for CPU-heavy work, and a second
//! shape, [`run_with_permits`], that starts a task per job and bounds them with a `Semaphore`.
//! Run it with `cargo run -p lesson-5`, and `cargo run --release -p lesson-5 -- --compare` to
//! weigh threads against tasks.
//!
//! ```
//! use lesson_5::{Config, Pool};
//!
//! let runtime = tokio::runtime::Runtime::new().unwrap();
//! runtime.block_on(async {
//!     let pool = Pool::new(
//!         Config::new(2, 8),
//!         |n: u64, _token| async move {
//!             if n % 2 == 0 { Ok(()) } else { Err(format!("{n} is odd")) }
//!         },
//!         |_outcome| {},
//!     );
//!     for n in 1..=6 {
//!         pool.submit(n).await.expect("nobody cancelled the pool");
//!     }
//!     let report = pool.shutdown().await;
//!     assert_eq!((report.completed(), report.failed(), report.cancelled()), (3, 3, 0));
//! });
//! ```
//!
//! ## How the pieces fit
//!
//! A job's way through the pool, one file each:
//!
//! - `config.rs`: how the pool is set up ([`Config`]).
//! - `pool.rs`: the [`Pool`] itself, its queue and its worker tasks, and starting them.
//! - `pool/submit.rs`: the way in, [`Pool::submit`]; a job the pool cannot take comes back
//!   inside a [`Rejected`].
//! - `pool/worker.rs`: the loop each worker task runs, which waits on the queue *and* the token.
//! - `runner.rs`: running one job, with its own token and time limit; both shapes use it.
//! - `pool/shutdown.rs`: the way out, [`Pool::cancel`] and [`Pool::shutdown`].
//! - `permits.rs`: the other shape, [`run_with_permits`]: a task per job, bounded by a
//!   semaphore.
//! - `blocking.rs`: CPU-heavy work on tokio's blocking threads ([`crunch`]).
//! - From lesson 4, as they are: how a job ended ([`Status`]), what came of it ([`Outcome`]),
//!   and a refused job, handed back with its [`Reason`] ([`Rejected`]).
//! - `report.rs`: what a run found ([`Report`]).

mod blocking;
mod config;
mod permits;
mod pool;
mod report;
mod runner;

pub use blocking::{busy_loop, crunch};
pub use config::Config;
pub use permits::run_with_permits;
pub use pool::Pool;
pub use report::Report;

// How a job ends, what comes back of it, and a refused job: lesson 4's types, as they are. A pool
// on tokio ends its jobs in the same four ways as a pool on threads, and says so in the same words.
pub use lesson_4::{Outcome, Reason, Rejected, Status};
