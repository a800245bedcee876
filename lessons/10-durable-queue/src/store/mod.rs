//! The durable queue: jobs in a SQLite file that several processes share.
//!
//! Every change is one `BEGIN IMMEDIATE` transaction, so a process killed at any instant leaves
//! the file as it was before that transaction or after it, never half-way. The pieces:
//! [`Store::open`] (schema and settings), [`Store::enqueue`], [`Store::turn`] (a worker's one
//! trip to the disk: record what finished, renew leases, claim what there is room for) and the
//! smaller calls built from the same steps, and [`Store::retry`] and [`Store::cancel`] for a
//! person.
//!
//! The files: this one (the connection, and how a transaction begins); `schema.rs`, the schema
//! and opening the file; `write.rs`, the transactions a program makes (enqueue, a worker's turn
//! and the calls built from it, hand back); `steps.rs`, the statements a transaction is made of
//! (enqueue, rescue, claim, renew, record); `admin.rs`, retry and cancel; `read.rs`, the
//! queries; `types.rs` and `error.rs`, what goes in and out.

mod admin;
mod error;
mod read;
mod schema;
mod steps;
mod types;
mod write;

pub use error::{ErrorKind, StoreError};
pub use schema::{APPLICATION_ID, SCHEMA_VERSION};
pub use types::{Counts, Durability, Enqueued, Finished, Recorded, Rescued, Run, Turn, TurnResult};

use crate::backoff::Backoff;
use error::err;
use lesson_7::clock::Clock;
use rusqlite::{Connection, Transaction, TransactionBehavior};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

// ANCHOR: store
/// One connection to the queue's file. Each process (and each thread that writes) opens its own.
pub struct Store {
    /// SQLite serialises writers across processes with a lock on the file.
    conn: Connection,
    /// For error messages.
    path: PathBuf,
    /// The queue's time, injectable so tests can run out a lease without waiting.
    clock: Arc<dyn Clock>,
    /// When failed jobs come back.
    backoff: Backoff,
}
// ANCHOR_END: store

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn now(&self) -> i64 {
        self.clock.now().as_millis() as i64
    }
}

// ANCHOR: begin
/// Starts a write transaction that takes the write lock now. A deferred one (`BEGIN`) starts as
/// a reader; when it then writes, and another process has committed since it read, SQLite
/// cannot upgrade it and answers SQLITE_BUSY at once, without waiting: the busy timeout only
/// helps a transaction that asks for the lock before reading.
fn begin<'c>(conn: &'c mut Connection, path: &Path) -> Result<Transaction<'c>, StoreError> {
    conn.transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| err(path, e))
}
// ANCHOR_END: begin
