//! The loop each worker runs: wait for a job or the cancel, run it with a [`Ctx`], report how it
//! ended, and cancel the run if the job failed and the run says so.

use crate::{CancelToken, Cause, Config, Ctx, Interrupted, Job, JobError, Outcome, Status};
use crossbeam_channel::{Receiver, Sender, select};
use std::thread;
use std::time::{Duration, Instant};

// ANCHOR: worker
pub(super) fn worker<F>(
    id: usize,
    config: &Config,
    jobs: Receiver<Job>,
    token: &CancelToken,
    results: Sender<Outcome>,
    work: &F,
    clock: Instant,
) where
    F: Fn(&Job, &Ctx) -> Result<u64, JobError>,
{
    // If a job panics, this worker is gone: cancel the run so the producer and the other
    // workers stop too, and the panic reaches the caller instead of a hang.
    let _guard = CancelOnPanic(token);
    loop {
        // New: wait for a job *or* cancellation, so an idle worker wakes the moment the run is
        // cancelled instead of when the next job happens to arrive.
        let job = select! {
            recv(jobs) -> job => match job {
                Ok(job) => job,
                Err(_) => return, // Queue closed and empty: no more work.
            },
            recv(token.done()) -> _ => return,
        };
        let started = clock.elapsed();
        // New: `select!` picks at random when both are ready, so it can hand us a job just
        // after cancellation. Never start one once the token says stop.
        if token.is_cancelled() {
            let outcome = Outcome {
                job: job.id,
                worker: Some(id),
                status: Status::Cancelled { started: false },
                started,
                took: Duration::ZERO,
            };
            results
                .send(outcome)
                .expect("the collector outlives the workers");
            return;
        }
        let ctx = Ctx {
            token,
            deadline: config.job_timeout.map(|t| Instant::now() + t),
        };
        let result = work(&job, &ctx);
        let took = clock.elapsed() - started;
        let status = match result {
            // A job that ignored its deadline still timed out: its answer is too late.
            Ok(_) if config.job_timeout.is_some_and(|t| took > t) => Status::TimedOut,
            Ok(answer) => Status::Completed(answer),
            Err(JobError::Failed(reason)) => Status::Failed(reason),
            Err(JobError::Interrupted(Interrupted::TimedOut)) => Status::TimedOut,
            Err(JobError::Interrupted(Interrupted::Cancelled)) => {
                Status::Cancelled { started: true }
            }
        };
        // New: errgroup's rule: the first failure cancels everyone else.
        if config.cancel_on_error && matches!(status, Status::Failed(_) | Status::TimedOut) {
            token.cancel(Cause::FirstError { job: job.id });
        }
        let outcome = Outcome {
            job: job.id,
            worker: Some(id),
            status,
            started,
            took,
        };
        results
            .send(outcome)
            .expect("the collector outlives the workers");
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
