//! What goes into a worker's turn, and what comes out of it.

use super::{Finished, Recorded, Rescued};
use lesson_10::job::Claim;

/// The queue's one trip to the server for a worker (lesson 10's `Turn`, plus the rescue's turn).
#[derive(Debug, Clone, Default)]
pub struct Turn<'a> {
    /// Attempts that have ended since the last turn.
    pub finished: &'a [Finished],
    /// Leases to extend: (job, token).
    pub renew: &'a [(i64, i64)],
    /// New: whether to run the rescuer this turn (every worker runs it now and then).
    pub rescue: bool,
    /// How many jobs to claim.
    pub claim: usize,
}

/// What a turn did.
#[derive(Debug, Default)]
pub struct TurnResult {
    /// For each finished attempt, in order.
    pub recorded: Vec<Recorded>,
    /// Leases that could not be renewed: (job, token).
    pub lost: Vec<(i64, i64)>,
    /// Jobs the rescuer put back.
    pub rescued: Vec<Rescued>,
    /// Jobs claimed.
    pub claimed: Vec<Claim>,
}
