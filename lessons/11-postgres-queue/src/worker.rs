//! A worker process, as in lesson 10: a loop that decides which jobs run and remembers them
//! (through the queue, one transaction a turn) and lesson 7's pool that runs them.
//!
//! New since lesson 10 (marked `// New:`): idle workers sleep until a `NOTIFY` says jobs arrived,
//! with a slow poll as a fallback; every few turns a worker runs the rescuer; and when the
//! connection is lost (the server restarted, the network failed) the worker reconnects with
//! backoff, hands back claims whose answer it never received, and sends its results again.
//!
//! It logs as lesson 10's does: a `tracing` event for each thing it does, inside a span per
//! claimed job (lesson 10's [`job_span`]) with the worker's name, the job's id and the attempt.
//!
//! The files, as in lesson 10: this one (how a worker runs, and what it did in all); `event.rs`,
//! what it does, as it prints it; `log.rs`, how much each event matters; `run.rs`, the loop.
//! New: `listen.rs`, the thread that waits for notifications, and `reconnect.rs`, connecting
//! again after the server was lost.

mod event;
mod listen;
mod log;
mod reconnect;
mod run;

pub use event::{Event, QueueEvent};
pub use lesson_10::worker::job_span;
pub use run::run;

use lesson_10::backoff::Backoff;
use std::time::Duration;

/// How a worker process runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// New: the server, to connect again after losing it.
    pub url: String,
    /// Its name in the `runs` table and in its output; unique among the workers.
    pub name: String,
    /// Threads in its pool: the most jobs it holds at once.
    pub threads: usize,
    /// How long a claim lasts unless renewed.
    pub lease: Duration,
    /// The most jobs one turn claims (1: unbatched).
    pub claim_batch: usize,
    /// New: how long an idle worker sleeps if no notification wakes it (the fallback poll).
    pub poll: Duration,
    /// New: how often this worker runs the rescuer.
    pub rescue_every: Duration,
    /// Leave once no job is waiting or running anywhere.
    pub exit_when_idle: bool,
    /// After a stop, how long running jobs may take before they are handed back.
    pub grace: Duration,
    /// New: give up after the server has been unreachable this long.
    pub give_up_after: Duration,
    /// Backoff for jobs and for reconnecting.
    pub backoff: Backoff,
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
    /// Jobs its rescuer put back.
    pub rescued: u64,
    /// Trips to the server (write transactions).
    pub turns: u64,
    /// New: times it reconnected.
    pub reconnects: u64,
    /// New: notifications that woke it.
    pub woken: u64,
}
