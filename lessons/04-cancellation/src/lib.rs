//! # Lesson 4: cancellation and deadlines
//!
//! Lesson 3's [`Pool`] grows a [`CancelToken`], Rust's answer to Go's `context.Context`: one
//! call to [`CancelToken::cancel`] wakes every worker waiting for a job, every job waiting
//! inside its work and a `submit` waiting for room, and each job ends in exactly one state:
//! done, failed, timed out or cancelled. New since lesson 3: workers wait on the queue *and* the
//! token with `select!`, jobs get a per-job timeout and a [`Ctx`] to wait on, the whole pool can
//! have a deadline, and the first failure can cancel the rest (Go's `errgroup.WithContext`).
//! Run it with `cargo run -p lesson-4`, then add `-- --deadline-ms 400` or `-- --cancel-on-error`.
//!
//! ```
//! use lesson_4::{Cause, Config, JobError, Pool};
//!
//! let config = Config { workers: 1, capacity: 8, cancel_on_error: true, ..Config::default() };
//! let pool = Pool::new(config, |_worker, n: &u64, _ctx| {
//!     if *n == 2 { Err(JobError::Failed("two".into())) } else { Ok(()) }
//! });
//! // Once job 2 has failed, the pool is cancelled and hands later jobs back.
//! let refused = (1..=6).filter(|&n| pool.submit(n).is_err()).count();
//! let report = pool.shutdown();
//! assert_eq!(report.cause, Some(Cause::FirstError { job: 2 }));
//! assert_eq!((report.completed(), report.failed()), (1, 1));
//! assert_eq!(report.cancelled() + refused, 4, "jobs 3 to 6 never ran");
//! ```
//!
//! ## How the pieces fit
//!
//! A job's way through the pool, one file each (the same files as lesson 3's, and two more):
//!
//! - `pool.rs`: the [`Pool`] itself, its queue, its workers and its deadline, and starting them.
//! - `pool/submit.rs`: the way in, [`Pool::submit`], which waits for room or the cancel; a job
//!   the pool cannot take comes back inside a [`Rejected`].
//! - `pool/worker.rs`: the loop each worker runs, which waits on the queue *and* the token.
//! - `pool/shutdown.rs`: the way out, [`Pool::shutdown`], [`Pool::shutdown_now`] and `Drop`,
//!   which report the jobs a cancel left queued.
//! - `job.rs`: how a job ended ([`Status`]) and what came of it ([`Outcome`]); the [`Ctx`] it
//!   runs with; and the demo's [`Job`] and its [`simulate`]d work.
//! - `rejected.rs`: a refused job, handed back with its [`Reason`].
//! - `report.rs`: what shutdown found ([`Report`]).
//! - `token.rs`: new, the [`CancelToken`] every thread of the pool waits on, and the [`Cause`]
//!   it keeps.
//! - `config.rs`: new, how a pool is set up ([`Config`]).

mod config;
mod job;
mod pool;
mod rejected;
mod report;
mod token;

pub use config::Config;
pub use job::{Ctx, HasId, Interrupted, Job, JobError, Outcome, Status, simulate};
pub use pool::Pool;
pub use rejected::{Reason, Rejected};
pub use report::Report;
pub use token::{CancelToken, Cause};
