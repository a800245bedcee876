//! The way out: `shutdown` drains, `shutdown_now` hands queued jobs back, a [`StopNow`] handle
//! does the same from another thread, and `Drop` drains.

use super::Pool;
use crate::Report;
use crate::sync::{Arc, AtomicBool};
use std::sync::atomic::Ordering;

/// A handle that can trigger stop-now from another thread while `shutdown` is waiting.
#[derive(Debug, Clone)]
pub struct StopNow(Arc<AtomicBool>);

impl StopNow {
    /// From now on, workers cancel the jobs they take from the queue instead of running them.
    /// Jobs already running finish (cancelling a running job is lesson 4).
    pub fn stop_now(&self) {
        self.0.store(true, Ordering::Release);
    }

    /// Whether stop-now has been triggered.
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

impl<J: Send + 'static> Pool<J> {
    /// A handle for triggering stop-now from another thread, for example a second Ctrl-C.
    pub fn stop_handle(&self) -> StopNow {
        StopNow(Arc::clone(&self.stop_now))
    }

    // ANCHOR: shutdown
    /// Stops taking jobs, lets the workers finish every queued job, and reports on all of them.
    ///
    /// It takes the pool by value, so nothing can be submitted afterwards: the mistake that
    /// makes Go's `send on closed channel` panic does not compile.
    ///
    /// ```compile_fail,E0382
    /// let pool = lesson_3::Pool::new(2, 4, |_worker, _job: &u32| Ok(()));
    /// let report = pool.shutdown(); // the pool moves into shutdown…
    /// pool.submit(7);               // …so this line is rejected: "borrow of moved value"
    /// ```
    pub fn shutdown(mut self) -> Report<J> {
        self.close_and_join()
    }

    /// Stops taking jobs and cancels every queued job: workers finish the job in hand, then
    /// hand the rest back unstarted. The report holds them all.
    pub fn shutdown_now(self) -> Report<J> {
        self.stop_now.store(true, Ordering::Release);
        self.shutdown()
    }

    fn close_and_join(&mut self) -> Report<J> {
        // Dropping the only sender closes the queue. Workers empty it, then their loops end.
        drop(self.queue.take());
        let mut panicked_workers = 0;
        for handle in self.workers.drain(..) {
            if handle.join().is_err() {
                panicked_workers += 1;
            }
        }
        Report {
            // Every worker has exited, so every outcome is already in the channel.
            outcomes: self.outcomes.try_iter().collect(),
            submitted: self.submitted.load(Ordering::Relaxed),
            panicked_workers,
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
