//! What a worker does, event by event, and how it prints each one. Lesson 11's worker does the
//! same things and reports them with this type (`lesson_11::worker::QueueEvent`), beside two
//! events of its own about the connection.

use crate::job::Claim;
use crate::store::{Recorded, Rescued};
use std::fmt;

/// Something the worker did, for whoever prints it.
#[derive(Debug, Clone)]
pub enum Event {
    /// It claimed a job and gave it to the pool.
    Took(Claim),
    /// An attempt ended and was recorded (or refused: [`Recorded::LeaseLost`]).
    Finished {
        /// The job.
        id: i64,
        /// Which attempt.
        attempt: u32,
        /// What the job returned.
        result: Result<String, String>,
        /// What the queue made of it.
        recorded: Recorded,
    },
    /// It found a job whose worker was lost and put it back.
    Rescued(Rescued),
    /// A lease could not be renewed: another worker has the job now.
    LeaseLost(i64),
    /// A stop was asked for; this many jobs were still running.
    Stopping(usize),
    /// Jobs handed back unfinished when the grace period ran out.
    HandedBack(usize),
}

/// One event as a worker prints it, after `worker NAME `.
impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Took(c) => {
                write!(
                    f,
                    "took job {} (attempt {} of {}",
                    c.id, c.attempt, c.max_attempts
                )?;
                if c.previous_error
                    .as_deref()
                    .is_some_and(|e| e.contains("lease ran out"))
                {
                    write!(f, "; attempt {}'s lease ran out", c.attempt - 1)?;
                }
                f.write_str(")")
            }
            Event::Finished {
                id,
                attempt,
                result,
                recorded,
            } => match (recorded, result) {
                (Recorded::Completed, Ok(out)) => write!(f, "finished job {id}: result {out}"),
                (Recorded::Retry { delay, .. }, Err(e)) => write!(
                    f,
                    "failed job {id} (attempt {attempt}): {e}; retry in {}",
                    course_support::human(*delay)
                ),
                (Recorded::Discarded, Err(e)) => write!(
                    f,
                    "failed job {id} (attempt {attempt}): {e}; no attempts left: discarded"
                ),
                (Recorded::LeaseLost, _) => write!(
                    f,
                    "finished job {id} too late: its lease was lost, nothing written"
                ),
                (recorded, result) => write!(f, "finished job {id}: {result:?} → {recorded:?}"),
            },
            Event::Rescued(r) => write!(
                f,
                "put back job {} (attempt {}'s lease ran out){}",
                r.id,
                r.attempt,
                if r.discarded {
                    ": no attempts left, discarded"
                } else {
                    ""
                }
            ),
            Event::LeaseLost(id) => write!(f, "lost its lease on job {id}: another worker has it"),
            Event::Stopping(n) => write!(f, "stopping: claims nothing more, finishes {n} running"),
            Event::HandedBack(n) => write!(f, "handed back {n} unfinished jobs"),
        }
    }
}
