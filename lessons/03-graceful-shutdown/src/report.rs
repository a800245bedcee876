//! What shutdown found: an outcome for every job the workers took, and the counts that check it.

use crate::job::{Outcome, Status};

/// What shutdown found: an outcome for every job the workers took.
#[derive(Debug)]
pub struct Report<J> {
    /// One per job, in the order they ended.
    pub outcomes: Vec<Outcome<J>>,
    /// How many jobs the pool accepted.
    pub submitted: usize,
    /// Workers that died because a job panicked (each lost the job it was running).
    pub panicked_workers: usize,
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

    /// Jobs that were queued when stop-now came, and never started.
    pub fn cancelled(&self) -> usize {
        self.count(|s| *s == Status::Cancelled)
    }

    /// Accepted jobs with no outcome: only possible when a job panicked its worker.
    pub fn lost(&self) -> usize {
        self.submitted - self.outcomes.len()
    }

    fn count(&self, f: impl Fn(&Status) -> bool) -> usize {
        self.outcomes.iter().filter(|o| f(&o.status)).count()
    }
}
