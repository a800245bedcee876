//! The schema, and opening the file: its settings, and a check that it is this queue's.

use super::error::{classify, err};
use super::{Durability, ErrorKind, Store, StoreError, begin};
use crate::backoff::Backoff;
use lesson_7::clock::Clock;
use rusqlite::{Connection, OpenFlags};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Written into the file's header, so a SQLite file made by something else is recognised.
pub const APPLICATION_ID: i32 = 0x5750_4C31;

/// The schema version this lesson reads and writes.
pub const SCHEMA_VERSION: i32 = 1;

// ANCHOR: schema
const SCHEMA: &str = "
CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY,
    payload      TEXT    NOT NULL,
    state        TEXT    NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    run_at       INTEGER NOT NULL,      -- ms on the queue's clock
    lease_token  INTEGER,               -- the id in runs of the attempt that holds the job
    lease_until  INTEGER,
    last_error   TEXT,
    key          TEXT UNIQUE,           -- the idempotency key, if any
    CHECK (state IN ('available', 'scheduled', 'running', 'completed',
                     'retryable', 'discarded', 'cancelled'))
);
-- Claims look only at waiting jobs, the rescue only at running ones: two small indexes.
CREATE INDEX jobs_waiting ON jobs (run_at, id)
    WHERE state IN ('available', 'scheduled', 'retryable');
CREATE INDEX jobs_leased ON jobs (lease_until) WHERE state = 'running';

-- One row per attempt: who ran it, when, how it ended. Its id is the lease token.
CREATE TABLE runs (
    id         INTEGER PRIMARY KEY,
    job_id     INTEGER NOT NULL REFERENCES jobs (id),
    attempt    INTEGER NOT NULL,
    worker     TEXT    NOT NULL,
    started_at INTEGER NOT NULL,
    ended_at   INTEGER,
    outcome    TEXT
);

-- What the jobs did. No unique key on job_id, on purpose: a job applied twice would show.
CREATE TABLE effects (
    id     INTEGER PRIMARY KEY,
    job_id INTEGER NOT NULL,
    output TEXT    NOT NULL
);
";
// ANCHOR_END: schema

impl Store {
    /// Opens the queue at `path`, creating it (and its schema) if the file does not exist.
    ///
    /// A file that is not a database, a database that is not this queue's, a queue of another
    /// schema version, or a path that cannot be written is refused with one line, and the file
    /// is left as it was.
    pub fn open(
        path: &Path,
        durability: Durability,
        clock: Arc<dyn Clock>,
        backoff: Backoff,
    ) -> Result<Store, StoreError> {
        let fail = |kind| StoreError {
            path: path.to_path_buf(),
            kind,
        };
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(|e| fail(classify(e)))?;
        // ANCHOR: settings
        // Wait up to 5 s for another process's write lock instead of failing at once.
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(|e| fail(classify(e)))?;
        // Read the header before writing anything, so a foreign file is left untouched.
        let (app, version): (i32, i32) = conn
            .query_row(
                "SELECT * FROM pragma_application_id, pragma_user_version",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(|e| fail(classify(e)))?;
        let tables: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
            .map_err(|e| fail(classify(e)))?;
        let fresh = app == 0 && version == 0 && tables == 0;
        if !fresh && app != APPLICATION_ID {
            return Err(fail(ErrorKind::Foreign));
        }
        if !fresh && version != SCHEMA_VERSION {
            return Err(fail(ErrorKind::Version(version)));
        }
        if conn.is_readonly(rusqlite::MAIN_DB).unwrap_or(false) {
            return Err(fail(ErrorKind::ReadOnly));
        }
        // Write-ahead log: readers never block the writer, and a commit appends to the log
        // instead of rewriting pages in place.
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| fail(classify(e)))?;
        let synchronous = match durability {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        };
        conn.pragma_update(None, "synchronous", synchronous)
            .map_err(|e| fail(classify(e)))?;
        // ANCHOR_END: settings
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
            clock,
            backoff,
        };
        if fresh {
            store.create_schema()?;
        }
        Ok(store)
    }

    fn create_schema(&mut self) -> Result<(), StoreError> {
        let tx = begin(&mut self.conn, &self.path)?;
        // Another process may have created it between our check and our lock.
        let version: i32 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| err(&self.path, e))?;
        if version == 0 {
            tx.execute_batch(SCHEMA).map_err(|e| err(&self.path, e))?;
            tx.execute_batch(&format!(
                "PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {SCHEMA_VERSION};"
            ))
            .map_err(|e| err(&self.path, e))?;
        }
        tx.commit().map_err(|e| err(&self.path, e))
    }
}
