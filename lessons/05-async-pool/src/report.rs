//! What a run found: an outcome for every job the pool accepted, and the counts that check it.
//! Both shapes report this way: the pool's `shutdown` and `run_with_permits`.

use crate::{Outcome, Status};

/// What shutdown found: an outcome for every job the pool accepted.
#[derive(Debug)]
pub struct Report<J> {
    /// One per job, in the order they ended.
    pub outcomes: Vec<Outcome<J>>,
    /// How many jobs the pool accepted.
    pub submitted: usize,
    /// Worker tasks (or, in the permit shape, job tasks) that ended in a panic; each lost the
    /// job it was running.
    pub panicked: usize,
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

    /// Jobs stopped because they ran out of time.
    pub fn timed_out(&self) -> usize {
        self.count(|s| *s == Status::TimedOut)
    }

    /// Jobs stopped, or never started, because the pool was cancelled.
    pub fn cancelled(&self) -> usize {
        self.count(|s| matches!(s, Status::Cancelled { .. }))
    }

    /// Accepted jobs with no outcome: only possible when a job panicked.
    pub fn lost(&self) -> usize {
        self.submitted - self.outcomes.len()
    }

    fn count(&self, f: impl Fn(&Status) -> bool) -> usize {
        self.outcomes.iter().filter(|o| f(&o.status)).count()
    }
}
