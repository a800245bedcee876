//! The one error both pools share: a configuration they refuse, with a message a person can
//! act on.

use crate::{MAX_AGING_STEP, MAX_WORKERS};
use std::fmt;

// ANCHOR: config_error
/// A configuration a pool refuses, with a message a person can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// A pool that may never run a worker: `max` (or `workers`) is 0.
    NoWorkers,
    /// More than [`MAX_WORKERS`].
    TooManyWorkers(usize),
    /// A dynamic pool whose floor is above its ceiling.
    MinAboveMax {
        /// The floor asked for.
        min: usize,
        /// The ceiling asked for.
        max: usize,
    },
    /// An idle timeout of zero would retire a worker the moment it finished a job.
    NoIdleTimeout,
    /// An aging step of 0, or above [`MAX_AGING_STEP`].
    BadAgingStep(u32),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::NoWorkers => write!(f, "a pool needs room for at least 1 worker"),
            ConfigError::TooManyWorkers(n) => {
                write!(f, "{n} workers is more than the limit of {MAX_WORKERS}")
            }
            ConfigError::MinAboveMax { min, max } => write!(
                f,
                "the minimum of {min} workers is above the maximum of {max}"
            ),
            ConfigError::NoIdleTimeout => {
                write!(f, "the idle timeout must be longer than 0")
            }
            ConfigError::BadAgingStep(n) => write!(
                f,
                "an aging step must be between 1 and {MAX_AGING_STEP} arrivals, not {n}"
            ),
        }
    }
}

impl std::error::Error for ConfigError {}
// ANCHOR_END: config_error
