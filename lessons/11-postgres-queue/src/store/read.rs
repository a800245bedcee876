//! Reading the queue: jobs, attempts, effects and counts.

use super::{Counts, ErrorKind, Run, Store, StoreError};
use lesson_10::job::{Job, State};
use postgres::Row;

impl Store {
    /// One job.
    pub fn job(&mut self, id: i64) -> Result<Option<Job>, StoreError> {
        let row = self
            .client
            .query_opt(
                &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1"),
                &[&id],
            )
            .map_err(|e| self.err(e))?;
        Ok(row.map(|r| job_from_row(&r)))
    }

    /// Every job, by id.
    pub fn jobs(&mut self) -> Result<Vec<Job>, StoreError> {
        let rows = self
            .client
            .query(&format!("SELECT {JOB_COLUMNS} FROM jobs ORDER BY id"), &[])
            .map_err(|e| self.err(e))?;
        Ok(rows.iter().map(job_from_row).collect())
    }

    /// Every attempt, by start.
    pub fn runs(&mut self) -> Result<Vec<Run>, StoreError> {
        let rows = self
            .client
            .query(
                "SELECT job_id, attempt, worker, started_at, ended_at, outcome
                 FROM runs ORDER BY started_at, id",
                &[],
            )
            .map_err(|e| self.err(e))?;
        Ok(rows
            .iter()
            .map(|r| Run {
                job: r.get(0),
                attempt: r.get::<_, i32>(1) as u32,
                worker: r.get(2),
                started_at: r.get(3),
                ended_at: r.get(4),
                outcome: r.get(5),
            })
            .collect())
    }

    /// The effect rows: (job, output), by job.
    pub fn effects(&mut self) -> Result<Vec<(i64, String)>, StoreError> {
        let rows = self
            .client
            .query(
                "SELECT job_id, output FROM effects ORDER BY job_id, id",
                &[],
            )
            .map_err(|e| self.err(e))?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// Counts per state, and of effects.
    pub fn counts(&mut self) -> Result<Counts, StoreError> {
        let mut counts = Counts::default();
        let rows = self
            .client
            .query("SELECT state, count(*) FROM jobs GROUP BY state", &[])
            .map_err(|e| self.err(e))?;
        for row in rows {
            let state: String = row.get(0);
            let state: State = state.parse().map_err(|_| self.fail(ErrorKind::Foreign))?;
            let at = State::ALL.iter().position(|s| *s == state).expect("in ALL");
            counts.by_state[at] = row.get::<_, i64>(1) as u64;
        }
        let row = self
            .client
            .query_one(
                "SELECT (SELECT count(*) FROM effects),
                        (SELECT count(*) FROM (SELECT job_id FROM effects
                                               GROUP BY job_id HAVING count(*) > 1) d),
                        (SELECT count(*) FROM jobs WHERE attempts > 1)",
                &[],
            )
            .map_err(|e| self.err(e))?;
        counts.effects = row.get::<_, i64>(0) as u64;
        counts.doubled = row.get::<_, i64>(1) as u64;
        counts.ran_more_than_once = row.get::<_, i64>(2) as u64;
        Ok(counts)
    }
}

pub(super) const JOB_COLUMNS: &str =
    "id, payload, state, attempts, max_attempts, run_at, last_error, key";

pub(super) fn job_from_row(r: &Row) -> Job {
    let state: String = r.get(2);
    Job {
        id: r.get(0),
        payload: r.get(1),
        state: state
            .parse()
            .expect("the CHECK constraint allows only states"),
        attempts: r.get::<_, i32>(3) as u32,
        max_attempts: r.get::<_, i32>(4) as u32,
        run_at: r.get(5),
        last_error: r.get(6),
        key: r.get(7),
    }
}
