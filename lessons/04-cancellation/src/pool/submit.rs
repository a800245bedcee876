//! The way in: `submit` waits for room in the queue or for a cancel, whichever comes first, and
//! hands a job it cannot queue back inside a `Rejected`.

use super::Pool;
use crate::{Cause, Reason, Rejected};
use crossbeam_channel as channel;
use std::sync::atomic::Ordering;

impl<J: Send + 'static> Pool<J> {
    // ANCHOR: submit
    /// Queues a job, waiting while the queue is full, unless the pool is cancelled first: then
    /// the job is handed back. Go writes this as
    /// `select { case jobs <- j: case <-ctx.Done(): }`.
    pub fn submit(&self, job: J) -> Result<(), Rejected<J>> {
        // `select!` picks at random among ready operations, so check the token first: once the
        // pool is cancelled, not one more job gets in.
        if self.token.is_cancelled() {
            return Err(self.refuse(job));
        }
        let queue = self.sender();
        let mut op = channel::Select::new();
        let send = op.send(queue);
        // New: the stop channel of lesson 3's `submit_or_stop` is now the token.
        let cancelled = op.recv(self.token.done());
        let chosen = op.select();
        match chosen.index() {
            i if i == send => {
                // A selected send must be completed. If the pool was cancelled at that same
                // moment, the job waits in the queue and shutdown reports it as never started.
                chosen
                    .send(queue, job)
                    .expect("the pool keeps a receiver, so the queue never disconnects");
                self.submitted.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            i if i == cancelled => {
                // Completes the selected operation; it is always `Err` (the token's sender is gone).
                let _ = chosen.recv(self.token.done());
                Err(self.refuse(job))
            }
            _ => unreachable!("only two operations were registered"),
        }
    }
    // ANCHOR_END: submit

    /// New: the job, handed back with why the pool is cancelled.
    fn refuse(&self, job: J) -> Rejected<J> {
        let reason = match self.token.cause() {
            Some(Cause::WorkerPanicked) => Reason::NoWorkers,
            _ => Reason::Cancelled,
        };
        Rejected { job, reason }
    }
}
