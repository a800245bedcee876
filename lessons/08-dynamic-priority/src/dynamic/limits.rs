//! The dynamic pool's limits: how many workers, and how long one may wait for work.

use crate::ConfigError;
use std::time::Duration;

// ANCHOR: limits
/// How many workers the pool may have, and how long a worker waits for work before retiring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Workers kept alive even when there is nothing to do (0 is allowed: a pool that sleeps).
    pub min: usize,
    /// Workers the pool never goes above, however long the queue.
    pub max: usize,
    /// How long a worker above `min` waits for a job before it retires.
    pub idle: Duration,
}

impl Limits {
    /// Checks the limits: `1 <= max <= MAX_WORKERS`, `min <= max`, and an idle timeout above 0.
    pub fn check(&self) -> Result<(), ConfigError> {
        match self.max {
            0 => return Err(ConfigError::NoWorkers),
            n if n > crate::MAX_WORKERS => return Err(ConfigError::TooManyWorkers(n)),
            _ => {}
        }
        if self.min > self.max {
            return Err(ConfigError::MinAboveMax {
                min: self.min,
                max: self.max,
            });
        }
        if self.idle.is_zero() {
            return Err(ConfigError::NoIdleTimeout);
        }
        Ok(())
    }
}
// ANCHOR_END: limits
