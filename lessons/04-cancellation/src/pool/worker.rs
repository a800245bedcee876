//! The loop each worker runs: wait for a job or the cancel, run the job with a [`Ctx`], report
//! how it ended, and cancel the pool if the job failed and the pool says so.

use crate::job::{HasId, Outcome, Status};
use crate::{CancelToken, Cause, Config, Ctx, Interrupted, JobError};
use crossbeam_channel::{Receiver, select};
use std::thread;
use std::time::{Duration, Instant};

// ANCHOR: worker
pub(super) fn worker<J, F>(
    id: usize,
    jobs: Receiver<J>,
    finish: impl Fn(Outcome<J>),
    handler: &F,
    token: &CancelToken,
    config: &Config,
    clock: Instant,
) where
    J: HasId,
    F: Fn(usize, &J, &Ctx) -> Result<(), JobError>,
{
    // New: if a job panics, this worker is gone: cancel the pool, so that the other workers
    // and a `submit` waiting for room stop too, instead of waiting for a worker that is dead.
    let _guard = CancelOnPanic(token);
    loop {
        // New: wait for a job *or* the cancel, so an idle worker wakes the moment the pool is
        // cancelled instead of when the next job happens to arrive. The loop still ends when
        // the queue is closed and empty, as lesson 3's `for job in jobs` did.
        let job = select! {
            recv(jobs) -> job => match job {
                Ok(job) => job,
                Err(_) => return, // Queue closed and empty: no more work.
            },
            recv(token.done()) -> _ => return,
        };
        let started = clock.elapsed();
        // New: `select!` picks at random when both are ready, so it can hand us a job just
        // after the cancel. Never start one once the token says stop.
        let skipped = token.is_cancelled();
        let status = if skipped {
            Status::Cancelled { started: false }
        } else {
            run_one(id, &job, handler, token, config.job_timeout)
        };
        let took = match status {
            Status::Cancelled { started: false } => Duration::ZERO,
            _ => clock.elapsed() - started,
        };
        // New: errgroup's rule: the first failure cancels everyone else.
        if config.cancel_on_error && matches!(status, Status::Failed(_) | Status::TimedOut) {
            token.cancel(Cause::FirstError { job: job.id() });
        }
        let outcome = Outcome {
            job,
            worker: Some(id),
            status,
            started,
            took,
        };
        finish(outcome);
        // New: a cancelled pool starts nothing more; shutdown reports what is left queued.
        if skipped {
            return;
        }
    }
}

/// New: runs one job with a [`Ctx`] and turns what it returned into how it ended.
fn run_one<J, F>(
    id: usize,
    job: &J,
    handler: &F,
    token: &CancelToken,
    limit: Option<Duration>,
) -> Status
where
    F: Fn(usize, &J, &Ctx) -> Result<(), JobError>,
{
    // The job's deadline counts from when it starts, not from when it was queued.
    let begun = Instant::now();
    let ctx = Ctx {
        token,
        deadline: limit.map(|t| begun + t),
    };
    match handler(id, job, &ctx) {
        // A job that ignored its deadline still timed out: its answer came too late.
        Ok(()) if limit.is_some_and(|t| begun.elapsed() > t) => Status::TimedOut,
        Ok(()) => Status::Completed,
        Err(JobError::Failed(reason)) => Status::Failed(reason),
        Err(JobError::Interrupted(Interrupted::TimedOut)) => Status::TimedOut,
        Err(JobError::Interrupted(Interrupted::Cancelled)) => Status::Cancelled { started: true },
    }
}
// ANCHOR_END: worker

/// Cancels the token when dropped during a panic.
struct CancelOnPanic<'a>(&'a CancelToken);

impl Drop for CancelOnPanic<'_> {
    fn drop(&mut self) {
        if thread::panicking() {
            self.0.cancel(Cause::WorkerPanicked);
        }
    }
}
