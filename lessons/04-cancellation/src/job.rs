//! A job: what it is, what it is told while it runs ([`Ctx`]), how it can end, and the simulated
//! work the demo gives it.

use crate::CancelToken;
use crossbeam_channel::{after, at, never, select};
use std::time::{Duration, Instant};

// ANCHOR: job_ctx
/// Why a job's wait was cut short.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interrupted {
    /// The run was cancelled.
    Cancelled,
    /// The job's own time limit passed.
    TimedOut,
}

/// What a running job gets besides its input: a way to notice cancellation and its deadline.
///
/// A thread cannot be stopped from outside, so a long job must wait through [`Ctx::sleep`]
/// (or call [`Ctx::check`] between steps); that is what makes cancellation cooperative.
#[derive(Debug)]
pub struct Ctx<'a> {
    /// The run's token.
    pub token: &'a CancelToken,
    /// When this job's time is up, if it has a timeout.
    pub deadline: Option<Instant>,
}

impl Ctx<'_> {
    /// Waits for `d`, unless the run is cancelled or the job's deadline passes first.
    pub fn sleep(&self, d: Duration) -> Result<(), Interrupted> {
        let time_up = match self.deadline {
            Some(deadline) => at(deadline),
            None => never(),
        };
        // Whichever comes first: the work is done, the run is cancelled, or time is up.
        select! {
            recv(after(d)) -> _ => Ok(()),
            recv(self.token.done()) -> _ => Err(Interrupted::Cancelled),
            recv(time_up) -> _ => Err(Interrupted::TimedOut),
        }
    }

    /// Returns at once: `Err` if the run is cancelled or the deadline has passed.
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
// ANCHOR_END: job_ctx

// ANCHOR: types
/// One unit of work.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// Unique within a run.
    pub id: u64,
    /// How long the simulated work takes.
    pub work: Duration,
    /// Whether the simulated work fails at the end.
    pub fails: bool,
    /// New: a stuck job never finishes by itself: only its timeout or a cancel ends it.
    pub stuck: bool,
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

/// How a job ended. New: exactly one of these per job, whatever happened to the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// It ran and produced this answer.
    Completed(u64),
    /// It ran and failed.
    Failed(String),
    /// It ran past its own time limit (its answer, if any, came too late and is discarded).
    TimedOut,
    /// The run was cancelled; `started` says whether the job was stopped while running or
    /// never began.
    Cancelled {
        /// Whether it had started when the cancel reached it.
        started: bool,
    },
}

/// What came of one job.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Which job.
    pub job: u64,
    /// The worker that took it, or `None` if no worker ever did.
    pub worker: Option<usize>,
    /// How it ended.
    pub status: Status,
    /// When it started (or was taken), from the start of the run.
    pub started: Duration,
    /// How long it ran.
    pub took: Duration,
}
// ANCHOR_END: types

/// The simulated work: wait out `job.work` (a stuck job waits for ever), then double the id or
/// fail as the seed decided. The waiting goes through `ctx`, so it ends early on a cancel or a
/// timeout.
pub fn simulate(job: &Job, ctx: &Ctx) -> Result<u64, JobError> {
    if job.stuck {
        // Wait "for ever": an hour is longer than any deadline in this course.
        ctx.sleep(Duration::from_secs(3600))?;
    }
    ctx.sleep(job.work)?;
    if job.fails {
        Err(JobError::Failed("simulated failure".into()))
    } else {
        Ok(job.id * 2)
    }
}
