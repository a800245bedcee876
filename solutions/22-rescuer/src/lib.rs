// course: exercise
// //! # Exercise 22: a rescuer that acts exactly once
// course: solution
//! # Exercise 22, solved: a rescuer that acts exactly once
// course: end
//!
// course: exercise
// //! A worker that claims a job holds it under a lease, and renews the lease while it works. A
// //! worker that dies (or hangs, or loses its machine) stops renewing, and its job stays
// //! `running`, leased to nobody alive, until a *rescuer* notices that the lease has run out and
// //! puts the job back. Lesson 11's queue runs a rescuer in every worker process, on every
// //! machine, so two rescuers often look at the same expired job at the same moment. Write the
// //! rescuer, so that each job is rescued, and reported, exactly once:
// //!
// //! - [`rescue`]: in ONE transaction (`client.transaction()?`, then `tx.commit()?`), every job
// //!   that is `running` with `lease_until <= now_ms` goes to `retryable`, or to `discarded` if it
// //!   has used all its attempts (`attempts >= max_attempts`); its `attempts` stay as they are,
// //!   `last_error` becomes [`LEASE_LOST`], and `lease_token` and `lease_until` become NULL. Return
// //!   one [`Rescued`] for each job it changed.
// //!
// //! Under PostgreSQL's default isolation, READ COMMITTED, a `SELECT` shows what was committed when
// //! it ran, and by the time an `UPDATE` that follows gets to a row, another transaction may have
// //! changed it: another rescuer may have put the job back already, or its worker may have renewed
// //! the lease. So the statement that changes a job must also be the one that decides that the
// //! job's lease has run out: an `UPDATE ... WHERE state = 'running' AND lease_until <= $1
// //! RETURNING ...` (PostgreSQL re-checks the `WHERE` on the newest version of a row it had to wait
// //! for), or rows picked with `SELECT ... FOR UPDATE SKIP LOCKED` (exercise 21), which locks
// //! them, passing by any that another transaction holds.
// //!
// //! There is no real time here: `rescue` takes `now_ms`, and the tests choose it. The schema,
// //! [`setup`], [`enqueue`], and the worker's side ([`claim`], [`renew`], [`complete`]) are written
// //! for you. A `postgres::Transaction` rolls back when it is dropped without `commit()`.
// //!
// //! The tests need PostgreSQL: installed on this machine (they start a throwaway server of their
// //! own), or a server named in `DATABASE_URL`. Without either they print a `NOT RUN` line.
// //!
// //! Replace the `@todo()` and run `cargo test -p ex22-rescuer` until it passes. Stuck? Run
// //! `cargo run -p course -- hint ex22-rescuer`.
// course: solution
//! `rescue` is one statement, and so one transaction, which the function still opens and
//! commits itself. Its `WITH` part finds the running jobs whose lease has run out and locks
//! them, passing by any row another transaction holds (`FOR UPDATE SKIP LOCKED`): a worker
//! renewing or completing that job right now, or another rescuer that got there first. Locking
//! re-reads the row, so a job whose lease was moved on, or that another rescuer has already put
//! back, no longer matches and is left alone. The `UPDATE` then changes exactly the rows it
//! locked, and `RETURNING` reports exactly those.
// course: end

use postgres::Client;

/// The tables. A job is `available` (never run), `running` (claimed, under a lease),
/// `completed`, `retryable` (its last attempt was lost; it may be claimed again) or
/// `discarded` (out of attempts: the dead-letter state). `attempts` counts the claims, and a
/// job gets at most `max_attempts` of them. `lease_token` is the token of the claim that holds
/// the job, drawn from the sequence `lease_tokens`; `lease_until` is when that claim's lease runs
/// out, in milliseconds on the queue's clock. A completed job keeps its last lease, as a record;
/// only a running one is held by it. `last_error` says why the last attempt failed.
pub const SCHEMA: &str = "
CREATE SEQUENCE IF NOT EXISTS lease_tokens;
CREATE TABLE IF NOT EXISTS jobs (
    id           BIGSERIAL PRIMARY KEY,
    state        TEXT NOT NULL DEFAULT 'available'
                 CHECK (state IN ('available', 'running', 'completed', 'retryable', 'discarded')),
    attempts     INT  NOT NULL DEFAULT 0,
    max_attempts INT  NOT NULL,
    lease_token  BIGINT,
    lease_until  BIGINT,
    last_error   TEXT
);
";

/// What a rescued job's `last_error` says.
pub const LEASE_LOST: &str = "the lease ran out: its worker stopped renewing it";

/// Creates the tables, if they are not there yet.
pub fn setup(client: &mut Client) -> Result<(), postgres::Error> {
    client.batch_execute(SCHEMA)
}

/// Adds an `available` job that may be claimed up to `max_attempts` times, and returns its id.
pub fn enqueue(client: &mut Client, max_attempts: i32) -> Result<i64, postgres::Error> {
    let row = client.query_one(
        "INSERT INTO jobs (state, attempts, max_attempts) VALUES ('available', 0, $1)
         RETURNING id",
        &[&max_attempts],
    )?;
    Ok(row.get(0))
}

