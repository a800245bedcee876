//! The durable queue: jobs in a SQLite file that several processes share.
//!
//! Every change is one `BEGIN IMMEDIATE` transaction, so a process killed at any instant leaves
//! the file as it was before that transaction or after it, never half-way. The pieces:
//! [`Store::open`] (schema and settings), [`Store::enqueue`], [`Store::turn`] (a worker's one
//! trip to the disk: record what finished, renew leases, claim what there is room for) and the
//! smaller calls built from the same steps, and [`Store::retry`] and [`Store::cancel`] for a
//! person.

use crate::backoff::Backoff;
use crate::job::{Claim, Job, NewJob, State};
use lesson_7::clock::Clock;
use rusqlite::{
    Connection, OpenFlags, OptionalExtension as _, Transaction, TransactionBehavior, params,
};
use std::fmt;
use std::path::{Path, PathBuf};
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

/// Why the queue could not be opened or used; its message names the file.
#[derive(Debug)]
pub struct StoreError {
    /// The database file.
    pub path: PathBuf,
    /// What went wrong.
    pub kind: ErrorKind,
}

/// What went wrong with the database.
#[derive(Debug)]
pub enum ErrorKind {
    /// The file is not a SQLite database at all.
    NotADatabase,
    /// A SQLite database, but not one of this queue's.
    Foreign,
    /// A queue of another schema version.
    Version(i32),
    /// The file or its folder cannot be written.
    ReadOnly,
    /// No job has this id.
    NoSuchJob(i64),
    /// The job is in a state the request does not apply to; the text says which states it
    /// applies to.
    WrongState(i64, State, &'static str),
    /// Anything else SQLite reported.
    Sqlite(rusqlite::Error),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display();
        match &self.kind {
            ErrorKind::NotADatabase => write!(f, "{path}: not a SQLite database"),
            ErrorKind::Foreign => write!(
                f,
                "{path}: a SQLite database, but not a lesson-10 queue (left untouched)"
            ),
            ErrorKind::Version(v) => write!(
                f,
                "{path}: a queue of schema version {v}; this lesson reads version \
                 {SCHEMA_VERSION} (left untouched)"
            ),
            ErrorKind::ReadOnly => write!(f, "{path}: cannot be written"),
            ErrorKind::NoSuchJob(id) => write!(f, "{path}: no job {id}"),
            ErrorKind::WrongState(id, state, only) => {
                write!(f, "{path}: job {id} is {state}; {only}")
            }
            ErrorKind::Sqlite(e) => {
                let text = e.to_string();
                write!(
                    f,
                    "{path}: {}",
                    text.lines().next().unwrap_or("database error")
                )
            }
        }
    }
}

impl std::error::Error for StoreError {}

/// How safe a commit is from a power cut (SQLite's `synchronous`, in WAL mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// `FULL`: every commit waits until the log is on the disk. A power cut loses nothing that
    /// was committed. The queue's default: an enqueue that said yes must survive.
    Full,
    /// `NORMAL`: commits reach the disk at the next checkpoint. A crash of the process loses
    /// nothing; a power cut or an OS crash may lose the last commits (never corrupts).
    Normal,
}

/// A finished attempt, on its way to the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    /// The job.
    pub id: i64,
    /// The lease token the worker claimed it with.
    pub token: i64,
    /// The job's output (its effect), or why it failed.
    pub result: Result<String, String>,
}

/// What became of a finished attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// Its effect is written and the job is completed.
    Completed,
    /// It failed and will run again no earlier than `run_at`.
    Retry {
        /// When, on the queue's clock.
        run_at: i64,
        /// The backoff chosen.
        delay: Duration,
    },
    /// It failed on its last attempt and is discarded with its error.
    Discarded,
    /// The worker no longer held the lease (another worker claimed the job since): nothing was
    /// written.
    LeaseLost,
}

/// A job whose worker stopped renewing its lease, found and put back by a claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rescued {
    /// The job.
    pub id: i64,
    /// The attempt that was lost.
    pub attempt: u32,
    /// Whether it was discarded (no attempts left) rather than made retryable.
    pub discarded: bool,
}

/// One worker's trip to the disk.
#[derive(Debug, Clone, Default)]
pub struct Turn<'a> {
    /// Attempts that have ended since the last turn.
    pub finished: &'a [Finished],
    /// Leases to extend: (job, token).
    pub renew: &'a [(i64, i64)],
    /// How many jobs to claim (the free room in the worker).
    pub claim: usize,
}

