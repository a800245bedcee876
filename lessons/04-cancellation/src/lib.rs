//! # Lesson 4: cancellation and deadlines
//!
//! A [`CancelToken`] is Rust's answer to Go's `context.Context`: one call to
//! [`CancelToken::cancel`] wakes every worker waiting for a job and every job waiting inside its
//! work, and each job ends in exactly one state: done, failed, timed out or cancelled. New since
//! lesson 2 (whose batch shape this lesson keeps): workers wait on the queue *and* the token with
//! `select!`, jobs get a per-job timeout and a [`Ctx`] to wait on, the whole run can have a
//! deadline, and the first failure can cancel the rest (Go's `errgroup.WithContext`).
//! Run it with `cargo run -p lesson-4`, then add `-- --deadline-ms 400` or `-- --cancel-on-error`.
//!
//! ```
//! use std::time::Duration;
//! use lesson_4::{CancelToken, Config, Job, Cause, run, simulate};
//!
//! let jobs: Vec<Job> = (1..=6)
//!     .map(|id| Job { id, work: Duration::ZERO, fails: id == 2, stuck: false })
//!     .collect();
//! let config = Config { workers: 1, cancel_on_error: true, ..Config::default() };
//! let report = run(&config, jobs, &CancelToken::new(), simulate, |_| {});
//! assert_eq!(report.cause, Some(Cause::FirstError { job: 2 }));
//! assert_eq!((report.completed(), report.failed(), report.cancelled()), (1, 1, 4));
//! ```
//!
//! ## How the pieces fit
//!
//! One file each:
//!
//! - `token.rs`: the [`CancelToken`] every thread of a run waits on, and the [`Cause`] it keeps.
//! - `job.rs`: a [`Job`], the [`Ctx`] it runs with, how it can end ([`Status`], [`Outcome`]),
//!   and the demo's simulated work ([`simulate`]).
//! - `config.rs`: how a run is set up ([`Config`]).
//! - `run.rs`: [`run_queue`] runs the workers and the run's deadline on a queue; [`run()`] feeds
//!   it a batch and accounts for every job.
//! - `run/worker.rs`: the loop each worker runs, which waits on the queue *and* the token.
//! - `report.rs`: what a run did ([`Report`]).

mod config;
mod job;
mod report;
mod run;
mod token;

pub use config::Config;
pub use job::{Ctx, Interrupted, Job, JobError, Outcome, Status, simulate};
pub use report::Report;
pub use run::{run, run_queue};
pub use token::{CancelToken, Cause};
