//! What goes into the queue and what comes out of it.

use crate::job::{Claim, State};
use std::time::Duration;

/// How safe a commit is from a power cut (SQLite's `synchronous`, in WAL mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// `FULL`: every commit waits until the log is on the disk. A power cut loses nothing that
    /// was committed. The queue's default: an enqueue that said yes must survive.
    Full,
    /// `NORMAL`: commits reach the disk at the next checkpoint. A crash of the process loses
    /// nothing; a power cut or an OS crash may lose the last commits (never corrupts).
    Normal,
}

/// A finished attempt, on its way to the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    /// The job.
    pub id: i64,
    /// The lease token the worker claimed it with.
    pub token: i64,
    /// The job's output (its effect), or why it failed.
    pub result: Result<String, String>,
}

/// What became of a finished attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// Its effect is written and the job is completed.
    Completed,
    /// It failed and will run again no earlier than `run_at`.
    Retry {
        /// When, on the queue's clock.
        run_at: i64,
        /// The backoff chosen.
        delay: Duration,
    },
    /// It failed on its last attempt and is discarded with its error.
    Discarded,
    /// The worker no longer held the lease (another worker claimed the job since): nothing was
    /// written.
    LeaseLost,
}

/// A job whose worker stopped renewing its lease, found and put back by a claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rescued {
    /// The job.
    pub id: i64,
    /// The attempt that was lost.
    pub attempt: u32,
    /// Whether it was discarded (no attempts left) rather than made retryable.
    pub discarded: bool,
}

/// One worker's trip to the disk.
#[derive(Debug, Clone, Default)]
pub struct Turn<'a> {
    /// Attempts that have ended since the last turn.
    pub finished: &'a [Finished],
    /// Leases to extend: (job, token).
    pub renew: &'a [(i64, i64)],
    /// How many jobs to claim (the free room in the worker).
    pub claim: usize,
}

/// What a turn did.
#[derive(Debug, Default)]
pub struct TurnResult {
    /// For each finished attempt, in order.
    pub recorded: Vec<Recorded>,
    /// Leases that could not be renewed (the job was taken away): (job, token).
    pub lost: Vec<(i64, i64)>,
    /// Jobs put back because their lease ran out.
    pub rescued: Vec<Rescued>,
    /// Jobs claimed.
    pub claimed: Vec<Claim>,
}

/// The queue's counts, as `status` prints them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    /// Jobs per state, in [`State::ALL`] order.
    pub by_state: [u64; 7],
    /// Rows in `effects`.
    pub effects: u64,
    /// Jobs with more than one effect row (must stay 0).
    pub doubled: u64,
    /// Jobs claimed more than once.
    pub ran_more_than_once: u64,
}

impl Counts {
    /// Jobs in `state`.
    pub fn of(&self, state: State) -> u64 {
        self.by_state[State::ALL.iter().position(|s| *s == state).expect("in ALL")]
    }

    /// Every job.
    pub fn total(&self) -> u64 {
        self.by_state.iter().sum()
    }

    /// Jobs that will still run (waiting or running).
    pub fn unfinished(&self) -> u64 {
        State::ALL
            .iter()
            .filter(|s| !s.is_terminal())
            .map(|s| self.of(*s))
            .sum()
    }
}

/// What `enqueue` did with one job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    /// Added with this id.
    New(i64),
    /// A job with the same key was already there: this is its id.
    Existing(i64),
}

impl Enqueued {
    /// The job's id either way.
    pub fn id(self) -> i64 {
        match self {
            Enqueued::New(id) | Enqueued::Existing(id) => id,
        }
    }
}

/// One attempt at a job, from the `runs` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// The job.
    pub job: i64,
    /// Which attempt.
    pub attempt: u32,
    /// The worker that claimed it.
    pub worker: String,
    /// When it was claimed, on the queue's clock (ms).
    pub started_at: i64,
    /// When it ended, if the end was recorded.
    pub ended_at: Option<i64>,
    /// How it ended: `completed`, `failed: …`, `lease expired`, `handed back`.
    pub outcome: Option<String>,
}
