//! The record step: how attempts ended, written only where the worker still holds the job.

use super::{Prepared, prepared};
use crate::store::{Finished, Recorded};
use lesson_10::backoff::Backoff;
use postgres::Transaction;

// ANCHOR: record
/// Writes how attempts ended, only where the worker still holds the job (the token is the
/// job's current one): effects and completions of the whole batch in one statement, failures one
/// by one. New: a result already written by this same attempt is reported as written, so a
/// worker that lost the server's answer to its commit can send the same results again.
pub(in crate::store) fn record(
    tx: &mut Transaction<'_>,
    finished: &[Finished],
    now: i64,
    backoff: &Backoff,
    cache: &mut Prepared,
) -> Result<Vec<Recorded>, postgres::Error> {
    if finished.is_empty() {
        return Ok(Vec::new());
    }
    let ok: Vec<&Finished> = finished.iter().filter(|f| f.result.is_ok()).collect();
    let ids: Vec<i64> = ok.iter().map(|f| f.id).collect();
    let tokens: Vec<i64> = ok.iter().map(|f| f.token).collect();
    let outputs: Vec<&str> = ok
        .iter()
        .map(|f| f.result.as_deref().unwrap_or_default())
        .collect();
    let statement = prepared(
        tx,
        cache,
        "WITH done AS (
             SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[])
                 AS d (id, token, output)),
         held AS (
             UPDATE jobs j SET state = 'completed', lease_token = NULL, lease_until = NULL
             FROM done d
             WHERE j.id = d.id AND j.lease_token = d.token AND j.state = 'running'
             RETURNING j.id, d.token, d.output),
         effect AS (
             INSERT INTO effects (job_id, output) SELECT id, output FROM held),
         ended AS (
             UPDATE runs r SET ended_at = $4, outcome = 'completed'
             FROM held h WHERE r.id = h.token)
         SELECT token FROM held",
    )?;
    let completed: Vec<i64> = tx
        .query(&statement, &[&ids, &tokens, &outputs, &now])?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut out = Vec::with_capacity(finished.len());
    for f in finished {
        let recorded = match &f.result {
            Ok(_) if completed.contains(&f.token) => Recorded::Completed,
            Ok(_) => already(tx, f, backoff)?,
            Err(error) => fail_one(tx, f, error, now, backoff)?,
        };
        out.push(recorded);
    }
    Ok(out)
}

/// An attempt whose result was not written now: written before (by the same attempt, whose
/// commit's answer was lost), or refused because the lease is gone.
fn already(
    tx: &mut Transaction<'_>,
    f: &Finished,
    backoff: &Backoff,
) -> Result<Recorded, postgres::Error> {
    let row = tx.query_opt(
        "SELECT r.outcome, j.state, j.run_at, j.attempts FROM runs r JOIN jobs j ON j.id = r.job_id
         WHERE r.id = $1 AND r.job_id = $2 AND r.ended_at IS NOT NULL",
        &[&f.token, &f.id],
    )?;
    Ok(match row {
        Some(r) => match (r.get::<_, Option<&str>>(0), r.get::<_, &str>(1)) {
            (Some("completed"), _) => Recorded::Completed,
            (Some(o), "discarded") if o.starts_with("failed") => Recorded::Discarded,
            (Some(o), _) if o.starts_with("failed") => Recorded::Retry {
                run_at: r.get(2),
                delay: backoff.delay(f.id, r.get::<_, i32>(3) as u32),
            },
            _ => Recorded::LeaseLost,
        },
        None => Recorded::LeaseLost,
    })
}

fn fail_one(
    tx: &mut Transaction<'_>,
    f: &Finished,
    error: &str,
    now: i64,
    backoff: &Backoff,
) -> Result<Recorded, postgres::Error> {
    let held = tx.query_opt(
        "SELECT attempts, max_attempts FROM jobs
         WHERE id = $1 AND lease_token = $2 AND state = 'running' FOR UPDATE",
        &[&f.id, &f.token],
    )?;
    let Some(row) = held else {
        return already(tx, f, backoff);
    };
    let (attempts, max_attempts) = (row.get::<_, i32>(0) as u32, row.get::<_, i32>(1) as u32);
    let recorded = if attempts >= max_attempts {
        tx.execute(
            "UPDATE jobs SET state = 'discarded', last_error = $2,
                 lease_token = NULL, lease_until = NULL
             WHERE id = $1",
            &[&f.id, &error],
        )?;
        Recorded::Discarded
    } else {
        let delay = backoff.delay(f.id, attempts);
        let run_at = now + delay.as_millis() as i64;
        tx.execute(
            "UPDATE jobs SET state = 'retryable', last_error = $2, run_at = $3,
                 lease_token = NULL, lease_until = NULL
             WHERE id = $1",
            &[&f.id, &error, &run_at],
        )?;
        Recorded::Retry { run_at, delay }
    };
    tx.execute(
        "UPDATE runs SET ended_at = $2, outcome = $3 WHERE id = $1",
        &[&f.token, &now, &format!("failed: {error}")],
    )?;
    Ok(recorded)
}
// ANCHOR_END: record
