//! A job the pool did not take, handed back. As with crossbeam-channel's `SendError`, the error
//! holds what could not be delivered, so nothing is silently dropped.

/// Why the pool handed a job back instead of taking it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// New: the pool's token was cancelled (by its deadline, a first error, or a caller).
    Cancelled,
    /// No worker is left to run it. Here, a job panicked and took its worker with it, so the
    /// pool cancelled itself; lesson 5's tokio pool, which shares this type, says the same when
    /// its last worker task has died.
    NoWorkers,
}

/// A job the pool did not take, handed back with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected<J> {
    /// The job, untouched.
    pub job: J,
    /// Why it was not taken.
    pub reason: Reason,
}

impl<J> Rejected<J> {
    /// The job, handed back: `Rejected` is an error that owns what it refused, as crossbeam's
    /// and std's `SendError` do.
    ///
    /// ```
    /// use lesson_4::{Reason, Rejected};
    /// let refused = Rejected { job: 7, reason: Reason::Cancelled };
    /// assert_eq!(refused.to_string(), "job refused: the pool was cancelled");
    /// let err: &dyn std::error::Error = &refused;
    /// assert_eq!(err.to_string(), "job refused: the pool was cancelled");
    /// assert_eq!(refused.into_inner(), 7);
    /// ```
    pub fn into_inner(self) -> J {
        self.job
    }
}

impl<J> std::fmt::Display for Rejected<J> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.reason {
            Reason::Cancelled => "job refused: the pool was cancelled",
            Reason::NoWorkers => "job refused: the pool has no workers left",
        })
    }
}

impl<J: std::fmt::Debug> std::error::Error for Rejected<J> {}
