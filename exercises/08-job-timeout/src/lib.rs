//! # Exercise 8: a time limit for each job
//!
//! A job that may never answer needs a time limit, and a thread cannot be stopped from outside:
//! it has to *wait* in a way that something else can cut short. Write lesson 4's
//! `Ctx::sleep` on your own:
//!
//! - [`wait_or_time_out`] pretends to work for `work`, but gives up when `limit` has passed or
//!   when `cancel` becomes ready, whichever comes first, with one `crossbeam_channel::select!`
//!   over `after(work)`, `after(limit)` and `cancel`;
//! - [`run_with_timeout`] runs a batch on `workers` threads; each job gets its own limit,
//!   counted from when that job starts, so a stuck job costs its worker `limit` and no more.
//!
//! Replace each `todo!()` and run `cargo test -p ex08-job-timeout` until it passes. Stuck? Run
//! `cargo run -p course -- hint ex08-job-timeout`.

use crossbeam_channel::Receiver;
use std::time::Duration;

/// How one job's wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The work was done before the limit.
    Completed,
    /// The limit passed first; the rest of the work was abandoned.
    TimedOut,
    /// The cancel channel became ready first (a message, or its senders all gone).
    Cancelled,
}

/// One pretend job: it takes `work` to finish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Job {
    /// Unique within a run.
    pub id: u64,
    /// How long the work takes, if it is allowed to finish.
    pub work: Duration,
}

/// Waits as long as the work takes, but no longer than `limit`, and not at all once `cancel`
/// is ready. Says which came first.
pub fn wait_or_time_out(work: Duration, limit: Duration, cancel: &Receiver<()>) -> Outcome {
    let _ = (work, limit, cancel);
    todo!(
        "select! on after(work) (Completed), after(limit) (TimedOut) and cancel (Cancelled): whichever is ready first decides"
    )
}

/// Runs every job on `workers` threads sharing one queue, each job with its own `limit`,
/// counted from the moment that job starts. Returns one `(id, outcome)` per job, in any order.
///
/// # Panics
///
/// If `workers` is 0.
pub fn run_with_timeout(workers: usize, jobs: Vec<Job>, limit: Duration) -> Vec<(u64, Outcome)> {
    let _ = (workers, jobs, limit);
    todo!(
        "queue every job and close the queue, run `workers` scoped threads that call wait_or_time_out(job.work, limit, &never()) for each job they take, and collect one (id, outcome) per job"
    )
}
