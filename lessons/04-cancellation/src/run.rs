//! Running a batch: [`run_queue`] runs the workers on a queue until it is closed and empty or
//! the run is cancelled, with the run's deadline beside them; [`run`] feeds a batch of jobs into
//! that queue and accounts for every one of them, however the run ends. The workers' loop is in
//! `run/worker.rs`.

mod worker;

use worker::worker;

use crate::{CancelToken, Cause, Config, Ctx, Job, JobError, Outcome, Report, Status};
use crossbeam_channel::{Receiver, Select, Sender, after, select};
use std::thread;
use std::time::{Duration, Instant};

// ANCHOR: run_queue
/// Runs jobs from `jobs` on `config.workers` threads until the queue is closed and empty, or
/// the token is cancelled, whichever comes first. Returns an outcome for every job a worker
/// took, in the order they ended. Jobs still in the queue after a cancel are left there for the
/// caller, who knows whether more are coming.
///
/// # Panics
///
/// If `config.workers` is 0, or if `work` panics.
pub fn run_queue<F, O>(
    config: &Config,
    jobs: Receiver<Job>,
    token: &CancelToken,
    work: F,
    mut on_outcome: O,
) -> Vec<Outcome>
where
    F: Fn(&Job, &Ctx) -> Result<u64, JobError> + Sync,
    O: FnMut(&Outcome),
{
    assert!(config.workers > 0, "a pool needs at least one worker");
    let clock = Instant::now();
    let (result_tx, result_rx) = crossbeam_channel::unbounded();
    thread::scope(|scope| {
        for id in 1..=config.workers {
            let (jobs, results, work) = (jobs.clone(), result_tx.clone(), &work);
            scope.spawn(move || worker(id, config, jobs, token, results, work, clock));
        }
        drop(result_tx);

        // New: the deadline is one more thread that cancels the token when time is up. It
        // also stops when the run ends first (`finished` is dropped below) or is cancelled.
        let (finished, run_over) = crossbeam_channel::bounded::<()>(0);
        if let Some(deadline) = config.deadline {
            scope.spawn(move || {
                select! {
                    recv(after(deadline)) -> _ => { token.cancel(Cause::Deadline); }
                    recv(run_over) -> _ => {}
                    recv(token.done()) -> _ => {}
                }
            });
        }

        let mut outcomes = Vec::new();
        for outcome in result_rx {
            on_outcome(&outcome);
            outcomes.push(outcome);
        }
        drop(finished);
        outcomes
    })
}
// ANCHOR_END: run_queue

// ANCHOR: run
/// Runs a batch of jobs and reports on every one of them, however the run ends.
///
/// A producer thread feeds the queue and stops feeding when the token is cancelled. Jobs it
/// never sent and jobs still queued come back as `Cancelled { started: false }`.
pub fn run<F, O>(
    config: &Config,
    jobs: Vec<Job>,
    token: &CancelToken,
    work: F,
    on_outcome: O,
) -> Report
where
    F: Fn(&Job, &Ctx) -> Result<u64, JobError> + Sync,
    O: FnMut(&Outcome),
{
    let (queue, taken) = crossbeam_channel::bounded::<Job>(config.workers);
    let leftovers = taken.clone();
    let (mut outcomes, unsent) = thread::scope(|scope| {
        let producer = scope.spawn(move || feed(queue, jobs, token));
        let outcomes = run_queue(config, taken, token, work, on_outcome);
        (
            outcomes,
            producer.join().expect("the producer does not panic"),
        )
    });
    // Every worker and the producer have stopped: what is left in the queue or was never
    // sent is accounted for here, so no job goes missing from the report.
    let never_started = leftovers.try_iter().chain(unsent).map(|job| Outcome {
        job: job.id,
        worker: None,
        status: Status::Cancelled { started: false },
        started: Duration::ZERO,
        took: Duration::ZERO,
    });
    outcomes.extend(never_started);
    outcomes.sort_by_key(|o| o.job);
    Report {
        outcomes,
        cause: token.cause(),
    }
}

/// Sends jobs until they run out or the token is cancelled; returns the ones it did not send.
fn feed(queue: Sender<Job>, jobs: Vec<Job>, token: &CancelToken) -> Vec<Job> {
    let mut jobs = jobs.into_iter();
    while let Some(job) = jobs.next() {
        // New: wait for room in the queue or for cancellation, whichever comes first.
        let mut sel = Select::new();
        let send = sel.send(&queue);
        let cancelled = sel.recv(token.done());
        let op = sel.select();
        if op.index() == cancelled {
            // Completes the selected operation; it is always `Err` (the token's sender is gone).
            let _ = op.recv(token.done());
            return std::iter::once(job).chain(jobs).collect();
        }
        debug_assert_eq!(op.index(), send);
        // A selected send must be completed. If the run was cancelled at that same moment,
        // the job waits in the queue, and `run` drains it as never started.
        op.send(&queue, job)
            .expect("`run` holds a receiver until the end");
    }
    Vec::new()
    // `queue` is dropped here: the workers see it close once they have emptied it.
}
// ANCHOR_END: run
