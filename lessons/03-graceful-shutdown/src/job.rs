//! How a job ends, and what comes back of it.

use std::time::Duration;

// ANCHOR: outcome
/// How a job ended. New: a job the pool accepted always ends in exactly one of these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// The job ran and succeeded.
    Completed,
    /// The job ran and returned this error.
    Failed(String),
    /// Stop-now came before the job started, so it never ran.
    Cancelled,
}

/// What came of one job; the job itself comes back with it, so nothing is dropped unseen.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome<J> {
    /// The job as it was submitted.
    pub job: J,
    /// The worker that ran it, or that found it in the queue after stop-now.
    pub worker: usize,
    /// How it ended.
    pub status: Status,
    /// When the worker took it, measured from the pool's start.
    pub started: Duration,
    /// How long it ran (zero when cancelled).
    pub took: Duration,
}
// ANCHOR_END: outcome
