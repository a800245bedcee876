//! The way in: `submit` waits for room in the queue, unless the pool is cancelled or every
//! worker has died first; then the job comes back inside a `Rejected`.

use super::Pool;
use crate::{Reason, Rejected};
use std::sync::atomic::Ordering;

impl<J: Clone + Send + 'static> Pool<J> {
    // ANCHOR: submit
    /// Queues a job, waiting while the queue is full, unless the pool is cancelled first: then
    /// the job is handed back.
    pub async fn submit(&self, job: J) -> Result<(), Rejected<J>> {
        let queue = self
            .queue
            .as_ref()
            .expect("the queue is open until shutdown, which takes the pool");
        // New: wait for room *before* handing the job over. `reserve` owns nothing, so when
        // cancellation wins and it is dropped, the job is still here to give back. A plain
        // `queue.send(job)` in this `select!` would take the job with it into the void.
        tokio::select! {
            // Checked first: once the pool is cancelled, not one more job gets in.
            biased;
            () = self.token.cancelled() => Err(Rejected {
                job,
                reason: Reason::Cancelled,
            }),
            // Every worker has died (each job panicked): the queue would never empty.
            () = self.workers_gone.cancelled() => Err(Rejected {
                job,
                reason: Reason::NoWorkers,
            }),
            slot = queue.reserve() => match slot {
                Ok(slot) => {
                    slot.send(job);
                    self.submitted.fetch_add(1, Ordering::Relaxed);
                    Ok(())
                }
                // Only if the receiver were gone, and the pool keeps it for as long as it
                // lives; the job is handed back all the same, never dropped.
                Err(_) => Err(Rejected {
                    job,
                    reason: Reason::Cancelled,
                }),
            },
        }
    }
    // ANCHOR_END: submit
}
