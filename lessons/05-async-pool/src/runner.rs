//! Running one job, for both shapes: the job gets a child of the pool's token, and ends when it
//! finishes, when its time limit passes, or when the pool is cancelled, whichever comes first.
//! The pool's clock, which times every outcome, is here too.

use crate::{Outcome, Status};
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How to run one job; shared by both shapes.
pub(crate) struct Runner<F> {
    /// The job itself.
    pub(crate) handler: F,
    /// The pool's token; each job gets a child of it.
    pub(crate) token: CancellationToken,
    /// How long one job may run.
    pub(crate) job_timeout: Option<Duration>,
    /// The pool's start.
    pub(crate) clock: Clock,
}

/// The pool's start, as tokio measures time, so that a test's paused clock is exact.
#[derive(Clone, Copy)]
pub(crate) struct Clock(pub(crate) Instant);

impl Clock {
    pub(crate) fn elapsed(self) -> Duration {
        self.0.elapsed()
    }

    /// The outcome of a job the cancel reached before it began.
    pub(crate) fn never_started<J>(self, job: J, worker: Option<usize>) -> Outcome<J> {
        Outcome {
            job,
            worker,
            status: Status::Cancelled { started: false },
            started: self.elapsed(),
            took: Duration::ZERO,
        }
    }
}

impl<F> Runner<F> {
    // ANCHOR: run_one
    pub(crate) async fn run<J, Fut>(&self, worker: Option<usize>, job: J) -> Outcome<J>
    where
        J: Clone,
        F: Fn(J, CancellationToken) -> Fut,
        Fut: Future<Output = Result<(), String>>,
    {
        // New: a job taken in the same instant as the cancel is handed back unstarted.
        if self.token.is_cancelled() {
            return self.clock.never_started(job, worker);
        }
        let started = self.clock.elapsed();
        // New: the job's own token, a child of the pool's: cancelled with the pool, and, by
        // the drop guard, whenever this function returns. So work the job handed to a
        // blocking thread hears that it should stop, even when the job timed out.
        let job_token = self.token.child_token();
        let _stop_leftovers = job_token.clone().drop_guard();
        // The handler gets a copy: if the job is stopped, its future is dropped with
        // everything it owns, and the report still needs the job.
        let work = (self.handler)(job.clone(), job_token);
        let limited = async {
            match self.job_timeout {
                // New: `timeout` drops the job's future if it is not done in time.
                Some(limit) => tokio::time::timeout(limit, work).await,
                None => Ok(work.await),
            }
        };
        let status = tokio::select! {
            // A job that has finished is reported as finished, even if the cancel came in the
            // same instant.
            biased;
            ended = limited => match ended {
                // A job that never awaits cannot be stopped, so `timeout` never gets a say:
                // its result arrives late, and is not counted as done.
                Ok(_) if self.job_timeout.is_some_and(|t| self.clock.elapsed() - started > t) => {
                    Status::TimedOut
                }
                Ok(Ok(())) => Status::Completed,
                Ok(Err(reason)) => Status::Failed(reason),
                Err(_elapsed) => Status::TimedOut,
            },
            // New: cooperative cancellation, async style: the job's future is dropped at the
            // `.await` it is waiting in.
            () = self.token.cancelled() => Status::Cancelled { started: true },
        };
        Outcome {
            job,
            worker,
            status,
            started,
            took: self.clock.elapsed() - started,
        }
    }
    // ANCHOR_END: run_one
}
