//! What goes into a worker's turn; what comes out of it is lesson 10's `TurnResult`.

use super::Finished;

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
