//! The statements a transaction is made of: enqueue, rescue, claim, renew, record, each one
//! statement for a whole batch where it can be (every statement is a trip over the network).
//! The caller begins and commits the transaction.
//! The record step, the longest, is in `steps/record.rs`.

mod record;

pub(super) use record::record;

use super::{CHANNEL, Enqueued, Rescued};
use lesson_10::job::{Claim, NewJob, State};
use postgres::{Statement, Transaction};
use std::collections::HashMap;

/// Statements prepared on one connection, by their text.
pub(super) type Prepared = HashMap<&'static str, Statement>;

/// Has the server end this connection now (the fault tests' cuts).
pub(super) fn cut(tx: &mut Transaction<'_>) -> Result<(), postgres::Error> {
    tx.batch_execute("SELECT pg_terminate_backend(pg_backend_pid())")
}

/// New: `sql` prepared on this connection, once: the server parses and plans it the first
/// times it runs, then keeps its plan, and every turn after sends only the values. A turn's two
/// big statements cost more to plan than to run, and a worker runs them many times a second.
fn prepared(
    tx: &mut Transaction<'_>,
    cache: &mut Prepared,
    sql: &'static str,
) -> Result<Statement, postgres::Error> {
    if let Some(statement) = cache.get(sql) {
        return Ok(statement.clone());
    }
    let statement = tx.prepare(sql)?;
    cache.insert(sql, statement.clone());
    Ok(statement)
}

/// The server's clock in milliseconds since the Unix epoch.
pub(super) fn now_ms(tx: &mut Transaction<'_>) -> Result<i64, postgres::Error> {
    // clock_timestamp, not now(): now() is the start of the transaction. `_typed`: the
    // statement travels with its values, one round trip instead of two (prepare, then run).
    Ok(tx
        .query_typed_one(
            "SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint",
            &[],
        )?
        .get(0))
}

// ANCHOR: enqueue
/// Adds jobs inside the caller's transaction, so a job can be enqueued together with the
/// application's own rows: both are there after the commit, or neither. Returns each job's id,
/// or the existing job's id where its key was taken already.
pub fn enqueue_in(
    tx: &mut Transaction<'_>,
    jobs: &[NewJob],
    skew_ms: i64,
) -> Result<Vec<Enqueued>, postgres::Error> {
    let now = now_ms(tx)? + skew_ms;
    let payloads: Vec<&str> = jobs.iter().map(|j| j.payload.as_str()).collect();
    let states: Vec<&str> = jobs
        .iter()
        .map(|j| {
            if j.delay_ms > 0 {
                State::Scheduled.as_str()
            } else {
                State::Available.as_str()
            }
        })
        .collect();
    let max: Vec<i32> = jobs.iter().map(|j| j.max_attempts.max(1) as i32).collect();
    let run_at: Vec<i64> = jobs.iter().map(|j| now + j.delay_ms as i64).collect();
    let keys: Vec<Option<&str>> = jobs.iter().map(|j| j.key.as_deref()).collect();
    // New: one statement for the whole batch (a round trip each would cost more than the
    // insert). Rows go in the order given, so new ids rise in that order.
    let rows = tx.query(
        "INSERT INTO jobs (payload, state, max_attempts, run_at, key)
         SELECT p, s, m, r, k
         FROM unnest($1::text[], $2::text[], $3::int[], $4::bigint[], $5::text[])
              WITH ORDINALITY AS t (p, s, m, r, k, n)
         ORDER BY n
         ON CONFLICT (key) DO NOTHING
         RETURNING id, key",
        &[&payloads, &states, &max, &run_at, &keys],
    )?;
    let mut new_ids: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
    new_ids.sort_unstable();
    let new_keys: Vec<Option<String>> = {
        let mut by_id: Vec<(i64, Option<String>)> =
            rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        by_id.sort_unstable_by_key(|(id, _)| *id);
        by_id.into_iter().map(|(_, k)| k).collect()
    };
    // A job is new if its key came back (or it has none); the rest met an existing key.
    let taken: Vec<&str> = keys
        .iter()
        .flatten()
        .copied()
        .filter(|k| !new_keys.iter().any(|n| n.as_deref() == Some(*k)))
        .collect();
    let existing: Vec<(String, i64)> = if taken.is_empty() {
        Vec::new()
    } else {
        tx.query("SELECT key, id FROM jobs WHERE key = ANY($1)", &[&taken])?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect()
    };
    let mut next_new = new_ids.into_iter();
    let mut seen_keys: Vec<&str> = Vec::new();
    let mut out = Vec::with_capacity(jobs.len());
    for key in &keys {
        let is_new = match key {
            None => true,
            Some(k) => {
                let fresh =
                    new_keys.iter().any(|n| n.as_deref() == Some(*k)) && !seen_keys.contains(k);
                seen_keys.push(k);
                fresh
            }
        };
        if is_new {
            out.push(Enqueued::New(next_new.next().expect("one id per new job")));
        } else {
            let k = key.expect("only keyed jobs meet an existing key");
            let id = existing
                .iter()
                .find(|(e, _)| e == k)
                .map(|(_, id)| *id)
                .or_else(|| {
                    // The same key twice in one batch: the second is the first's job.
                    out.iter()
                        .zip(&keys)
                        .find(|(_, kk)| **kk == Some(k))
                        .map(|(e, _)| e.id())
                })
                .expect("the key is in the table");
            out.push(Enqueued::Existing(id));
        }
    }
    // New: wake idle workers. Delivered when this transaction commits, and only then.
    if out.iter().any(|e| matches!(e, Enqueued::New(_))) {
        tx.execute("SELECT pg_notify($1, '')", &[&CHANNEL])?;
    }
    Ok(out)
}
// ANCHOR_END: enqueue

