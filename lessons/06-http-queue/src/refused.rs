//! What the queue says when it will not take a task: [`Refused`], which hands the task back,
//! and its [`Reason`].

use crate::task::TaskSpec;

/// Why the queue turned a task away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The queue is full: the workers are behind. Try again later.
    Full,
    /// Shutdown has begun (or every worker is gone): this queue takes no more tasks.
    Closed,
}

/// A task the queue did not take, handed back with the reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    /// The task as it was asked for, untouched.
    pub spec: TaskSpec,
    /// Why it was not taken.
    pub reason: Reason,
}
