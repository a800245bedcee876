//! `retry` and `cancel`: a person moves one job.

use super::open;
use crate::JobArgs;
use lesson_11::backoff::Backoff;
use lesson_11::job::Job;
use lesson_11::store::StoreError;

pub(crate) fn retry(a: &JobArgs) -> Result<(), StoreError> {
    let job = open(&a.db, Backoff::default())?.retry(a.id)?;
    println!("{}", job_line("retried", &job));
    Ok(())
}

pub(crate) fn cancel(a: &JobArgs) -> Result<(), StoreError> {
    let job = open(&a.db, Backoff::default())?.cancel(a.id)?;
    println!("{}", job_line("cancelled", &job));
    Ok(())
}

fn job_line(verb: &str, job: &Job) -> String {
    format!(
        "{verb} job {}: now {}, {} of {} attempts used",
        job.id, job.state, job.attempts, job.max_attempts
    )
}
