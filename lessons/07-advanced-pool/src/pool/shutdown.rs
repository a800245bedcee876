//! The way out: `shutdown` drains or aborts, with an optional deadline; `Drop` drains.

use super::Pool;
use crate::Snapshot;
use crate::sync::channel::RecvTimeoutError;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// How to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Finish every queued job first.
    Drain,
    /// Hand queued jobs back unstarted; running jobs see `Ctx::is_cancelled` and finish.
    Abort,
}

/// What shutdown found.
#[derive(Debug)]
pub struct Report<J> {
    /// The final metrics: by now `submitted == completed + failed + panicked + cancelled`.
    pub metrics: Snapshot,
    /// The cancelled jobs themselves, handed back.
    pub returned: Vec<J>,
    /// Whether a drain ran past its deadline and was turned into an abort.
    pub deadline_passed: bool,
}

impl<J: Send + 'static> Pool<J> {
    // ANCHOR: shutdown
    /// Stops the pool. `Drain` finishes every queued job; `Abort` hands queued jobs back. With a
    /// deadline, a drain that runs past it turns into an abort.
    pub fn shutdown(mut self, stop: Stop, deadline: Option<Duration>) -> Report<J> {
        let deadline_passed = self.stop(stop, deadline);
        Report {
            metrics: self.shared.metrics.snapshot(0),
            returned: self.returned.try_iter().collect(),
            deadline_passed,
        }
    }

    fn stop(&mut self, stop: Stop, deadline: Option<Duration>) -> bool {
        self.close();
        if stop == Stop::Abort {
            self.shared.aborting.store(true, Ordering::Release);
        }
        // Closing the queue: workers empty it (running or handing back), then leave.
        drop(self.queue.take());
        let mut deadline_passed = false;
        if let Some(limit) = deadline {
            // Err(Disconnected) means every worker has exited: the drain made it in time.
            if let Err(RecvTimeoutError::Timeout) = self.exited.recv_timeout(limit) {
                deadline_passed = true;
                self.shared.aborting.store(true, Ordering::Release);
            }
        }
        for handle in self.workers.drain(..) {
            // Jobs' panics are caught inside the worker, so a worker never panics itself.
            handle.join().expect("a worker thread does not panic");
        }
        deadline_passed
    }
    // ANCHOR_END: shutdown
}

impl<J: Send + 'static> Drop for Pool<J> {
    /// Dropping the pool drains it, as in lesson 3.
    fn drop(&mut self) {
        if self.queue.is_some() {
            self.stop(Stop::Drain, None);
        }
    }
}
