//! What shutdown found: an outcome for every job the pool accepted, and the counts that check it.

use crate::Cause;
use crate::job::{Outcome, Status};

// ANCHOR: report
/// What shutdown found: an outcome for every job the pool accepted.
#[derive(Debug)]
pub struct Report<J> {
    /// One per job: first those the workers reported, in the order they ended, then those still
    /// queued when the pool stopped.
    pub outcomes: Vec<Outcome<J>>,
    /// How many jobs the pool accepted.
    pub submitted: usize,
    /// Workers that died because a job panicked (each lost the job it was running).
    pub panicked_workers: usize,
    /// New: why the pool was cancelled, or `None` if it never was.
    pub cause: Option<Cause>,
}

impl<J> Report<J> {
    /// Jobs that ran and succeeded.
    pub fn completed(&self) -> usize {
        self.count(|s| *s == Status::Completed)
    }

    /// Jobs that ran and failed.
    pub fn failed(&self) -> usize {
        self.count(|s| matches!(s, Status::Failed(_)))
    }

    /// New: jobs that ran past their own time limit.
    pub fn timed_out(&self) -> usize {
        self.count(|s| *s == Status::TimedOut)
    }

    /// Jobs the cancel reached, running or not yet started.
    pub fn cancelled(&self) -> usize {
        self.count(|s| matches!(s, Status::Cancelled { .. }))
    }

    /// Accepted jobs with no outcome: only possible when a job panicked its worker.
    pub fn lost(&self) -> usize {
        self.submitted - self.outcomes.len()
    }

    fn count(&self, f: impl Fn(&Status) -> bool) -> usize {
        self.outcomes.iter().filter(|o| f(&o.status)).count()
    }
}
// ANCHOR_END: report
