//! A worker process: one part decides which jobs run and remembers them (the queue, through
//! [`Store::turn`](crate::store::Store::turn)); the other runs them (lesson 7's pool, unchanged).
//!
//! The loop claims only as many jobs as the pool has free threads, so no claimed job waits in
//! memory while its lease runs down; it renews the leases of the jobs it holds every third of a
//! lease; it records every finished attempt (effect and completion in one transaction); and on
//! a stop it claims no more, finishes what it holds, and hands back what a grace period did not
//! let it finish.
//!
//! It logs what it does through `tracing`: each event is a `tracing` event, inside a span per
//! claimed job ([`job_span`]) that carries the worker's name, the job's id and the attempt. How
//! the events are printed is the program's choice (`course_support::log`).
//!
//! The files: this one (how a worker runs, and what it did in all); `event.rs`, what it does, as
//! it prints it; `log.rs`, the span per job and how much each event matters; `run.rs`, the loop.

mod event;
mod log;
mod run;

pub use event::Event;
pub use log::job_span;
pub use run::{Done, finished_and_renewed, job_pool, run};

use std::time::Duration;

/// How a worker process runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Its name in the `runs` table and in its output.
    pub name: String,
    /// Threads in its pool: the most jobs it holds at once.
    pub threads: usize,
    /// How long a claim lasts unless renewed.
    pub lease: Duration,
    /// The most jobs one turn claims (1: unbatched).
    pub claim_batch: usize,
    /// How long to wait before looking again when there was nothing to claim.
    pub poll: Duration,
    /// Leave once no job is waiting or running anywhere.
    pub exit_when_idle: bool,
    /// After a stop, how long running jobs may take before they are handed back.
    pub grace: Duration,
}

/// What the worker did in all.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Jobs claimed.
    pub claimed: u64,
    /// Attempts recorded as completed.
    pub completed: u64,
    /// Attempts recorded as failed (retry or discard).
    pub failed: u64,
    /// Jobs it rescued from lost workers.
    pub rescued: u64,
    /// Trips to the disk (write transactions).
    pub turns: u64,
}
