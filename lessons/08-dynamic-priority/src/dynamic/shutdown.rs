//! The way out: refuse new jobs, drain the queue, and join every worker the pool ever started.

use super::DynamicPool;

/// What shutdown found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Worker threads started over the pool's life.
    pub started: usize,
    /// Workers that retired after an idle spell.
    pub retired_idle: usize,
    /// Workers that retired because a resize made them surplus.
    pub retired_surplus: usize,
    /// Worker threads joined: by shutdown's end, every one that was started.
    pub joined: usize,
    /// Jobs that ran.
    pub ran: u64,
    /// Of those, jobs that panicked.
    pub panicked: u64,
}

impl<J: Send + 'static> DynamicPool<J> {
    // ANCHOR: shutdown
    /// Refuses new jobs, lets the workers finish every queued one, and joins every worker the
    /// pool ever started, including those that retired long ago.
    pub fn shutdown(mut self) -> Report {
        self.stop()
    }

    fn stop(&mut self) -> Report {
        self.stopped = true;
        let handles = {
            let mut state = self.shared.lock();
            state.closed = true;
            self.shared.work.notify_all();
            std::mem::take(&mut state.handles)
        };
        // Joined without the lock: the workers need it to drain the queue and leave.
        let joined = handles.len();
        for handle in handles {
            handle
                .join()
                .expect("a worker thread does not panic: jobs' panics are caught");
        }
        let mut state = self.shared.lock();
        state.report.joined += joined;
        state.report.clone()
    }
    // ANCHOR_END: shutdown
}

impl<J: Send + 'static> Drop for DynamicPool<J> {
    /// Dropping the pool drains it and joins its workers.
    fn drop(&mut self) {
        if !self.stopped {
            self.stop();
        }
    }
}
