//! The way in: `submit` waits for room in the queue; `submit_or_stop` waits for room or a stop,
//! whichever comes first. Either hands a job it cannot queue back inside a `Rejected`.

use super::Pool;
use crate::sync::channel::{self, Receiver, TryRecvError};
use crate::{Reason, Rejected};
use std::sync::atomic::Ordering;

impl<J: Send + 'static> Pool<J> {
    // ANCHOR: submit
    /// Queues a job, waiting while the queue is full.
    pub fn submit(&self, job: J) -> Result<(), Rejected<J>> {
        self.sender().send(job).map_err(|e| Rejected {
            job: e.into_inner(),
            reason: Reason::NoWorkers,
        })?;
        self.submitted.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Queues a job, waiting while the queue is full, unless `stop` receives a message first:
    /// then the job is handed back. Go writes this as
    /// `select { case jobs <- j: case <-stop: }`.
    pub fn submit_or_stop(&self, job: J, stop: &Receiver<()>) -> Result<(), Rejected<J>> {
        // `select!` picks at random among ready operations, so check `stop` first: once a stop
        // is pending (a message, or a disconnect, as below), not one more job gets in.
        if !matches!(stop.try_recv(), Err(TryRecvError::Empty)) {
            return Err(Rejected {
                job,
                reason: Reason::Stopped,
            });
        }
        let queue = self.sender();
        let mut op = channel::Select::new();
        let send = op.send(queue);
        let stopped = op.recv(stop);
        let chosen = op.select();
        match chosen.index() {
            i if i == send => {
                chosen.send(queue, job).map_err(|e| Rejected {
                    job: e.into_inner(),
                    reason: Reason::NoWorkers,
                })?;
                self.submitted.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            i if i == stopped => {
                // A message or a disconnect: either way, stop.
                let _ = chosen.recv(stop);
                Err(Rejected {
                    job,
                    reason: Reason::Stopped,
                })
            }
            _ => unreachable!("only two operations were registered"),
        }
    }
    // ANCHOR_END: submit
}
