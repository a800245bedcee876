//! The way in: a job that finds no free worker starts one, and `resize` moves the limits while
//! the pool runs.

use super::{DynamicPool, Limits, Shared, Why};
use crate::ConfigError;

impl<J: Send + 'static> DynamicPool<J> {
    // ANCHOR: submit
    /// Queues a job and returns its id. If the job finds no free worker and the pool is below
    /// `max`, a worker is started for it. After shutdown has begun the job is handed back.
    pub fn submit(&self, job: J) -> Result<u64, J> {
        let mut state = self.shared.lock();
        if state.closed {
            return Err(job);
        }
        state.next_job += 1;
        let id = state.next_job;
        state.queue.push_back((id, job));
        // New: jobs waiting or running outnumber the workers, so this one has no free worker.
        if state.queue.len() + state.busy > state.alive && state.alive < state.limits.max {
            Shared::spawn(&self.shared, &mut state, Why::Backlog);
        }
        // A waiting worker, if there is one, takes it; otherwise the next to finish does.
        self.shared.work.notify_one();
        Ok(id)
    }
    // ANCHOR_END: submit

    // ANCHOR: resize
    /// Sets new limits while the pool runs. Workers are started at once to reach the new `min`,
    /// and for jobs the old `max` held back. Workers above a lowered `max` retire, but only
    /// between jobs: a running job is never interrupted.
    pub fn resize(&self, min: usize, max: usize) -> Result<(), ConfigError> {
        let mut state = self.shared.lock();
        let limits = Limits {
            min,
            max,
            ..state.limits
        };
        limits.check()?;
        state.limits = limits;
        while state.alive < min {
            Shared::spawn(&self.shared, &mut state, Why::Floor);
        }
        while state.alive < max && state.queue.len() + state.busy > state.alive {
            Shared::spawn(&self.shared, &mut state, Why::Backlog);
        }
        // Waiting workers look again: some may now be surplus, or free to retire when idle.
        self.shared.work.notify_all();
        Ok(())
    }
    // ANCHOR_END: resize
}
