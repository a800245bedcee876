//! What the dynamic pool tells whoever watches it: a worker started or retired, and why; a job
//! ran.

use std::time::Duration;

/// Why a worker was started or retired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// Started to bring the pool up to `min`.
    Floor,
    /// Started because a job found no free worker.
    Backlog,
    /// Retired after waiting the idle timeout with nothing to do.
    Idle,
    /// Retired, between jobs, because a resize lowered `max` below the workers alive.
    Surplus,
    /// Retired because the pool shut down and the queue was empty.
    Shutdown,
}

/// Something that happened, for whoever watches the pool (see [`DynamicPool::observed`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A worker thread was started; `alive` counts it.
    Started {
        /// The worker's number: from 1, never reused, so each is one thread.
        worker: usize,
        /// Workers alive after this change.
        alive: usize,
        /// Why.
        why: Why,
    },
    /// A worker left its loop; its thread is about to end.
    Retired {
        /// The worker's number.
        worker: usize,
        /// Workers alive after this change.
        alive: usize,
        /// Why.
        why: Why,
    },
    /// A job ran.
    Finished {
        /// The pool's id for the job (the order it was accepted, from 1).
        job: u64,
        /// The worker that ran it.
        worker: usize,
        /// When it started, from the pool's start.
        started: Duration,
        /// How long it ran.
        took: Duration,
        /// Whether it panicked (the worker caught it and carried on).
        panicked: bool,
    },
}
