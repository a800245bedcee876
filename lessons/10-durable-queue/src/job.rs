//! What the queue stores about a job, and the states a job moves through.
//!
//! ```text
//!               enqueue                      claim                    complete
//!  scheduled ──(run_at comes)──▶ available ────────▶ running ─────────────────▶ completed
//!      ▲                             ▲                │  │
//!      │ enqueue with a delay        │ retry (by hand)│  │ fail, attempts left
//!                                    │                │  ▼
//!                 discarded ◀────────┼─── fail, none left  retryable ──(backoff over)──▶ claimed again
//!                 cancelled ◀── cancel (while waiting)
//! ```
//!
//! A `running` job whose lease runs out goes back to `retryable` (or to `discarded` when it has
//! used every attempt): the worker that held it is presumed dead.

use std::fmt;
use std::str::FromStr;

// ANCHOR: state
/// Where a job is in its life. The names are River's; Oban calls `running` "executing".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum State {
    /// Waiting, and may run now.
    Available,
    /// Waiting for its `run_at`, set when it was enqueued.
    Scheduled,
    /// Claimed by a worker, which holds a lease on it.
    Running,
    /// Ran to the end; its effect is written. Terminal.
    Completed,
    /// Failed (or its worker was lost) with attempts left; waits for its backoff to pass.
    Retryable,
    /// Used every attempt; the last error is kept. The dead-letter state. Terminal until a
    /// person retries it.
    Discarded,
    /// Cancelled before it ran again. Terminal.
    Cancelled,
}
// ANCHOR_END: state

impl State {
    /// Every state, in the order status reports list them.
    pub const ALL: [State; 7] = [
        State::Available,
        State::Scheduled,
        State::Running,
        State::Completed,
        State::Retryable,
        State::Discarded,
        State::Cancelled,
    ];

    /// The name stored in the database and printed.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Available => "available",
            State::Scheduled => "scheduled",
            State::Running => "running",
            State::Completed => "completed",
            State::Retryable => "retryable",
            State::Discarded => "discarded",
            State::Cancelled => "cancelled",
        }
    }

    /// Whether the job will never run again by itself.
    pub fn is_terminal(self) -> bool {
        matches!(self, State::Completed | State::Discarded | State::Cancelled)
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for State {
    type Err = String;

    fn from_str(s: &str) -> Result<State, String> {
        State::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| format!("{s:?} is not a job state"))
    }
}

/// A job to put on the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    /// What the job is about; the queue stores it as it is and never reads it.
    pub payload: String,
    /// How many times it may run before it is discarded (at least 1).
    pub max_attempts: u32,
    /// Run no earlier than this many milliseconds after it is enqueued (0: now).
    pub delay_ms: u64,
    /// If a job with this key exists, enqueue gives that job back instead of adding another.
    pub key: Option<String>,
}

impl NewJob {
    /// A job that may run now, up to 3 times, with no key.
    pub fn new(payload: impl Into<String>) -> NewJob {
        NewJob {
            payload: payload.into(),
            max_attempts: 3,
            delay_ms: 0,
            key: None,
        }
    }
}

/// A job as the queue holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// The queue's id, from 1 in the order jobs were enqueued.
    pub id: i64,
    /// As enqueued.
    pub payload: String,
    /// Where it is now.
    pub state: State,
    /// How many times it has been claimed (each claim is one attempt).
    pub attempts: u32,
    /// How many attempts it is allowed.
    pub max_attempts: u32,
    /// When it may run (next), in milliseconds on the queue's clock.
    pub run_at: i64,
    /// The error of its last failed attempt, if any.
    pub last_error: Option<String>,
    /// Its idempotency key, if it was enqueued with one.
    pub key: Option<String>,
}

/// A job a worker has claimed: the worker may run it, and must finish it with its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The job's id.
    pub id: i64,
    /// As enqueued.
    pub payload: String,
    /// Which attempt this is, from 1.
    pub attempt: u32,
    /// How many attempts the job is allowed.
    pub max_attempts: u32,
    /// The lease token: the id of this attempt. A completion that does not carry the job's
    /// current token is refused, so a worker that lost its lease cannot finish the job.
    pub token: i64,
    /// When the lease runs out unless renewed, in milliseconds on the queue's clock.
    pub lease_until: i64,
    /// Why the attempt before this one ended, if it did not end well (a failure, or a lost
    /// lease).
    pub previous_error: Option<String>,
}
