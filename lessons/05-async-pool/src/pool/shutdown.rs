//! The way out: `cancel` stops everything at the next `.await`, `wait_for_workers` waits for
//! the worker tasks to end, and `shutdown` closes the queue, waits, and reports on every job.

use super::Pool;
use crate::{Outcome, Report};
use std::sync::atomic::Ordering;
use tokio_util::sync::CancellationToken;

impl<J: Clone + Send + 'static> Pool<J> {
    /// Cancels the pool: workers stop the jobs they are running at their next `.await`, idle
    /// workers wake up and leave, and `submit` hands jobs back.
    pub fn cancel(&self) {
        self.token.cancel();
    }

    /// A clone of the pool's token, for cancelling from elsewhere (a Ctrl-C listener) or for
    /// watching it.
    pub fn cancel_token(&self) -> CancellationToken {
        self.token.clone()
    }

    /// Waits until every worker task has ended, without closing the queue. Workers end only
    /// when the queue is closed and empty, or when the pool is cancelled: this is how to wait
    /// for a cancel to take effect while the pool is still open.
    pub async fn wait_for_workers(&mut self) {
        // `join_next` is cancel-safe: if this wait is dropped half-way (say, by a `timeout`),
        // no worker's result is lost, and the next wait picks up where this one stopped.
        while let Some(ended) = self.workers.join_next().await {
            if ended.is_err_and(|e| e.is_panic()) {
                self.panicked += 1;
            }
        }
    }

    // ANCHOR: shutdown
    /// Stops taking jobs, lets the workers finish every queued job (or, if the pool was
    /// cancelled, stop), and reports on every job the pool accepted.
    pub async fn shutdown(mut self) -> Report<J> {
        // Dropping the only sender closes the queue. Workers empty it, then their loops end.
        drop(self.queue.take());
        self.wait_for_workers().await;
        let mut outcomes: Vec<Outcome<J>> = Vec::new();
        // Every worker has ended, so every outcome they reported is already in the channel.
        while let Ok(outcome) = self.outcomes.try_recv() {
            outcomes.push(outcome);
        }
        // New: a cancelled run can leave jobs in the queue, which no worker will take. They
        // are reported here, as cancelled and never started: no accepted job is forgotten.
        // The workers are gone, so the lock is free.
        let mut queue = self.jobs.lock().await;
        while let Ok(job) = queue.try_recv() {
            outcomes.push(self.clock.never_started(job, None));
        }
        // New: the run is over, so its deadline's timer goes too (aborted, by dropping it).
        drop(self.deadline.take());
        Report {
            outcomes,
            submitted: self.submitted.load(Ordering::Relaxed),
            panicked: self.panicked,
        }
    }
    // ANCHOR_END: shutdown
}
