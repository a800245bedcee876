//! The transactions a program makes: enqueue, a worker's turn and the smaller calls built from
//! it, and handing claimed jobs back.

use super::error::err;
use super::steps::{claim, cut, enqueue_in, now_ms, record, renew, rescue};
use super::{CHANNEL, Enqueued, Finished, Recorded, Rescued, Store, StoreError, Turn, TurnResult};
use lesson_10::job::{Claim, NewJob};
use std::time::Duration;

impl Store {
    /// Adds jobs in one transaction; a job whose key exists gives back the existing job.
    pub fn enqueue(&mut self, jobs: &[NewJob]) -> Result<Vec<Enqueued>, StoreError> {
        let skew = self.skew_ms;
        let mut tx = self
            .client
            .transaction()
            .map_err(|e| err(&self.server, e))?;
        let out = enqueue_in(&mut tx, jobs, skew).map_err(|e| err(&self.server, e))?;
        lesson_10::fault::point("mid-enqueue");
        tx.commit().map_err(|e| err(&self.server, e))?;
        Ok(out)
    }

    // ANCHOR: turn
    /// One trip to the server for a worker, in one transaction: record what finished, renew
    /// leases, run the rescuer if asked, claim up to `turn.claim` jobs.
    pub fn turn(
        &mut self,
        worker: &str,
        lease: Duration,
        turn: &Turn<'_>,
    ) -> Result<TurnResult, StoreError> {
        let (skew, backoff) = (self.skew_ms, self.backoff);
        let cache = &mut self.cache;
        let mut tx = self
            .client
            .transaction()
            .map_err(|e| err(&self.server, e))?;
        let result = (|| -> Result<TurnResult, postgres::Error> {
            // New: the server's clock, the one every machine agrees on.
            let now = now_ms(&mut tx)? + skew;
            let lease_until = now + lease.as_millis() as i64;
            let mut out = TurnResult {
                recorded: record(&mut tx, turn.finished, now, &backoff, cache)?,
                lost: renew(&mut tx, turn.renew, lease_until)?,
                ..TurnResult::default()
            };
            if !turn.finished.is_empty() && crate::cut::now("mid-completion") {
                cut(&mut tx)?;
            }
            if turn.rescue {
                out.rescued = rescue(&mut tx, now)?;
            }
            if turn.claim > 0 {
                out.claimed = claim(&mut tx, worker, turn.claim, now, lease_until, cache)?;
                if !out.claimed.is_empty() && crate::cut::now("mid-claim") {
                    cut(&mut tx)?;
                }
            }
            Ok(out)
        })();
        let out = result.map_err(|e| err(&self.server, e))?;
        lesson_10::fault::point("mid-commit");
        tx.commit().map_err(|e| err(&self.server, e))?;
        if (!out.claimed.is_empty() || !turn.finished.is_empty()) && crate::cut::now("lost-answer")
        {
            // Committed, but the worker is told the connection failed: as if the answer to the
            // commit was lost on the way.
            let lost = self
                .client
                .batch_execute("SELECT pg_terminate_backend(pg_backend_pid())");
            if let Err(e) = lost {
                return Err(err(&self.server, e));
            }
        }
        Ok(out)
    }
    // ANCHOR_END: turn

    /// Claims up to `n` jobs (one transaction).
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

    /// Records one finished attempt (one transaction).
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

    /// Runs the rescuer alone: jobs whose lease ran out go back (one transaction).
    pub fn rescue(&mut self) -> Result<Vec<Rescued>, StoreError> {
        let turn = Turn {
            rescue: true,
            ..Turn::default()
        };
        Ok(self.turn("", Duration::ZERO, &turn)?.rescued)
    }

    // ANCHOR: adopt
    /// New: the attempts `worker` holds according to the server: (job, token). After a lost
    /// connection, a worker compares them with what it knows: a claim whose answer never arrived
    /// is here, but not in the worker's pool.
    pub fn held_by(&mut self, worker: &str) -> Result<Vec<(i64, i64)>, StoreError> {
        let rows = self
            .client
            .query(
                "SELECT j.id, j.lease_token FROM jobs j JOIN runs r ON r.id = j.lease_token
                 WHERE j.state = 'running' AND r.worker = $1 AND r.ended_at IS NULL",
                &[&worker],
            )
            .map_err(|e| self.err(e))?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }
    // ANCHOR_END: adopt

    /// Hands claimed jobs back unstarted: available again, the attempt not counted.
    pub fn hand_back(&mut self, held: &[(i64, i64)]) -> Result<usize, StoreError> {
        let (ids, tokens): (Vec<i64>, Vec<i64>) = held.iter().copied().unzip();
        let skew = self.skew_ms;
        let mut tx = self
            .client
            .transaction()
            .map_err(|e| err(&self.server, e))?;
        let result = (|| -> Result<usize, postgres::Error> {
            let now = now_ms(&mut tx)? + skew;
            let rows = tx.query(
                "WITH back AS (
                     UPDATE jobs j SET state = 'available', attempts = attempts - 1, run_at = $3,
                         lease_token = NULL, lease_until = NULL
                     FROM unnest($1::bigint[], $2::bigint[]) AS h (id, token)
                     WHERE j.id = h.id AND j.lease_token = h.token AND j.state = 'running'
                     RETURNING h.token),
                 ended AS (
                     UPDATE runs r SET ended_at = $3, outcome = 'handed back'
                     FROM back b WHERE r.id = b.token)
                 SELECT count(*) FROM back",
                &[&ids, &tokens, &now],
            )?;
            if !held.is_empty() {
                tx.execute("SELECT pg_notify($1, '')", &[&CHANNEL])?;
            }
            Ok(rows[0].get::<_, i64>(0) as usize)
        })();
        let n = result.map_err(|e| err(&self.server, e))?;
        tx.commit().map_err(|e| err(&self.server, e))?;
        Ok(n)
    }
}
