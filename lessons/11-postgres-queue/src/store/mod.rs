//! Lesson 10's queue on a PostgreSQL server: the same tables, states and promises, for workers on
//! many machines.
//!
//! What changed since lesson 10's `store.rs` is marked `// New:`. In short: a connection to a
//! server instead of a file; time from the server's clock, the one clock every machine agrees on;
//! claims that skip rows other workers have locked (`FOR UPDATE SKIP LOCKED`) instead of taking a
//! lock on the whole file; each step one set-based statement, since every statement is now a
//! trip over the network; a `NOTIFY` when jobs arrive; a time limit on every statement; and
//! writes that can be retried when the server's answer was lost.
//!
//! The files, as in lesson 10: this one (the connection, and what every call on it shares);
//! `schema.rs`, the schema and connecting; `write.rs`, the transactions a program makes
//! (enqueue, a worker's turn and the calls built from it, hand back); `steps.rs`, the statements
//! a transaction is made of (enqueue, rescue, claim, renew, and `steps/record.rs`, record);
//! `admin.rs`, retry and cancel; `read.rs`, the queries; `types.rs`, a worker's turn and what it
//! did; `error.rs`, errors that name the server.

mod admin;
mod error;
mod read;
mod schema;
mod steps;
mod types;
mod write;

pub use error::{ErrorKind, StoreError, connection_lost};
pub use lesson_10::store::{Counts, Enqueued, Finished, Recorded, Rescued, Run, TurnResult};
pub use schema::{SCHEMA_VERSION, client, describe};
pub use steps::enqueue_in;
pub use types::Turn;

use lesson_10::backoff::Backoff;
use postgres::Client;
use std::fmt;
use std::time::Duration;
use steps::Prepared;

/// The channel `NOTIFY` uses when jobs become available.
pub const CHANNEL: &str = "lesson11_jobs";

// ANCHOR: store
/// One connection to the queue's server. Each worker process opens its own, plus one that
/// listens for notifications.
pub struct Store {
    /// New: a client of the server instead of a file's connection.
    client: Client,
    /// `host:port/database`, for messages.
    server: String,
    /// When failed jobs come back.
    backoff: Backoff,
    /// New: added to the server's clock, so tests can run out a lease without waiting.
    skew_ms: i64,
    /// New: the turn's statements, prepared on this connection the first time they run.
    cache: Prepared,
}
// ANCHOR_END: store

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("server", &self.server)
            .finish()
    }
}

impl Store {
    fn err(&self, e: postgres::Error) -> StoreError {
        StoreError {
            server: self.server.clone(),
            kind: ErrorKind::Postgres(e),
        }
    }

    fn fail(&self, kind: ErrorKind) -> StoreError {
        StoreError {
            server: self.server.clone(),
            kind,
        }
    }

    /// `host:port/database`.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// Moves the queue's clock forward by `d`, for tests: leases run out without waiting.
    pub fn skew(&mut self, d: Duration) {
        self.skew_ms += d.as_millis() as i64;
    }

    /// The client, for the application's own tables in the same transaction as an enqueue
    /// ([`enqueue_in`]).
    pub fn client(&mut self) -> &mut Client {
        &mut self.client
    }
}
