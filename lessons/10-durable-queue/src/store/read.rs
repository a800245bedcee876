//! Reading the queue: jobs, attempts, effects and counts, for `status`, the demo and the tests.

use super::error::{err, fail};
use super::{Counts, ErrorKind, Run, Store, StoreError};
use crate::job::{Job, State};
use rusqlite::{Connection, OptionalExtension as _};

impl Store {
    /// One job.
    pub fn job(&self, id: i64) -> Result<Option<Job>, StoreError> {
        get(&self.conn, id).map_err(|e| err(&self.path, e))
    }

    /// Every job, by id.
    pub fn jobs(&self) -> Result<Vec<Job>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!("SELECT {JOB_COLUMNS} FROM jobs ORDER BY id"))
            .map_err(|e| err(&self.path, e))?;
        let rows = stmt
            .query_map([], job_from_row)
            .map_err(|e| err(&self.path, e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| err(&self.path, e))
    }

    /// Every attempt: (job, attempt, worker, started, ended, outcome), by start.
    pub fn runs(&self) -> Result<Vec<Run>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT job_id, attempt, worker, started_at, ended_at, outcome
                 FROM runs ORDER BY started_at, id",
            )
            .map_err(|e| err(&self.path, e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(Run {
                    job: r.get(0)?,
                    attempt: r.get(1)?,
                    worker: r.get(2)?,
                    started_at: r.get(3)?,
                    ended_at: r.get(4)?,
                    outcome: r.get(5)?,
                })
            })
            .map_err(|e| err(&self.path, e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| err(&self.path, e))
    }

    /// The effect rows: (job, output), by job.
    pub fn effects(&self) -> Result<Vec<(i64, String)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT job_id, output FROM effects ORDER BY job_id, id")
            .map_err(|e| err(&self.path, e))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| err(&self.path, e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| err(&self.path, e))
    }

    /// Counts per state, and of effects.
    pub fn counts(&self) -> Result<Counts, StoreError> {
        let mut counts = Counts::default();
        let mut stmt = self
            .conn
            .prepare("SELECT state, count(*) FROM jobs GROUP BY state")
            .map_err(|e| err(&self.path, e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
            })
            .map_err(|e| err(&self.path, e))?;
        for row in rows {
            let (state, n) = row.map_err(|e| err(&self.path, e))?;
            let state: State = state
                .parse()
                .map_err(|_| fail(&self.path, ErrorKind::Foreign))?;
            counts.by_state[State::ALL.iter().position(|s| *s == state).expect("in ALL")] = n;
        }
        let (effects, doubled, more): (i64, i64, i64) = self
            .conn
            .query_row(
                "SELECT (SELECT count(*) FROM effects),
                        (SELECT count(*) FROM (SELECT job_id FROM effects
                                               GROUP BY job_id HAVING count(*) > 1)),
                        (SELECT count(*) FROM jobs WHERE attempts > 1)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .map_err(|e| err(&self.path, e))?;
        counts.effects = effects as u64;
        counts.doubled = doubled as u64;
        counts.ran_more_than_once = more as u64;
        Ok(counts)
    }

    /// The SQL connection, for the application's own tables (and the benchmarks' bare
    /// transactions).
    pub fn connection(&mut self) -> &mut Connection {
        &mut self.conn
    }
}

pub(super) const JOB_COLUMNS: &str =
    "id, payload, state, attempts, max_attempts, run_at, last_error, key";

pub(super) fn job_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Job> {
    let state: String = r.get(2)?;
    Ok(Job {
        id: r.get(0)?,
        payload: r.get(1)?,
        state: state.parse().map_err(|e: String| {
            rusqlite::Error::FromSqlConversionFailure(2, rusqlite::types::Type::Text, e.into())
        })?,
        attempts: r.get(3)?,
        max_attempts: r.get(4)?,
        run_at: r.get(5)?,
        last_error: r.get(6)?,
        key: r.get(7)?,
    })
}

pub(super) fn get(conn: &Connection, id: i64) -> rusqlite::Result<Option<Job>> {
    conn.query_row(
        &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?1"),
        [id],
        job_from_row,
    )
    .optional()
}
