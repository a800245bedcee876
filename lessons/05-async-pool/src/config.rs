//! How the pool is set up.

use std::time::Duration;

/// How the pool is set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// How many worker tasks take jobs from the queue.
    pub workers: usize,
    /// How many jobs wait in the queue before `submit` has to wait too.
    pub capacity: usize,
    /// New: how long one job may run before it is stopped and marked timed out.
    pub job_timeout: Option<Duration>,
    /// New: how long the whole run may take, from the pool's start; when it has passed, the
    /// pool cancels itself, as Go's `context.WithTimeout` does.
    pub deadline: Option<Duration>,
}

impl Config {
    /// `workers` worker tasks behind a queue of `capacity`, with no time limits.
    pub fn new(workers: usize, capacity: usize) -> Config {
        Config {
            workers,
            capacity,
            job_timeout: None,
            deadline: None,
        }
    }
}
