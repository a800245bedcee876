//! What a person does to one job: retry it, or cancel it.

use super::error::{err, fail};
use super::read::{JOB_COLUMNS, job_from_row};
use super::steps::now_ms;
use super::{CHANNEL, ErrorKind, Store, StoreError};
use lesson_10::job::{Job, State};

impl Store {
    /// Puts a discarded, cancelled or retryable job back to run now, with one more attempt if
    /// it had used them all.
    pub fn retry(&mut self, id: i64) -> Result<Job, StoreError> {
        self.change(
            id,
            &[State::Discarded, State::Cancelled, State::Retryable],
            "only discarded, cancelled or retryable jobs can be retried",
            "UPDATE jobs SET state = 'available', run_at = $2,
                 max_attempts = greatest(max_attempts, attempts + 1)
             WHERE id = $1",
        )
    }

    /// Cancels a job that is waiting.
    pub fn cancel(&mut self, id: i64) -> Result<Job, StoreError> {
        self.change(
            id,
            &[State::Available, State::Scheduled, State::Retryable],
            "only waiting jobs (available, scheduled, retryable) can be cancelled",
            "UPDATE jobs SET state = 'cancelled' WHERE id = $1 AND $2::bigint IS NOT NULL",
        )
    }

    fn change(
        &mut self,
        id: i64,
        from: &[State],
        only: &'static str,
        sql: &str,
    ) -> Result<Job, StoreError> {
        let skew = self.skew_ms;
        let server = self.server.clone();
        let mut tx = self.client.transaction().map_err(|e| err(&server, e))?;
        let now = now_ms(&mut tx).map_err(|e| err(&server, e))? + skew;
        let row = tx
            .query_opt(
                &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1 FOR UPDATE"),
                &[&id],
            )
            .map_err(|e| err(&server, e))?;
        let job = row
            .map(|r| job_from_row(&r))
            .ok_or_else(|| fail(&server, ErrorKind::NoSuchJob(id)))?;
        if !from.contains(&job.state) {
            return Err(fail(&server, ErrorKind::WrongState(id, job.state, only)));
        }
        tx.execute(sql, &[&id, &now]).map_err(|e| err(&server, e))?;
        tx.execute("SELECT pg_notify($1, '')", &[&CHANNEL])
            .map_err(|e| err(&server, e))?;
        let job = job_from_row(
            &tx.query_one(
                &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1"),
                &[&id],
            )
            .map_err(|e| err(&server, e))?,
        );
        tx.commit().map_err(|e| err(&server, e))?;
        Ok(job)
    }
}
