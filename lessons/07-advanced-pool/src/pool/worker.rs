//! The loop each worker runs: take a parcel of one job or a batch, run each job inside
//! `catch_unwind`, and count how they ended.

use super::tally::{Count, Tally};
use super::{Batch, Envelope, Parcel, Shared};
use crate::event::Event;
use crate::job::{Ctx, Status};
use crate::sync::Instant;
use crate::sync::channel::{Receiver, Sender};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::Ordering;

// ANCHOR: worker
pub(super) fn worker<J>(
    id: usize,
    jobs: Receiver<Parcel<J>>,
    shared: &Shared<J>,
    hand_back: &Sender<J>,
    _alive: Sender<()>,
) {
    let ctx = Ctx {
        worker: id,
        aborting: &shared.aborting,
    };
    for parcel in jobs {
        let ended = match parcel {
            // A job alone is counted as it ends.
            Parcel::One(envelope) => run(
                std::iter::once(envelope),
                &mut &shared.metrics,
                &ctx,
                shared,
                hand_back,
            ),
            // A batch is tallied, and the tally added to the shared counters once.
            Parcel::Batch(Batch {
                first_id,
                accepted,
                jobs,
            }) => {
                let envelopes =
                    jobs.into_iter()
                        .zip(first_id..)
                        .map(|((job, pass), id)| Envelope {
                            id,
                            job,
                            accepted,
                            pass,
                        });
                let mut tally = Tally::new();
                let ended = run(envelopes, &mut tally, &ctx, shared, hand_back);
                tally.add_to(&shared.metrics);
                ended
            }
        };
        // Last, so that once `wait_idle` returns, every count and event of these jobs is in.
        shared.done_with(ended);
    }
}

/// Runs a parcel's jobs one after another, counting how each ended in `count`, and returns how
/// many there were.
fn run<J>(
    envelopes: impl Iterator<Item = Envelope<J>>,
    count: &mut impl Count,
    ctx: &Ctx,
    shared: &Shared<J>,
    hand_back: &Sender<J>,
) -> usize {
    let metrics = &shared.metrics;
    let mut jobs = 0;
    metrics.busy.fetch_add(1, Ordering::Relaxed);
    for envelope in envelopes {
        jobs += 1;
        if shared.aborting.load(Ordering::Acquire) {
            count.cancelled();
            shared.release(envelope.pass);
            shared.emit(Event::Cancelled { id: envelope.id });
            // The pool holds the receiver until after the workers are joined.
            let _ = hand_back.send(envelope.job);
            continue;
        }
        // When the job began matters only to an observer; the latency needs only its end.
        let began = shared.observer.is_some().then(Instant::now);
        // New: a panicking job is caught here, so the worker lives on and the pool keeps its
        // size. `AssertUnwindSafe`: after a panic we only read the job's result, never state the
        // job may have left half-changed.
        let result = catch_unwind(AssertUnwindSafe(|| (shared.handler)(&envelope.job, ctx)));
        let ended = Instant::now();
        let status = match result {
            Ok(Ok(())) => Status::Completed,
            Ok(Err(reason)) => Status::Failed(reason),
            Err(payload) => Status::Panicked(panic_message(payload.as_ref())),
        };
        count.ran(&status, ended - envelope.accepted);
        // New: every result feeds the breaker, not only submission timeouts.
        if let (Some(breaker), Some(pass)) = (&shared.breaker, envelope.pass) {
            let ok = status == Status::Completed;
            if breaker.would_notice(ok) {
                if let Some(change) = breaker.record(pass, ok, shared.clock.now()) {
                    shared.emit(Event::Breaker(change));
                }
            }
        }
        if let Some(began) = began {
            shared.emit(Event::Finished {
                id: envelope.id,
                worker: ctx.worker,
                status,
                started: began - shared.start,
                took: ended - began,
            });
        }
    }
    metrics.busy.fetch_sub(1, Ordering::Relaxed);
    jobs
}
// ANCHOR_END: worker

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic with no message".to_string()
    }
}
