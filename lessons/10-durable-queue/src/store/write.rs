//! The transactions a program makes: enqueue, a worker's turn and the smaller calls built from
//! it, and handing claimed jobs back.

use super::error::{classify, err, fail};
use super::steps::{claim, enqueue_in, record, renew, rescue};
use super::{Enqueued, Finished, Recorded, Store, StoreError, Turn, TurnResult, begin};
use crate::job::{Claim, NewJob};
use rusqlite::params;
use std::time::Duration;

impl Store {
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
}