// ANCHOR: rescue
/// New: the rescuer. Jobs still `running` after their lease ran out go back to `retryable` (or
/// to `discarded` on their last attempt). `SKIP LOCKED`: a row another transaction holds is
/// being completed or renewed right now, so it is not abandoned; two rescuers never take the
/// same row.
pub(super) fn rescue(tx: &mut Transaction<'_>, now: i64) -> Result<Vec<Rescued>, postgres::Error> {
    let rows = tx.query(
        "WITH expired AS (
             SELECT id, lease_token FROM jobs
             WHERE state = 'running' AND lease_until <= $1
             ORDER BY lease_until
             FOR UPDATE SKIP LOCKED
             LIMIT 1000),
         put_back AS (
             UPDATE jobs j
             SET state = CASE WHEN j.attempts >= j.max_attempts
                              THEN 'discarded' ELSE 'retryable' END,
                 run_at = $1,
                 last_error = 'attempt ' || j.attempts
                              || ': the lease ran out (its worker was lost)',
                 lease_token = NULL, lease_until = NULL
             FROM expired e WHERE j.id = e.id
             RETURNING j.id, j.attempts, j.state, e.lease_token),
         ended AS (
             UPDATE runs r SET outcome = 'lease expired'
             FROM put_back p WHERE r.id = p.lease_token)
         SELECT id, attempts, state FROM put_back ORDER BY id",
        &[&now],
    )?;
    if rows.iter().any(|r| r.get::<_, &str>(2) == "retryable") {
        tx.execute("SELECT pg_notify($1, '')", &[&CHANNEL])?;
    }
    Ok(rows
        .iter()
        .map(|r| Rescued {
            id: r.get(0),
            attempt: r.get::<_, i32>(1) as u32,
            discarded: r.get::<_, &str>(2) == "discarded",
        })
        .collect())
}
// ANCHOR_END: rescue

// ANCHOR: claim
/// Claims up to `n` waiting jobs, oldest first, in one statement. `FOR UPDATE` locks the rows
/// it picks until the commit; `SKIP LOCKED` makes every other claimer pass over them instead of
/// waiting, so many workers claim at once, each different jobs.
pub(super) fn claim(
    tx: &mut Transaction<'_>,
    worker: &str,
    n: usize,
    now: i64,
    lease_until: i64,
    cache: &mut Prepared,
) -> Result<Vec<Claim>, postgres::Error> {
    let statement = prepared(
        tx,
        cache,
        "WITH picked AS (
             SELECT id FROM jobs
             WHERE state IN ('available', 'scheduled', 'retryable') AND run_at <= $1
             ORDER BY run_at, id
             FOR UPDATE SKIP LOCKED
             LIMIT $2),
         started AS (
             INSERT INTO runs (job_id, attempt, worker, started_at)
             SELECT j.id, j.attempts + 1, $3, $1 FROM jobs j JOIN picked USING (id)
             RETURNING id AS token, job_id)
         UPDATE jobs j
         SET state = 'running', attempts = j.attempts + 1,
             lease_token = s.token, lease_until = $4
         FROM started s WHERE j.id = s.job_id
         RETURNING j.id, j.payload, j.attempts, j.max_attempts, j.lease_token, j.last_error",
    )?;
    let rows = tx.query(&statement, &[&now, &(n as i64), &worker, &lease_until])?;
    let mut claims: Vec<Claim> = rows
        .iter()
        .map(|r| Claim {
            id: r.get(0),
            payload: r.get(1),
            attempt: r.get::<_, i32>(2) as u32,
            max_attempts: r.get::<_, i32>(3) as u32,
            token: r.get(4),
            lease_until,
            previous_error: r.get(5),
        })
        .collect();
    claims.sort_by_key(|c| c.id);
    Ok(claims)
}
// ANCHOR_END: claim

pub(super) fn renew(
    tx: &mut Transaction<'_>,
    held: &[(i64, i64)],
    lease_until: i64,
) -> Result<Vec<(i64, i64)>, postgres::Error> {
    if held.is_empty() {
        return Ok(Vec::new());
    }
    let (ids, tokens): (Vec<i64>, Vec<i64>) = held.iter().copied().unzip();
    let rows = tx.query(
        "UPDATE jobs j SET lease_until = $1
         FROM unnest($2::bigint[], $3::bigint[]) AS h (id, token)
         WHERE j.id = h.id AND j.lease_token = h.token AND j.state = 'running'
         RETURNING j.id",
        &[&lease_until, &ids, &tokens],
    )?;
    let kept: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
    Ok(held
        .iter()
        .copied()
        .filter(|(id, _)| !kept.contains(id))
        .collect())
}
