//! The steps a transaction is made of: enqueue, rescue, claim, renew, record. Each takes the
//! open transaction; the caller begins and commits it.

use super::{Enqueued, Finished, Recorded, Rescued};
use crate::backoff::Backoff;
use crate::job::{Claim, NewJob, State};
use rusqlite::{OptionalExtension as _, Transaction, params};

// ANCHOR: enqueue
pub(super) fn enqueue_in(
    tx: &Transaction<'_>,
    jobs: &[NewJob],
    now: i64,
) -> rusqlite::Result<Vec<Enqueued>> {
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
pub(super) fn rescue(tx: &Transaction<'_>, now: i64) -> rusqlite::Result<Vec<Rescued>> {
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
pub(super) fn claim(
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

pub(super) fn renew(
    tx: &Transaction<'_>,
    id: i64,
    token: i64,
    lease_until: i64,
) -> rusqlite::Result<bool> {
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
pub(super) fn record(
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
