//! The loop each worker runs: take a job, run it unless stop-now is set, report how it ended.

use crate::job::{Outcome, Status};
use crate::sync::AtomicBool;
use crate::sync::channel::{Receiver, Sender};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

// ANCHOR: worker
pub(super) fn worker<J, F>(
    id: usize,
    jobs: Receiver<J>,
    report: Sender<Outcome<J>>,
    handler: &F,
    stop_now: &AtomicBool,
    clock: Instant,
) where
    F: Fn(usize, &J) -> Result<(), String>,
{
    // The loop ends when the queue is closed (the pool dropped its sender) and empty, so a
    // closed queue still hands out every job that was in it: none is silently dropped.
    for job in jobs {
        let started = clock.elapsed();
        // New: checked between jobs, never during one, so a running job always finishes.
        let status = if stop_now.load(Ordering::Acquire) {
            Status::Cancelled
        } else {
            match handler(id, &job) {
                Ok(()) => Status::Completed,
                Err(reason) => Status::Failed(reason),
            }
        };
        let took = match status {
            Status::Cancelled => Duration::ZERO,
            _ => clock.elapsed() - started,
        };
        let outcome = Outcome {
            job,
            worker: id,
            status,
            started,
            took,
        };
        // The pool holds the receiver until every worker has been joined.
        report.send(outcome).expect("the pool outlives its workers");
    }
}
// ANCHOR_END: worker
