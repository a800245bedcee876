//! What a run did: an outcome for every job, and the counts that sum them up.

use crate::{Cause, Outcome, Status};

// ANCHOR: report
/// Everything a run did: an outcome per job, in job order, and why it was cancelled, if it was.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// One per job submitted to the run, sorted by job id.
    pub outcomes: Vec<Outcome>,
    /// Why the run was cancelled, or `None` if it ran to the end.
    pub cause: Option<Cause>,
}

impl Report {
    /// Jobs that produced an answer.
    pub fn completed(&self) -> usize {
        self.count(|s| matches!(s, Status::Completed(_)))
    }
    /// Jobs that ran and failed.
    pub fn failed(&self) -> usize {
        self.count(|s| matches!(s, Status::Failed(_)))
    }
    /// Jobs that ran past their own time limit.
    pub fn timed_out(&self) -> usize {
        self.count(|s| *s == Status::TimedOut)
    }
    /// Jobs the cancel reached, running or not yet started.
    pub fn cancelled(&self) -> usize {
        self.count(|s| matches!(s, Status::Cancelled { .. }))
    }
    fn count(&self, f: impl Fn(&Status) -> bool) -> usize {
        self.outcomes.iter().filter(|o| f(&o.status)).count()
    }
}
// ANCHOR_END: report
