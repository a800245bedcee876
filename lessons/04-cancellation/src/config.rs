//! How a pool is set up.

use std::time::Duration;

// ANCHOR: config
/// How a pool is set up: lesson 3's two numbers, and the three limits that can cancel it.
#[derive(Debug, Clone)]
pub struct Config {
    /// Worker threads.
    pub workers: usize,
    /// How many jobs the queue holds before `submit` has to wait.
    pub capacity: usize,
    /// Each job's own time limit, counted from when the job starts.
    pub job_timeout: Option<Duration>,
    /// The whole pool's time limit, counted from when it starts: when it passes, the pool is
    /// cancelled.
    pub deadline: Option<Duration>,
    /// Cancel the pool when a job fails or times out (Go's `errgroup.WithContext`).
    pub cancel_on_error: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            workers: 4,
            capacity: 4,
            job_timeout: None,
            deadline: None,
            cancel_on_error: false,
        }
    }
}
// ANCHOR_END: config
