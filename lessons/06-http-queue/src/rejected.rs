//! What the queue says when it will not take a task: [`Rejected`], which hands the task back,
//! and its [`Reason`]: the names every lesson gives a refusal.

use crate::task::TaskSpec;
use std::fmt;

/// Why the queue turned a task away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The queue is full: the workers are behind. Try again later.
    Full,
    /// Shutdown has begun (or every worker is gone): this queue takes no more tasks.
    Closed,
}

/// A task the queue did not take, handed back with the reason.
///
/// Like std's and crossbeam's `SendError`, it is an error ([`Display`](fmt::Display) and
/// [`std::error::Error`]) that carries the refused value, so nothing is silently dropped.
///
/// ```
/// use lesson_6::{Reason, Rejected, TaskSpec};
///
/// let spec = TaskSpec { duration_ms: 250, fail: false };
/// let rejected = Rejected { spec, reason: Reason::Full };
/// assert_eq!(rejected.to_string(), "task refused: the queue is full");
/// let error: Box<dyn std::error::Error> = Box::new(rejected);
/// assert_eq!(error.to_string(), "task refused: the queue is full");
/// assert_eq!(rejected.into_inner(), spec, "the task comes back untouched");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rejected {
    /// The task as it was asked for, untouched.
    pub spec: TaskSpec,
    /// Why it was not taken.
    pub reason: Reason,
}

impl Rejected {
    /// The task, handed back untouched, so the caller can send it again later or elsewhere.
    pub fn into_inner(self) -> TaskSpec {
        self.spec
    }
}

impl fmt::Display for Rejected {
    /// One line that says why, such as `task refused: the queue is full`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.reason {
            Reason::Full => f.write_str("task refused: the queue is full"),
            Reason::Closed => f.write_str("task refused: the queue is closed"),
        }
    }
}

impl std::error::Error for Rejected {}
