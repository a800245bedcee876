//! # Lesson 11: many machines, one queue
//!
//! Lesson 10's queue lived in a SQLite file, which only processes on one machine can share. Here
//! the same queue lives on a PostgreSQL server that worker processes on many machines reach over
//! the network. New since lesson 10: claims with `SELECT … FOR UPDATE SKIP LOCKED`, so workers
//! claim at once without taking each other's jobs; `LISTEN`/`NOTIFY`, so idle workers wake as
//! soon as a job arrives (with a slow poll in case a notification is lost); a rescuer that puts
//! back jobs whose lease ran out; a time limit on every statement; an enqueue that can share the
//! application's own transaction; the server's clock for every lease; and workers that reconnect
//! with backoff when the server restarts. The job states, the backoff and the demo's work are
//! lesson 10's, reused as they are ([`lesson_10::job`], [`lesson_10::backoff`],
//! [`lesson_10::work`]); lesson 7's pool still runs the jobs.
//! Run it with `cargo run -p lesson-11`: it starts a throwaway server if PostgreSQL is installed
//! (or uses `--database-url`), kills a worker mid-job, restarts the server as a crash would, and
//! shows that nothing was lost.
//!
//! ## How the pieces fit
//!
//! The files have lesson 10's names, so the two lessons read side by side:
//!
//! - [`store`]: the queue on the server. `store/schema.rs` connects and makes the tables,
//!   `store/write.rs` holds the transactions (enqueue, a worker's turn, the claims a worker
//!   holds after a lost connection), `store/steps.rs` and `store/steps/record.rs` the statements
//!   they are made of, `store/admin.rs` retry and cancel, `store/read.rs` the queries.
//! - [`worker`]: a worker process, its loop (`worker/run.rs`) around lesson 7's pool (built by
//!   lesson 10's `job_pool`), its events (`worker/event.rs`, lesson 10's and two of its own) and
//!   how they are logged (`worker/log.rs`). New: the listener that wakes it (`worker/listen.rs`)
//!   and reconnecting (`worker/reconnect.rs`).
//! - [`cut`]: connections cut on purpose, for the fault tests.
//! - [`job`], [`backoff`] and [`work`]: lesson 10's, unchanged.
//!
//! The program, `main.rs`, reads the flags and hands each command to its file under `cmd/`;
//! `demo.rs` is the demo's script and `measure.rs` the measurement, each with its parts in a
//! folder beside it. What they share with lesson 10's program they take from it as it is: the
//! commands and their flags (`lesson_10::flags`), how the demo watches its workers and reports
//! (`lesson_10::watch`, `lesson_10::picture`), the measurement's numbers (`lesson_10::numbers`).

pub mod cut;
pub mod store;
pub mod worker;

pub use lesson_10::{backoff, job, work};
