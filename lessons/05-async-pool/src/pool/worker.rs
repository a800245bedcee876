//! The loop each worker task runs: wait for the next job or the cancel, run the job, report how
//! it ended.

use super::Shared;
use crate::Outcome;
use std::future::Future;
use std::sync::Arc;
use tokio::sync::{Mutex, mpsc};
use tokio_util::sync::CancellationToken;

// ANCHOR: worker
pub(super) async fn worker<J, F, Fut, O>(id: usize, shared: Arc<Shared<J, F, O>>)
where
    J: Clone,
    F: Fn(J, CancellationToken) -> Fut,
    Fut: Future<Output = Result<(), String>>,
    O: Fn(&Outcome<J>),
{
    let token = &shared.runner.token;
    loop {
        // New: wait for the next job *or* for cancellation, whichever comes first, so an idle
        // worker leaves the moment the pool is cancelled, without a job to wake it. `biased`
        // polls the token first: once it is cancelled, no further job is taken.
        let job = tokio::select! {
            biased;
            () = token.cancelled() => break,
            next = next_job(&shared.jobs) => match next {
                Some(job) => job,
                // Closed and empty: the pool is shutting down and the queue is drained.
                None => break,
            },
        };
        let outcome = shared.runner.run(Some(id), job).await;
        (shared.observer)(&outcome);
        // The pool keeps the receiver until every worker has been joined.
        let _ = shared.report.send(outcome);
    }
}

/// Takes the next job from the shared queue.
async fn next_job<J>(jobs: &Mutex<mpsc::Receiver<J>>) -> Option<J> {
    // New: only the worker holding the lock waits on the queue; the others wait for the
    // lock. The guard is a temporary of this expression, so it is released as soon as a job
    // arrives, before the job runs. An async mutex, because the guard is held across an
    // `.await`. Both waits are cancel-safe: a worker woken by cancellation loses no job.
    jobs.lock().await.recv().await
}
// ANCHOR_END: worker