/// A job a worker has claimed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claim {
    /// The job's id.
    pub id: i64,
    /// This claim's lease token: [`renew`] and [`complete`] want it back.
    pub token: i64,
    /// Claims of this job so far, this one included.
    pub attempts: i32,
    /// When the lease runs out, unless it is renewed.
    pub lease_until: i64,
}

/// Claims the oldest job that is `available` or `retryable` (exercise 21's claim, for one
/// job): it becomes `running`, with one more attempt, a new token, and a lease until
/// `now_ms + lease_ms`. `None` if there is none.
pub fn claim(
    client: &mut Client,
    now_ms: i64,
    lease_ms: i64,
) -> Result<Option<Claim>, postgres::Error> {
    let row = client.query_opt(
        "WITH picked AS (
             SELECT id FROM jobs
             WHERE state IN ('available', 'retryable')
             ORDER BY id
             LIMIT 1
             FOR UPDATE SKIP LOCKED
         )
         UPDATE jobs
         SET state = 'running', attempts = jobs.attempts + 1,
             lease_token = nextval('lease_tokens'), lease_until = $1
         FROM picked
         WHERE jobs.id = picked.id
         RETURNING jobs.id, jobs.lease_token, jobs.attempts, jobs.lease_until",
        &[&(now_ms + lease_ms)],
    )?;
    Ok(row.map(|r| Claim {
        id: r.get(0),
        token: r.get(1),
        attempts: r.get(2),
        lease_until: r.get(3),
    }))
}

/// The worker holding lease `token` on job `id` is alive and still working: its lease now runs
/// until `lease_until`. `false` (and nothing changed) if the job is no longer running under
/// that token: the rescuer, or another worker, has taken it.
pub fn renew(
    client: &mut Client,
    id: i64,
    token: i64,
    lease_until: i64,
) -> Result<bool, postgres::Error> {
    let changed = client.execute(
        "UPDATE jobs SET lease_until = $3
         WHERE id = $1 AND lease_token = $2 AND state = 'running'",
        &[&id, &token, &lease_until],
    )?;
    Ok(changed == 1)
}

/// The worker holding lease `token` on job `id` has done it: the job is `completed`. `false`
/// (and nothing changed) if the job is no longer running under that token.
pub fn complete(client: &mut Client, id: i64, token: i64) -> Result<bool, postgres::Error> {
    let changed = client.execute(
        "UPDATE jobs SET state = 'completed'
         WHERE id = $1 AND lease_token = $2 AND state = 'running'",
        &[&id, &token],
    )?;
    Ok(changed == 1)
}

/// What [`rescue`] did to one job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rescued {
    /// The job's id.
    pub id: i64,
    /// Its attempts, as they were (and still are): the lost attempt counts.
    pub attempts: i32,
    /// `true` if it went to `discarded` (that was its last attempt), `false` if to `retryable`.
    pub discarded: bool,
}

/// Puts back every job whose worker has stopped renewing its lease: each job that is `running`
/// with `lease_until <= now_ms` goes to `retryable`, or to `discarded` if it has used all its
/// attempts (`attempts >= max_attempts`). Its attempts stay as they are, `last_error` becomes
/// [`LEASE_LOST`], and its lease is cleared (`lease_token` and `lease_until` NULL). Returns one
/// [`Rescued`] for each job it changed, in any order.
///
/// It is one transaction, committed before it returns: all of it happens, or none. Several
/// rescuers may run at the same moment (one in every worker process), and each job is rescued,
/// and reported, by exactly one of them; a job whose lease was renewed, or that was completed,
/// just before, is not rescued at all.
pub fn rescue(client: &mut Client, now_ms: i64) -> Result<Vec<Rescued>, postgres::Error> {
    // course: exercise
    // let _ = (client, now_ms);
    // @todo(
    //     "one transaction: UPDATE jobs SET state = CASE WHEN attempts >= max_attempts THEN \
    //      'discarded' ELSE 'retryable' END, last_error = LEASE_LOST, lease_token = NULL, \
    //      lease_until = NULL WHERE state = 'running' AND lease_until <= now_ms RETURNING id, \
    //      attempts, state = 'discarded'; commit; one Rescued per row returned"
    // )
    // course: solution
    let mut tx = client.transaction()?;
    let rows = tx.query(
        "WITH expired AS (
             SELECT id FROM jobs
             WHERE state = 'running' AND lease_until <= $1
             FOR UPDATE SKIP LOCKED
         )
         UPDATE jobs
         SET state = CASE WHEN jobs.attempts >= jobs.max_attempts
                          THEN 'discarded' ELSE 'retryable' END,
             last_error = $2,
             lease_token = NULL,
             lease_until = NULL
         FROM expired
         WHERE jobs.id = expired.id
         RETURNING jobs.id, jobs.attempts, jobs.state = 'discarded'",
        &[&now_ms, &LEASE_LOST],
    )?;
    tx.commit()?;
    Ok(rows
        .iter()
        .map(|row| Rescued {
            id: row.get(0),
            attempts: row.get(1),
            discarded: row.get(2),
        })
        .collect())
    // course: end
}