/// What a turn did.
#[derive(Debug, Default)]
pub struct TurnResult {
    /// For each finished attempt, in order.
    pub recorded: Vec<Recorded>,
    /// Leases that could not be renewed (the job was taken away): (job, token).
    pub lost: Vec<(i64, i64)>,
    /// Jobs put back because their lease ran out.
    pub rescued: Vec<Rescued>,
    /// Jobs claimed.
    pub claimed: Vec<Claim>,
}

/// The queue's counts, as `status` prints them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    /// Jobs per state, in [`State::ALL`] order.
    pub by_state: [u64; 7],
    /// Rows in `effects`.
    pub effects: u64,
    /// Jobs with more than one effect row (must stay 0).
    pub doubled: u64,
    /// Jobs claimed more than once.
    pub ran_more_than_once: u64,
}

impl Counts {
    /// Jobs in `state`.
    pub fn of(&self, state: State) -> u64 {
        self.by_state[State::ALL.iter().position(|s| *s == state).expect("in ALL")]
    }

    /// Every job.
    pub fn total(&self) -> u64 {
        self.by_state.iter().sum()
    }

    /// Jobs that will still run (waiting or running).
    pub fn unfinished(&self) -> u64 {
        State::ALL
            .iter()
            .filter(|s| !s.is_terminal())
            .map(|s| self.of(*s))
            .sum()
    }
}

/// What `enqueue` did with one job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    /// Added with this id.
    New(i64),
    /// A job with the same key was already there: this is its id.
    Existing(i64),
}

impl Enqueued {
    /// The job's id either way.
    pub fn id(self) -> i64 {
        match self {
            Enqueued::New(id) | Enqueued::Existing(id) => id,
        }
    }
}

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

    /// One job.
    pub fn job(&self, id: i64) -> Result<Option<Job>, StoreError> {
        get(&self.conn, id).map_err(|e| err(&self.path, e))
    }

    /// Every job, by id.
    pub fn jobs(&self) -> Result<Vec<Job>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!("SELECT {JOB_COLUMNS} FROM jobs ORDER BY id"))
            .map_err(|e| err(&self.path, e))?;
        let rows = stmt
            .query_map([], job_from_row)
            .map_err(|e| err(&self.path, e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| err(&self.path, e))
    }

    /// Every attempt: (job, attempt, worker, started, ended, outcome), by start.
    pub fn runs(&self) -> Result<Vec<Run>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT job_id, attempt, worker, started_at, ended_at, outcome
                 FROM runs ORDER BY started_at, id",
            )
            .map_err(|e| err(&self.path, e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(Run {
                    job: r.get(0)?,
                    attempt: r.get(1)?,
                    worker: r.get(2)?,
                    started_at: r.get(3)?,
                    ended_at: r.get(4)?,
                    outcome: r.get(5)?,
                })
            })
            .map_err(|e| err(&self.path, e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| err(&self.path, e))
    }

    /// The effect rows: (job, output), by job.
    pub fn effects(&self) -> Result<Vec<(i64, String)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT job_id, output FROM effects ORDER BY job_id, id")
            .map_err(|e| err(&self.path, e))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| err(&self.path, e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| err(&self.path, e))
    }

    /// Counts per state, and of effects.
    pub fn counts(&self) -> Result<Counts, StoreError> {
        let mut counts = Counts::default();
        let mut stmt = self
            .conn
            .prepare("SELECT state, count(*) FROM jobs GROUP BY state")
            .map_err(|e| err(&self.path, e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
            })
            .map_err(|e| err(&self.path, e))?;
        for row in rows {
            let (state, n) = row.map_err(|e| err(&self.path, e))?;
            let state: State = state
                .parse()
                .map_err(|_| fail(&self.path, ErrorKind::Foreign))?;
            counts.by_state[State::ALL.iter().position(|s| *s == state).expect("in ALL")] = n;
        }
        let (effects, doubled, more): (i64, i64, i64) = self
            .conn
            .query_row(
                "SELECT (SELECT count(*) FROM effects),
                        (SELECT count(*) FROM (SELECT job_id FROM effects
                                               GROUP BY job_id HAVING count(*) > 1)),
                        (SELECT count(*) FROM jobs WHERE attempts > 1)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .map_err(|e| err(&self.path, e))?;
        counts.effects = effects as u64;
        counts.doubled = doubled as u64;
        counts.ran_more_than_once = more as u64;
        Ok(counts)
    }

    /// The SQL connection, for the application's own tables (and the benchmarks' bare
    /// transactions).
    pub fn connection(&mut self) -> &mut Connection {
        &mut self.conn
    }
}

