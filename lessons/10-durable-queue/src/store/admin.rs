//! What a person does to one job: retry it, or cancel it.

use super::error::{err, fail};
use super::read::get;
use super::{ErrorKind, Store, StoreError, begin};
use crate::job::{Job, State};
use rusqlite::params;

impl Store {
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
}
