//! # Lesson 10: a job queue that survives a crash
//!
//! Every pool so far kept its queue in memory, so a crash lost every job that waited. Here the
//! queue is a SQLite file: a job is a row that moves through a state machine ([`job::State`]),
//! a worker holds it with a lease it renews while it works, and a job whose worker died is
//! taken back when its lease runs out and retried with backoff ([`backoff`]) until it succeeds
//! or is discarded. Several worker processes share the file; inside each, lesson 7's pool runs
//! the jobs ([`worker`]), and the job's effect is written in the same transaction as its
//! completion, so each effect happens exactly once even though a job may run more than once.
//! Run it with `cargo run -p lesson-10`: it starts worker processes, kills one with `SIGKILL`
//! mid-job, and shows that nothing was lost.
//!
//! ```
//! use lesson_10::{backoff::Backoff, clock::ManualClock, job::NewJob, store::*};
//! use std::{sync::Arc, time::Duration};
//!
//! let dir = tempfile::tempdir()?;
//! let clock = Arc::new(ManualClock::default());
//! let mut queue = Store::open(&dir.path().join("q.db"), Durability::Full, clock.clone(), Backoff::default())?;
//! queue.enqueue(&[NewJob::new("double 21")])?;
//! let claim = queue.claim("w1", 1, Duration::from_secs(1))?.remove(0);
//! let done = Finished { id: claim.id, token: claim.token, result: Ok("42".into()) };
//! assert_eq!(queue.finish(done)?, Recorded::Completed);
//! assert_eq!(queue.effects()?, [(1, "42".to_string())]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## How the pieces fit
//!
//! A job's way through the queue, one module each:
//!
//! - [`job`]: what the queue stores about a job, and the states it moves through.
//! - [`store`]: the queue in its SQLite file. `store/schema.rs` opens the file, `store/write.rs`
//!   holds the transactions (enqueue, a worker's turn), `store/steps.rs` the statements they are
//!   made of, `store/admin.rs` retry and cancel, `store/read.rs` the queries.
//! - [`backoff`]: when a failed job comes back.
//! - [`worker`]: a worker process, its loop (`worker/run.rs`) around lesson 7's pool, its events
//!   (`worker/event.rs`) and how they are logged (`worker/log.rs`).
//! - [`work`]: the demo's and the tests' jobs; [`clock`]: the wall clock every process reads;
//!   [`fault`]: crash points for the crash tests.
//! - [`picture`] and [`throughput`]: what the demo draws and what `measure` times; [`numbers`]:
//!   how `measure` prints its numbers; [`watch`]: how the demo reads its worker processes.
//!
//! The program, `main.rs`, reads the flags and hands each command to its file under `cmd/`
//! (`enqueue`, `worker`, `status`, `retry` and `cancel`); [`flags`] holds the flag groups and the
//! `enqueue` loop that lesson 11 reuses; `demo.rs` is the demo's script and
//! `measure.rs` the measurement, each with its parts in a folder beside it.

pub mod backoff;
pub mod clock;
pub mod fault;
pub mod flags;
pub mod job;
pub mod numbers;
pub mod picture;
pub mod store;
pub mod throughput;
pub mod watch;
pub mod work;
pub mod worker;
