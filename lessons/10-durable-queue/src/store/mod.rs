//! The durable queue: jobs in a SQLite file that several processes share.
//!
//! Every change is one `BEGIN IMMEDIATE` transaction, so a process killed at any instant leaves
//! the file as it was before that transaction or after it, never half-way. The pieces:
//! [`Store::open`] (schema and settings), [`Store::enqueue`], [`Store::turn`] (a worker's one
//! trip to the disk: record what finished, renew leases, claim what there is room for) and the
//! smaller calls built from the same steps, and [`Store::retry`] and [`Store::cancel`] for a
//! person.
//!
//! The files: this one (the schema, opening the file, the transactions); `steps.rs`, the
//! statements a transaction is made of (enqueue, rescue, claim, renew, record); `read.rs`, the
//! queries; `types.rs` and `error.rs`, what goes in and out.

mod error;
mod read;
mod steps;
mod types;

pub use error::{ErrorKind, StoreError};
pub use types::{Counts, Durability, Enqueued, Finished, Recorded, Rescued, Run, Turn, TurnResult};

use crate::backoff::Backoff;
use crate::job::{Claim, Job, NewJob, State};
use error::{classify, err, fail};
use lesson_7::clock::Clock;
use read::get;
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior, params};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use steps::{claim, enqueue_in, record, renew, rescue};

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

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn now(&self) -> i64 {
        self.clock.now().as_millis() as i64
    }

    /// Adds jobs in one transaction: all of them or none. A job whose key exists already is not
    /// added again; its existing id comes back instead.
    pub fn enqueue(&mut self, jobs: &[NewJob]) -> Result<Vec<Enqueued>, StoreError> {
        let now = self.now();
        let tx = begin(&mut self.conn, &self.path)?;
        let out = enqueue_in(&tx, jobs, now).map_err(classify);
        let out = match out {
            Ok(out) => out,
            Err(kind) => return Err(fail(&self.path, kind)),
        };
        crate::fault::point("mid-enqueue");
        tx.commit().map_err(|e| err(&self.path, e))?;
        Ok(out)
    }

    // ANCHOR: turn
    /// One trip to the disk for a worker, in one transaction: record the attempts that ended,
    /// renew the leases it still holds, put back jobs whose lease ran out, and claim up to
    /// `turn.claim` jobs for `worker` with a lease of `lease`.
    pub fn turn(
        &mut self,
        worker: &str,
        lease: Duration,
        turn: &Turn<'_>,
    ) -> Result<TurnResult, StoreError> {
        let now = self.now();
        let lease_until = now + lease.as_millis() as i64;
        let backoff = self.backoff;
        let tx = begin(&mut self.conn, &self.path)?;
        let result = (|| -> rusqlite::Result<TurnResult> {
            let mut out = TurnResult::default();
            for f in turn.finished {
                out.recorded.push(record(&tx, f, now, &backoff)?);
            }
            for &(id, token) in turn.renew {
                if !renew(&tx, id, token, lease_until)? {
                    out.lost.push((id, token));
                }
            }
            if turn.claim > 0 {
                out.rescued = rescue(&tx, now)?;
                out.claimed = claim(&tx, worker, turn.claim, now, lease_until)?;
            }
            Ok(out)
        })();
        let out = result.map_err(|e| err(&self.path, e))?;
        // A process killed here loses the whole turn: nothing above is in the file.
        crate::fault::point("mid-commit");
        tx.commit().map_err(|e| err(&self.path, e))?;
        Ok(out)
    }
    // ANCHOR_END: turn

    /// Claims up to `n` jobs for `worker` (one transaction).
    pub fn claim(
        &mut self,
        worker: &str,
        n: usize,
        lease: Duration,
    ) -> Result<Vec<Claim>, StoreError> {
        let turn = Turn {
            claim: n,
            ..Turn::default()
        };
        Ok(self.turn(worker, lease, &turn)?.claimed)
    }

    /// Records one finished attempt (one transaction): the effect and the completion together,
    /// or the failure and its retry; nothing if the lease was lost.
    pub fn finish(&mut self, finished: Finished) -> Result<Recorded, StoreError> {
        let list = [finished];
        let turn = Turn {
            finished: &list,
            ..Turn::default()
        };
        let mut out = self.turn("", Duration::ZERO, &turn)?;
        Ok(out.recorded.pop().expect("one finished, one recorded"))
    }

    /// Extends a lease; `false` if the job is no longer held with this token.
    pub fn renew(&mut self, id: i64, token: i64, lease: Duration) -> Result<bool, StoreError> {
        let list = [(id, token)];
        let turn = Turn {
            renew: &list,
            ..Turn::default()
        };
        Ok(self.turn("", lease, &turn)?.lost.is_empty())
    }

    /// Hands claimed jobs back unstarted (a worker stopping): they are available again at once,
    /// and the attempt is not counted.
    pub fn hand_back(&mut self, held: &[(i64, i64)]) -> Result<usize, StoreError> {
        let now = self.now();
        let tx = begin(&mut self.conn, &self.path)?;
        let mut n = 0;
        for &(id, token) in held {
            n += tx
                .execute(
                    "UPDATE jobs SET state = 'available', attempts = attempts - 1, run_at = ?3,
                        lease_token = NULL, lease_until = NULL
                     WHERE id = ?1 AND lease_token = ?2 AND state = 'running'",
                    params![id, token, now],
                )
                .map_err(|e| err(&self.path, e))?;
            tx.execute(
                "UPDATE runs SET ended_at = ?2, outcome = 'handed back' WHERE id = ?1",
                params![token, now],
            )
            .map_err(|e| err(&self.path, e))?;
        }
        tx.commit().map_err(|e| err(&self.path, e))?;
        Ok(n)
    }

    // ANCHOR: retry
    /// Puts a discarded, cancelled or retryable job back to run now, allowing it one more attempt
    /// if it had used them all (Oban's `retry_job` does the same).
    pub fn retry(&mut self, id: i64) -> Result<Job, StoreError> {
        let now = self.now();
        let tx = begin(&mut self.conn, &self.path)?;
        let job = get(&tx, id).map_err(|e| err(&self.path, e))?;
        let job = job.ok_or_else(|| fail(&self.path, ErrorKind::NoSuchJob(id)))?;
        if !matches!(
            job.state,
            State::Discarded | State::Cancelled | State::Retryable
        ) {
            return Err(fail(
                &self.path,
                ErrorKind::WrongState(
                    id,
                    job.state,
                    "only discarded, cancelled or retryable jobs can be retried",
                ),
            ));
        }
        tx.execute(
            "UPDATE jobs SET state = 'available', run_at = ?2,
                max_attempts = max(max_attempts, attempts + 1)
             WHERE id = ?1",
            params![id, now],
        )
        .map_err(|e| err(&self.path, e))?;
        let job = get(&tx, id)
            .map_err(|e| err(&self.path, e))?
            .expect("just updated");
        tx.commit().map_err(|e| err(&self.path, e))?;
        Ok(job)
    }
    // ANCHOR_END: retry

    /// Cancels a job that is waiting (available, scheduled or retryable). A running job cannot
    /// be cancelled here: its worker would not know.
    pub fn cancel(&mut self, id: i64) -> Result<Job, StoreError> {
        let tx = begin(&mut self.conn, &self.path)?;
        let job = get(&tx, id).map_err(|e| err(&self.path, e))?;
        let job = job.ok_or_else(|| fail(&self.path, ErrorKind::NoSuchJob(id)))?;
        if !matches!(
            job.state,
            State::Available | State::Scheduled | State::Retryable
        ) {
            return Err(fail(
                &self.path,
                ErrorKind::WrongState(
                    id,
                    job.state,
                    "only waiting jobs (available, scheduled, retryable) can be cancelled",
                ),
            ));
        }
        tx.execute("UPDATE jobs SET state = 'cancelled' WHERE id = ?1", [id])
            .map_err(|e| err(&self.path, e))?;
        let job = get(&tx, id)
            .map_err(|e| err(&self.path, e))?
            .expect("just updated");
        tx.commit().map_err(|e| err(&self.path, e))?;
        Ok(job)
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
