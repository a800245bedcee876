//! How a job ends, and what comes back of it.

use std::time::Duration;

// ANCHOR: outcome
/// How a job ended. Every job the pool accepts ends in exactly one of these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// The job ran and succeeded.
    Completed,
    /// The job ran and returned this error.
    Failed(String),
    /// The job ran past its own time limit: it was stopped there, or, if it never gave the
    /// pool a chance to stop it, its late result is discarded.
    TimedOut,
    /// The pool was cancelled before the job ended.
    Cancelled {
        /// Whether the job was stopped while running (or else never began).
        started: bool,
    },
}

/// What came of one job; the job itself comes back with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome<J> {
    /// The job as it was submitted.
    pub job: J,
    /// The worker task that took it; `None` if no worker did (a job still queued when the pool
    /// was cancelled, or any job of the permit shape, which has no workers).
    pub worker: Option<usize>,
    /// How it ended.
    pub status: Status,
    /// When it started (or was found cancelled), measured from the pool's start.
    pub started: Duration,
    /// How long it ran (zero if it never started).
    pub took: Duration,
}
// ANCHOR_END: outcome
