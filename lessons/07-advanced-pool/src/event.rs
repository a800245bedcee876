//! What the pool tells whoever watches it.

use crate::Transition;
use crate::job::Status;
use std::time::Duration;

/// The observer the builder was given: told about every [`Event`], on whichever thread it happens.
pub(crate) type Observer = dyn Fn(&Event) + Send + Sync;

/// Something that happened, for whoever watches the pool (see
/// [`Builder::observe`](crate::Builder::observe)).
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A job ran.
    Finished {
        /// The pool's id for the job (the order it was accepted, from 1).
        id: u64,
        /// The worker that ran it.
        worker: usize,
        /// How it ended.
        status: Status,
        /// When it started, from the pool's start.
        started: Duration,
        /// How long it ran.
        took: Duration,
    },
    /// An accepted job was handed back unstarted because the pool aborted.
    Cancelled {
        /// The pool's id for the job.
        id: u64,
    },
    /// The circuit breaker changed state.
    Breaker(Transition),
}
