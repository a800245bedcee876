// course: exercise
// //! # Exercise 20: leases that run out, and late workers turned away
// course: solution
//! # Exercise 20, solved: leases that run out, and late workers turned away
// course: end
//!
// course: exercise
// //! Lesson 10's queue keeps its jobs in SQLite, and a worker that takes a job takes it under a
// //! *lease*: it owns the job until `lease_until`. A worker that dies (or stalls) simply lets its
// //! lease run out, and then another worker may claim the job again. The danger is the worker
// //! that was only slow: it comes back after its lease has gone to somebody else, and reports
// //! the job done. Write the two functions that keep every job's effect to exactly one:
// //!
// //! - [`claim`]: in ONE `BEGIN IMMEDIATE` transaction
// //!   (`conn.transaction_with_behavior(TransactionBehavior::Immediate)`), find the job with the
// //!   lowest id that is `available`, or `running` with a lease that has run out
// //!   (`lease_until <= now_ms`), and take it: `running`, one more attempt, a new lease token
// //!   (one this job has never had: count up), and `lease_until = now_ms + lease_ms`. Several
// //!   connections claim at once, each on its own thread; two must never get the same job.
// //! - [`complete`]: in one transaction, if the job is still `running` under this `token` and
// //!   the lease has not run out (`now_ms < lease_until`), write the job's effect (a row in
// //!   `effects`) and mark it `completed`, and say `true`; otherwise change nothing and say
// //!   `false`. The effect and the completion commit together or not at all.
// //!
// //! There is no real time here: every function takes `now_ms`, and the tests choose it, down to
// //! the millisecond. The schema, [`open`], [`enqueue`] and [`Claim`] are written for you.
// //! `rusqlite`'s `Transaction` rolls back when it is dropped without `commit()`, so a `?` or an
// //! early `return` leaves nothing half done.
// //!
// //! Replace each `@todo()` and run `cargo test -p ex20-lease-reclaim` until it passes. Stuck?
// //! Run `cargo run -p course -- hint ex20-lease-reclaim`.
// course: solution
//! `claim` is one `BEGIN IMMEDIATE` transaction: it takes SQLite's write lock before it reads,
//! so no other connection can claim the same job between the `SELECT` that finds it and the
//! `UPDATE` that takes it. Every claim bumps the job's lease token, a counter per job, so a
//! token is never given out twice. `complete` writes the effect and the new state in one
//! transaction, and only after the `UPDATE` that checks the token, the state and the lease has
//! changed exactly one row: a worker that has lost its lease changes nothing.
// course: end

// course: exercise
// #[allow(unused_imports)]
// // OptionalExtension, TransactionBehavior and params!: you will want them.
// course: end
use rusqlite::{Connection, OptionalExtension as _, TransactionBehavior, params};
use std::path::Path;
use std::time::Duration;

/// The tables. A job is `available` (waiting for a worker), `running` (claimed, under a lease),
/// `completed`, or `discarded` (given up on; no function here sets it, but a claim must leave
/// it alone). `attempts` counts the claims; `lease_token` is a number that changes with every
/// claim (0 before the first); `lease_until` is the time, in milliseconds, at which a running
/// job's lease runs out (it means nothing in the other states). An effect is the record of a
/// job's work; `job_id` is not `UNIQUE`, so a job that took effect twice shows it.
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    lease_token INTEGER NOT NULL,
    lease_until INTEGER
);
CREATE TABLE IF NOT EXISTS effects (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id INTEGER NOT NULL
);
";

/// Opens (creating if need be) the queue in the file at `path`: write-ahead logging, so that
/// readers never block the writer; a busy timeout of 5 s, so that a connection that finds the
/// write lock taken waits its turn instead of failing at once; and the tables.
pub fn open(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    let _mode: String =
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    // With write-ahead logging, NORMAL is still safe against a crash of the process.
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.execute_batch(SCHEMA)?;
    Ok(conn)
}

/// Adds an `available` job, and returns its id.
pub fn enqueue(conn: &Connection) -> rusqlite::Result<i64> {
    conn.execute(
        "INSERT INTO jobs (state, attempts, lease_token, lease_until)
         VALUES ('available', 0, 0, NULL)",
        [],
    )?;
    Ok(conn.last_insert_rowid())
}

