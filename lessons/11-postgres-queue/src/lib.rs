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

pub mod cut;
pub mod store;
pub mod worker;

pub use lesson_10::{backoff, job, work};