/// One attempt at a job, from the `runs` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// The job.
    pub job: i64,
    /// Which attempt.
    pub attempt: u32,
    /// The worker that claimed it.
    pub worker: String,
    /// When it was claimed, on the queue's clock (ms).
    pub started_at: i64,
    /// When it ended, if the end was recorded.
    pub ended_at: Option<i64>,
    /// How it ended: `completed`, `failed: …`, `lease expired`, `handed back`.
    pub outcome: Option<String>,
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

fn err(path: &Path, e: rusqlite::Error) -> StoreError {
    fail(path, classify(e))
}

fn fail(path: &Path, kind: ErrorKind) -> StoreError {
    StoreError {
        path: path.to_path_buf(),
        kind,
    }
}

fn classify(e: rusqlite::Error) -> ErrorKind {
    use rusqlite::ErrorCode;
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => ErrorKind::NotADatabase,
        Some(ErrorCode::ReadOnly)
        | Some(ErrorCode::CannotOpen)
        | Some(ErrorCode::PermissionDenied) => ErrorKind::ReadOnly,
        _ => ErrorKind::Sqlite(e),
    }
}

const JOB_COLUMNS: &str = "id, payload, state, attempts, max_attempts, run_at, last_error, key";

fn job_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Job> {
    let state: String = r.get(2)?;
    Ok(Job {
        id: r.get(0)?,
        payload: r.get(1)?,
        state: state.parse().map_err(|e: String| {
            rusqlite::Error::FromSqlConversionFailure(2, rusqlite::types::Type::Text, e.into())
        })?,
        attempts: r.get(3)?,
        max_attempts: r.get(4)?,
        run_at: r.get(5)?,
        last_error: r.get(6)?,
        key: r.get(7)?,
    })
}

fn get(conn: &Connection, id: i64) -> rusqlite::Result<Option<Job>> {
    conn.query_row(
        &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?1"),
        [id],
        job_from_row,
    )
    .optional()
}

// ANCHOR: enqueue
fn enqueue_in(tx: &Transaction<'_>, jobs: &[NewJob], now: i64) -> rusqlite::Result<Vec<Enqueued>> {
    let mut insert = tx.prepare_cached(
        "INSERT INTO jobs (payload, state, max_attempts, run_at, key)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (key) DO NOTHING",
    )?;
    let mut existing = tx.prepare_cached("SELECT id FROM jobs WHERE key = ?1")?;
    let mut out = Vec::with_capacity(jobs.len());
    for job in jobs {
        let state = if job.delay_ms > 0 {
            State::Scheduled
        } else {
            State::Available
        };
        let run_at = now + job.delay_ms as i64;
        let added = insert.execute(params![
            job.payload,
            state.as_str(),
            job.max_attempts.max(1),
            run_at,
            job.key
        ])?;
        out.push(if added == 1 {
            Enqueued::New(tx.last_insert_rowid())
        } else {
            // Only a key can conflict, so the job with that key is there.
            Enqueued::Existing(existing.query_row([&job.key], |r| r.get(0))?)
        });
    }
    Ok(out)
}
// ANCHOR_END: enqueue

