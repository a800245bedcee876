//! The way out: `shutdown` drains, `shutdown_now` cancels and then reports, and `Drop` drains.
//! Jobs left in the queue by a cancel are reported here, as never started.

use super::Pool;
use crate::job::{Outcome, Status};
use crate::{Cause, Report};
use std::sync::atomic::Ordering;
use std::time::Duration;

impl<J: Send + 'static> Pool<J> {
    // ANCHOR: shutdown
    /// Stops taking jobs, lets the workers finish every queued job, and reports on all of them.
    /// If the pool is cancelled meanwhile (by its deadline, a first error, or a call to
    /// `token().cancel`), running jobs are stopped and queued ones are reported as cancelled.
    ///
    /// It takes the pool by value, so nothing can be submitted afterwards: the mistake that
    /// makes Go's `send on closed channel` panic does not compile.
    ///
    /// ```compile_fail,E0382
    /// let pool = lesson_4::Pool::new(lesson_4::Config::default(), |_w, _job: &u64, _ctx| Ok(()));
    /// let report = pool.shutdown(); // the pool moves into shutdown…
    /// pool.submit(7);               // …so this line is rejected: "borrow of moved value"
    /// ```
    pub fn shutdown(mut self) -> Report<J> {
        self.close_and_join()
    }

    /// New: cancels the pool, then shuts it down: running jobs are stopped at their next wait,
    /// queued ones never start. The report holds them all.
    pub fn shutdown_now(self) -> Report<J> {
        self.token.cancel(Cause::Requested);
        self.shutdown()
    }

    fn close_and_join(&mut self) -> Report<J> {
        // Dropping the only sender closes the queue. Workers empty it, then their loops end
        // (or they leave at once, if the token is cancelled).
        drop(self.queue.take());
        let mut panicked_workers = 0;
        for handle in self.workers.drain(..) {
            if handle.join().is_err() {
                panicked_workers += 1;
            }
        }
        // New: the deadline no longer matters. Dropping `pool_over` wakes its thread, if it
        // has not fired yet, so that no thread outlives the pool.
        if let Some(deadline) = self.deadline.take() {
            drop(deadline.pool_over);
            deadline
                .thread
                .join()
                .expect("the deadline thread does not panic");
        }
        // Every worker has exited, so every outcome is already in the channel.
        let mut outcomes: Vec<Outcome<J>> = self.outcomes.try_iter().collect();
        // New: after a cancel, the workers left jobs in the queue. No worker took them, and
        // none ever will: each is reported once, as never started.
        outcomes.extend(self.leftovers.try_iter().map(|job| Outcome {
            job,
            worker: None,
            status: Status::Cancelled { started: false },
            started: Duration::ZERO,
            took: Duration::ZERO,
        }));
        Report {
            outcomes,
            submitted: self.submitted.load(Ordering::Relaxed),
            panicked_workers,
            cause: self.token.cause(),
        }
    }
    // ANCHOR_END: shutdown
}

// ANCHOR: drop
impl<J: Send + 'static> Drop for Pool<J> {
    /// Dropping a pool drains it: close the queue, let workers finish it, wait for them.
    fn drop(&mut self) {
        if self.queue.is_some() {
            self.close_and_join();
        }
    }
}
// ANCHOR_END: drop
