//! How a run is set up.

use std::time::Duration;

// ANCHOR: config
/// How a run is set up.
#[derive(Debug, Clone)]
pub struct Config {
    /// Worker threads.
    pub workers: usize,
    /// Each job's own time limit.
    pub job_timeout: Option<Duration>,
    /// The whole run's time limit: when it passes, the run is cancelled.
    pub deadline: Option<Duration>,
    /// Cancel the run when a job fails or times out (Go's `errgroup.WithContext`).
    pub cancel_on_error: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            workers: 4,
            job_timeout: None,
            deadline: None,
            cancel_on_error: false,
        }
    }
}
// ANCHOR_END: config
