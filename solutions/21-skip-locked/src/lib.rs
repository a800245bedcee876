// course: exercise
// //! # Exercise 21: claiming a batch with `FOR UPDATE SKIP LOCKED`
// course: solution
//! # Exercise 21, solved: claiming a batch with `FOR UPDATE SKIP LOCKED`
// course: end
//!
// course: exercise
// //! Lesson 11's queue lives in PostgreSQL, and workers on many machines claim from it at once,
// //! each over its own connection. A claim must give every job to exactly one worker, and it must
// //! not make the workers queue up behind each other: a worker that is slow to commit its claim
// //! (a slow network, a long pause) must not hold up the others. Write the one function that does
// //! both:
// //!
// //! - [`claim_batch`]: in ONE transaction (`client.transaction()?`, then `tx.commit()?`), pick up
// //!   to `n` `available` jobs, the oldest (lowest id) first, with
// //!   `SELECT ... ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`, and take them: `running`, one more
// //!   attempt, a token of its own for each from the sequence (`nextval('lease_tokens')`),
// //!   `lease_until = now_ms + lease_ms`, and the `worker`'s name. Return what it took.
// //!
// //! `FOR UPDATE` locks the rows a claim picks, so that no other claim can take them before this
// //! one commits; `SKIP LOCKED` makes every other claim pass those rows by instead of waiting for
// //! them. Without the lock, two claims that read at the same moment both see a job as available
// //! and both take it; with the lock but without `SKIP LOCKED`, every claim waits for the one
// //! before it.
// //!
// //! There is no real time here: `claim_batch` takes `now_ms`, and the tests choose it. The
// //! schema, [`setup`], [`enqueue`] and [`Claim`] are written for you. A `postgres::Transaction`
// //! rolls back when it is dropped without `commit()`, so a `?` leaves nothing half done.
// //!
// //! The tests need PostgreSQL: installed on this machine (they start a throwaway server of their
// //! own), or a server named in `DATABASE_URL`. Without either they print a `NOT RUN` line.
// //!
// //! Replace the `@todo()` and run `cargo test -p ex21-skip-locked` until it passes. Stuck? Run
// //! `cargo run -p course -- hint ex21-skip-locked`.
// course: solution
//! `claim_batch` is one statement, and so one transaction, which the function still opens and
//! commits itself. Its `WITH` part picks the oldest `available` jobs and locks them, passing by
//! every row that another claim has locked and not yet committed (`SKIP LOCKED`); the `UPDATE`
//! then takes exactly the rows it picked, each with a token of its own from the sequence. Two
//! claimers that start together each get different jobs, and neither waits for the other.
// course: end

use postgres::Client;

/// The tables. A job is `available` (waiting for a worker), `running` (claimed, under a lease)
/// or `completed`. `attempts` counts the claims; `lease_token` is the token of the claim that
/// holds a running job, drawn from the sequence `lease_tokens`, so no two claims ever get the
/// same one; `lease_until` is when that claim's lease runs out, in milliseconds on the queue's
/// clock; `worker` names the worker that claimed it last. `id` grows with every job, so the
/// lowest id is the oldest job.
pub const SCHEMA: &str = "
CREATE SEQUENCE IF NOT EXISTS lease_tokens;
CREATE TABLE IF NOT EXISTS jobs (
    id          BIGSERIAL PRIMARY KEY,
    state       TEXT   NOT NULL DEFAULT 'available'
                CHECK (state IN ('available', 'running', 'completed')),
    attempts    INT    NOT NULL DEFAULT 0,
    lease_token BIGINT,
    lease_until BIGINT,
    worker      TEXT
);
";

/// Creates the tables, if they are not there yet.
pub fn setup(client: &mut Client) -> Result<(), postgres::Error> {
    client.batch_execute(SCHEMA)
}

/// Adds an `available` job, and returns its id.
pub fn enqueue(client: &mut Client) -> Result<i64, postgres::Error> {
    let row = client.query_one(
        "INSERT INTO jobs (state, attempts) VALUES ('available', 0) RETURNING id",
        &[],
    )?;
    Ok(row.get(0))
}

/// A job a worker has claimed: it may work on it until `lease_until`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claim {
    /// The job's id.
    pub id: i64,
    /// This claim's lease token, from the sequence `lease_tokens`: no other claim has it.
    pub token: i64,
    /// Claims of this job so far, this one included.
    pub attempts: i32,
    /// When the lease runs out: `now_ms + lease_ms`.
    pub lease_until: i64,
}

/// Claims up to `n` `available` jobs for `worker`, the oldest (lowest ids) first, and returns
/// them, in any order. Each becomes `running`, with one more attempt, a new token from
/// `lease_tokens`, `lease_until = now_ms + lease_ms`, and `worker`.
///
/// It is one transaction, committed before it returns, and it never waits for another claim:
/// the jobs that a claim still in progress has locked are passed by (`FOR UPDATE SKIP LOCKED`),
/// so claimers that start together get different jobs, at once. Fewer than `n` jobs (none at
/// all when `n` is 0) if fewer are available.
pub fn claim_batch(
    client: &mut Client,
    worker: &str,
    n: i64,
    now_ms: i64,
    lease_ms: i64,
) -> Result<Vec<Claim>, postgres::Error> {
    // course: exercise
    // let _ = (client, worker, n, now_ms, lease_ms);
    // @todo(
    //     "one transaction: WITH picked AS (SELECT id FROM jobs WHERE state = 'available' ORDER \
    //      BY id LIMIT $1 FOR UPDATE SKIP LOCKED) UPDATE jobs SET state = 'running', attempts + \
    //      1, lease_token = nextval('lease_tokens'), lease_until = now_ms + lease_ms, worker \
    //      FROM picked WHERE jobs.id = picked.id RETURNING the claim's columns; commit; return \
    //      the claims"
    // )
    // course: solution
    let mut tx = client.transaction()?;
    let lease_until = now_ms + lease_ms;
    let rows = tx.query(
        "WITH picked AS (
             SELECT id FROM jobs
             WHERE state = 'available'
             ORDER BY id
             LIMIT $1
             FOR UPDATE SKIP LOCKED
         )
         UPDATE jobs
         SET state = 'running',
             attempts = jobs.attempts + 1,
             lease_token = nextval('lease_tokens'),
             lease_until = $2,
             worker = $3
         FROM picked
         WHERE jobs.id = picked.id
         RETURNING jobs.id, jobs.lease_token, jobs.attempts, jobs.lease_until",
        &[&n, &lease_until, &worker],
    )?;
    tx.commit()?;
    Ok(rows
        .iter()
        .map(|row| Claim {
            id: row.get(0),
            token: row.get(1),
            attempts: row.get(2),
            lease_until: row.get(3),
        })
        .collect())
    // course: end
}