/// A job a worker has claimed: it may work on it until `lease_until`, and report it done with
/// `token`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claim {
    /// The job's id.
    pub id: i64,
    /// This claim's lease token: [`complete`] wants it back.
    pub token: i64,
    /// Claims of this job so far, this one included.
    pub attempts: i64,
    /// When the lease runs out, in the same milliseconds as `now_ms`.
    pub lease_until: i64,
}

/// Claims the job with the lowest id among those a worker may take: `available` ones, and
/// `running` ones whose lease has run out (`lease_until <= now_ms`: their worker has died, or
/// is too slow). The job becomes `running`, with one more attempt, a lease token it has never
/// had before, and a lease until `now_ms + lease_ms`. `None` if no job can be claimed.
///
/// It is one `BEGIN IMMEDIATE` transaction, so two connections claiming at once never get the
/// same job.
pub fn claim(conn: &mut Connection, now_ms: i64, lease_ms: i64) -> rusqlite::Result<Option<Claim>> {
    // course: exercise
    // let _ = (conn, now_ms, lease_ms);
    // @todo(
    //     "one IMMEDIATE transaction: SELECT the lowest id that is available, or running with \
    //      lease_until <= now_ms; UPDATE it (running, attempts + 1, lease_token + 1, lease_until \
    //      = now_ms + lease_ms); commit; return the Claim (None if there was nothing to claim)"
    // )
    // course: solution
    // IMMEDIATE takes the write lock now, before the SELECT. A deferred transaction would
    // read first, and then either fail with SQLITE_BUSY when it tries to write after another
    // connection has, or, without a transaction at all, take a job somebody else just took.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let id: Option<i64> = tx
        .query_row(
            "SELECT id FROM jobs
             WHERE state = 'available' OR (state = 'running' AND lease_until <= ?1)
             ORDER BY id LIMIT 1",
            [now_ms],
            |row| row.get(0),
        )
        .optional()?;
    let Some(id) = id else {
        // Nothing to claim; dropping the transaction rolls it back, having changed nothing.
        return Ok(None);
    };
    let claim = tx.query_row(
        "UPDATE jobs
         SET state = 'running', attempts = attempts + 1, lease_token = lease_token + 1,
             lease_until = ?2
         WHERE id = ?1
         RETURNING attempts, lease_token, lease_until",
        params![id, now_ms + lease_ms],
        |row| {
            Ok(Claim {
                id,
                attempts: row.get(0)?,
                token: row.get(1)?,
                lease_until: row.get(2)?,
            })
        },
    )?;
    tx.commit()?;
    Ok(Some(claim))
    // course: end
}

/// Records that the worker holding lease `token` on job `id` has done it: writes the job's
/// effect and marks it `completed`, in one transaction, and returns `true`.
///
/// Only while that lease holds: the job must still be `running`, with this `token`, and
/// `now_ms` before `lease_until`. From the moment the lease runs out, another worker may claim
/// the job (see [`claim`]), so from that same moment the old worker's word no longer counts,
/// whether or not anybody has claimed it yet: who owns a job has one answer at every
/// millisecond. Otherwise (a lease lost or run out, a job already completed, a token never
/// given, an unknown id) it changes nothing and returns `false`. If writing fails, it returns
/// the error, and has changed nothing either.
pub fn complete(conn: &mut Connection, id: i64, token: i64, now_ms: i64) -> rusqlite::Result<bool> {
    // course: exercise
    // let _ = (conn, id, token, now_ms);
    // @todo(
    //     "one transaction: UPDATE to completed only WHERE id, state = 'running', this token and \
    //      lease_until > now_ms; if that changed no row, return false (changing nothing); else \
    //      INSERT the effect, commit, true"
    // )
    // course: solution
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // The check and the change are one UPDATE: it changes a row only if the lease holds.
    let won = tx.execute(
        "UPDATE jobs SET state = 'completed'
         WHERE id = ?1 AND state = 'running' AND lease_token = ?2 AND lease_until > ?3",
        params![id, token, now_ms],
    )?;
    if won == 0 {
        return Ok(false);
    }
    // In the same transaction: the effect and the completion commit together, or neither does.
    tx.execute("INSERT INTO effects (job_id) VALUES (?1)", [id])?;
    tx.commit()?;
    Ok(true)
    // course: end
}
