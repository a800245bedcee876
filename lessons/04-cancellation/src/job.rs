//! How a job ends, and what comes back of it; what a running job is told ([`Ctx`]); and the demo's
//! job, with its simulated work.

use crate::CancelToken;
use crossbeam_channel::{after, at, never, select};
use std::time::{Duration, Instant};

// ANCHOR: job_ctx
/// Why a job's wait was cut short.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interrupted {
    /// The pool was cancelled.
    Cancelled,
    /// The job's own time limit passed.
    TimedOut,
}

/// New: what a running job gets besides its input: a way to notice cancellation and its
/// deadline.
///
/// A thread cannot be stopped from outside, so a long job must wait through [`Ctx::sleep`]
/// (or call [`Ctx::check`] between steps); that is what makes cancellation cooperative.
#[derive(Debug)]
pub struct Ctx<'a> {
    /// The pool's token.
    pub token: &'a CancelToken,
    /// When this job's time is up, if it has a timeout.
    pub deadline: Option<Instant>,
}

impl Ctx<'_> {
    /// Waits for `d`, unless the pool is cancelled or the job's deadline passes first.
    pub fn sleep(&self, d: Duration) -> Result<(), Interrupted> {
        let time_up = match self.deadline {
            Some(deadline) => at(deadline),
            None => never(),
        };
        // Whichever comes first: the work is done, the pool is cancelled, or time is up.
        select! {
            recv(after(d)) -> _ => Ok(()),
            recv(self.token.done()) -> _ => Err(Interrupted::Cancelled),
            recv(time_up) -> _ => Err(Interrupted::TimedOut),
        }
    }

    /// Returns at once: `Err` if the pool is cancelled or the deadline has passed.
    pub fn check(&self) -> Result<(), Interrupted> {
        if self.token.is_cancelled() {
            Err(Interrupted::Cancelled)
        } else if self.deadline.is_some_and(|d| Instant::now() >= d) {
            Err(Interrupted::TimedOut)
        } else {
            Ok(())
        }
    }
}

/// How a job's work went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobError {
    /// The work failed, for this reason.
    Failed(String),
    /// The work noticed cancellation or its deadline and gave up.
    Interrupted(Interrupted),
}

impl From<Interrupted> for JobError {
    fn from(why: Interrupted) -> JobError {
        JobError::Interrupted(why)
    }
}
// ANCHOR_END: job_ctx

// ANCHOR: outcome
/// How a job ended: a job the pool accepted always ends in exactly one of these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// The job ran and succeeded.
    Completed,
    /// The job ran and returned this error.
    Failed(String),
    /// New: the job ran past its own time limit (if it returned at all, it returned too late).
    TimedOut,
    /// New: the pool was cancelled; `started` says whether the job was stopped while running
    /// or never began.
    Cancelled {
        /// Whether it had started when the cancel reached it.
        started: bool,
    },
}

/// What came of one job; the job itself comes back with it, so nothing is dropped unseen.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome<J> {
    /// The job as it was submitted.
    pub job: J,
    /// New: the worker that took it, or `None` if it was still queued when the pool stopped.
    pub worker: Option<usize>,
    /// How it ended.
    pub status: Status,
    /// When the worker took it, measured from the pool's start.
    pub started: Duration,
    /// How long it ran (zero when it never started).
    pub took: Duration,
}

/// New: what the pool needs to know of a job besides how to run it: a number that names it, so
/// that [`Cause::FirstError`](crate::Cause::FirstError) can say which job failed first.
pub trait HasId {
    /// The job's number.
    fn id(&self) -> u64;
}

impl HasId for u64 {
    fn id(&self) -> u64 {
        *self
    }
}
// ANCHOR_END: outcome

// ANCHOR: job
/// The demo's job: how long its simulated work takes, and whether it fails or gets stuck.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// Unique within a run.
    pub id: u64,
    /// How long the simulated work takes.
    pub work: Duration,
    /// Whether the simulated work fails at the end.
    pub fails: bool,
    /// A stuck job never finishes by itself: only its timeout or a cancel ends it.
    pub stuck: bool,
}

impl HasId for Job {
    fn id(&self) -> u64 {
        self.id
    }
}

/// The simulated work: wait out `job.work` (a stuck job waits for ever), then succeed or fail as
/// the seed decided. The waiting goes through `ctx`, so it ends early on a cancel or a timeout.
pub fn simulate(job: &Job, ctx: &Ctx) -> Result<(), JobError> {
    if job.stuck {
        // Wait "for ever": an hour is longer than any deadline in this course.
        ctx.sleep(Duration::from_secs(3600))?;
    }
    ctx.sleep(job.work)?;
    if job.fails {
        Err(JobError::Failed("simulated failure".into()))
    } else {
        Ok(())
    }
}
// ANCHOR_END: job