// ANCHOR: rescue
/// Jobs still `running` after their lease ran out belong to a worker that stopped renewing: it
/// was killed, hung, or lost its machine. They go back to `retryable` (the lost attempt
/// counts), or to `discarded` if that was their last.
fn rescue(tx: &Transaction<'_>, now: i64) -> rusqlite::Result<Vec<Rescued>> {
    let mut expired = tx.prepare_cached(
        "SELECT id, attempts, max_attempts, lease_token FROM jobs
         WHERE state = 'running' AND lease_until <= ?1",
    )?;
    let rows: Vec<(i64, u32, u32, i64)> = expired
        .query_map([now], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut rescued = Vec::with_capacity(rows.len());
    for (id, attempts, max_attempts, token) in rows {
        let discarded = attempts >= max_attempts;
        let error = format!("attempt {attempts}: the lease ran out (its worker was lost)");
        tx.execute(
            "UPDATE jobs SET state = ?2, run_at = ?3, last_error = ?4,
                lease_token = NULL, lease_until = NULL
             WHERE id = ?1",
            params![
                id,
                if discarded { "discarded" } else { "retryable" },
                now,
                error
            ],
        )?;
        tx.execute(
            "UPDATE runs SET outcome = 'lease expired' WHERE id = ?1",
            [token],
        )?;
        rescued.push(Rescued {
            id,
            attempt: attempts,
            discarded,
        });
    }
    Ok(rescued)
}
// ANCHOR_END: rescue

// ANCHOR: claim
fn claim(
    tx: &Transaction<'_>,
    worker: &str,
    n: usize,
    now: i64,
    lease_until: i64,
) -> rusqlite::Result<Vec<Claim>> {
    let mut waiting = tx.prepare_cached(
        "SELECT id, payload, attempts, max_attempts, last_error FROM jobs
         WHERE state IN ('available', 'scheduled', 'retryable') AND run_at <= ?1
         ORDER BY run_at, id LIMIT ?2",
    )?;
    let picked: Vec<(i64, String, u32, u32, Option<String>)> = waiting
        .query_map(params![now, n as i64], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut start = tx.prepare_cached(
        "INSERT INTO runs (job_id, attempt, worker, started_at) VALUES (?1, ?2, ?3, ?4)",
    )?;
    let mut take = tx.prepare_cached(
        "UPDATE jobs SET state = 'running', attempts = ?2, lease_token = ?3, lease_until = ?4
         WHERE id = ?1",
    )?;
    let mut claims = Vec::with_capacity(picked.len());
    for (id, payload, attempts, max_attempts, previous_error) in picked {
        let attempt = attempts + 1;
        start.execute(params![id, attempt, worker, now])?;
        // The new run's id is the lease token: unique for ever, so no two attempts share one.
        let token = tx.last_insert_rowid();
        take.execute(params![id, attempt, token, lease_until])?;
        claims.push(Claim {
            id,
            payload,
            attempt,
            max_attempts,
            token,
            lease_until,
            previous_error,
        });
    }
    Ok(claims)
}
// ANCHOR_END: claim

fn renew(tx: &Transaction<'_>, id: i64, token: i64, lease_until: i64) -> rusqlite::Result<bool> {
    let n = tx
        .prepare_cached(
            "UPDATE jobs SET lease_until = ?3
             WHERE id = ?1 AND lease_token = ?2 AND state = 'running'",
        )?
        .execute(params![id, token, lease_until])?;
    Ok(n == 1)
}

// ANCHOR: record
/// Writes how an attempt ended, but only while the worker still holds the job: the token must
/// be the job's current one. The effect (the job's output) goes in the same transaction as the
/// completion, so a crash keeps both or neither, and a worker that lost its lease writes
/// neither. Its statements, like the claim's, are prepared once per connection and then taken
/// from the connection's cache (`prepare_cached`); `tx.execute` with the SQL text would parse
/// each one again for every finished job, about a tenth of an unbatched turn's time and a
/// quarter of a batched one's on the course's machine (`lesson-10 measure`).
fn record(
    tx: &Transaction<'_>,
    f: &Finished,
    now: i64,
    backoff: &Backoff,
) -> rusqlite::Result<Recorded> {
    let held: Option<(u32, u32)> = tx
        .prepare_cached(
            "SELECT attempts, max_attempts FROM jobs
             WHERE id = ?1 AND lease_token = ?2 AND state = 'running'",
        )?
        .query_row(params![f.id, f.token], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((attempts, max_attempts)) = held else {
        return Ok(Recorded::LeaseLost);
    };
    let (recorded, outcome) = match &f.result {
        Ok(output) => {
            tx.prepare_cached("INSERT INTO effects (job_id, output) VALUES (?1, ?2)")?
                .execute(params![f.id, output])?;
            tx.prepare_cached(
                "UPDATE jobs SET state = 'completed', lease_token = NULL, lease_until = NULL
                 WHERE id = ?1",
            )?
            .execute([f.id])?;
            (Recorded::Completed, "completed".to_string())
        }
        Err(error) if attempts >= max_attempts => {
            tx.prepare_cached(
                "UPDATE jobs SET state = 'discarded', last_error = ?2,
                    lease_token = NULL, lease_until = NULL
                 WHERE id = ?1",
            )?
            .execute(params![f.id, error])?;
            (Recorded::Discarded, format!("failed: {error}"))
        }
        Err(error) => {
            let delay = backoff.delay(f.id, attempts);
            let run_at = now + delay.as_millis() as i64;
            tx.prepare_cached(
                "UPDATE jobs SET state = 'retryable', last_error = ?2, run_at = ?3,
                    lease_token = NULL, lease_until = NULL
                 WHERE id = ?1",
            )?
            .execute(params![f.id, error, run_at])?;
            (
                Recorded::Retry { run_at, delay },
                format!("failed: {error}"),
            )
        }
    };
    tx.prepare_cached("UPDATE runs SET ended_at = ?2, outcome = ?3 WHERE id = ?1")?
        .execute(params![f.token, now, outcome])?;
    Ok(recorded)
}
// ANCHOR_END: record
