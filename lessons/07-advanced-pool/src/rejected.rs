//! A refused job, handed back with the reason.

use crate::Reason;
use std::time::Duration;

/// A job the pool refused, handed back untouched, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected<J> {
    /// The job.
    pub job: J,
    /// Why.
    pub reason: Reason,
    /// For a rate refusal: when a token will be free.
    pub retry_after: Option<Duration>,
}
