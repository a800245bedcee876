//! The loop each worker runs: take a job, run it inside `catch_unwind`, count how it ended.

use super::{Envelope, Shared};
use crate::event::Event;
use crate::job::{Ctx, Status};
use crate::metrics::Metrics;
use crate::sync::Instant;
use crate::sync::channel::{Receiver, Sender};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::Ordering;

// ANCHOR: worker
pub(super) fn worker<J>(
    id: usize,
    jobs: Receiver<Envelope<J>>,
    shared: &Shared<J>,
    hand_back: &Sender<J>,
    _alive: Sender<()>,
) {
    let ctx = Ctx {
        worker: id,
        aborting: &shared.aborting,
    };
    let metrics = &shared.metrics;
    for envelope in jobs {
        if shared.aborting.load(Ordering::Acquire) {
            Metrics::add(&metrics.cancelled);
            shared.release(envelope.pass);
            shared.emit(Event::Cancelled { id: envelope.id });
            // The pool holds the receiver until after the workers are joined.
            let _ = hand_back.send(envelope.job);
            shared.done_with_one();
            continue;
        }
        metrics.busy.fetch_add(1, Ordering::Relaxed);
        let began = Instant::now();
        // New: a panicking job is caught here, so the worker lives on and the pool keeps its
        // size. `AssertUnwindSafe`: after a panic we only read the job's result, never state the
        // job may have left half-changed.
        let result = catch_unwind(AssertUnwindSafe(|| (shared.handler)(&envelope.job, &ctx)));
        let ended = Instant::now();
        let (started, took) = (began - shared.start, ended - began);
        metrics.busy.fetch_sub(1, Ordering::Relaxed);
        let status = match result {
            Ok(Ok(())) => Status::Completed,
            Ok(Err(reason)) => Status::Failed(reason),
            Err(payload) => Status::Panicked(panic_message(payload.as_ref())),
        };
        Metrics::add(match status {
            Status::Completed => &metrics.completed,
            Status::Failed(_) => &metrics.failed,
            Status::Panicked(_) => &metrics.panicked,
        });
        metrics.latency.record(ended - envelope.accepted);
        // New: every result feeds the breaker, not only submission timeouts.
        if let (Some(breaker), Some(pass)) = (&shared.breaker, envelope.pass) {
            let ok = status == Status::Completed;
            if let Some(change) = breaker.record(pass, ok, shared.clock.now()) {
                shared.emit(Event::Breaker(change));
            }
        }
        shared.emit(Event::Finished {
            id: envelope.id,
            worker: id,
            status,
            started,
            took,
        });
        // Last, so that once `wait_idle` returns, every count and event above is in.
        shared.done_with_one();
    }
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
