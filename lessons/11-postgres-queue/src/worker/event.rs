//! What a worker does, event by event, and how it prints each one.

use crate::store::{Recorded, Rescued};
use lesson_10::job::Claim;
use std::fmt;
use std::time::Duration;

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
    /// Its rescuer found a job whose worker was lost and put it back.
    Rescued(Rescued),
    /// A lease could not be renewed: another worker has the job now.
    LeaseLost(i64),
    /// A stop was asked for; this many jobs were still running.
    Stopping(usize),
    /// Jobs handed back unfinished when the grace period ran out.
    HandedBack(usize),
    /// New: the connection was lost, and this is why.
    Disconnected(String),
    /// New: connected again after this long; `handed_back` claims whose answer was lost went
    /// back to the queue.
    Reconnected {
        /// How long the server was out of reach.
        after: Duration,
        /// How many tries it took.
        tries: u32,
        /// Claims found on the server that the worker never heard about.
        handed_back: usize,
    },
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
            // Phrased with "abandoned", so the snapshot's sort puts these lines by job.
            Event::Rescued(r) => write!(
                f,
                "put back job {}, abandoned by its worker: attempt {}'s lease ran out{}",
                r.id,
                r.attempt,
                if r.discarded {
                    "; no attempts left, discarded"
                } else {
                    ""
                }
            ),
            Event::LeaseLost(id) => write!(f, "lost its lease on job {id}: another worker has it"),
            Event::Stopping(n) => write!(f, "stopping: claims nothing more, finishes {n} running"),
            Event::HandedBack(n) => write!(f, "handed back {n} unfinished jobs"),
            Event::Disconnected(why) => write!(f, "lost the server: {why}"),
            Event::Reconnected { after, .. } => write!(
                f,
                "stopped for {}: lost the server, reconnected with backoff",
                course_support::human(*after)
            ),
        }
    }
}
