//! A refused job, handed back. As with crossbeam-channel's `SendError`, the error holds what could
//! not be delivered, so nothing is silently dropped: the caller gets an id or gets its job back.

use crate::Reason;
use std::fmt;
use std::time::Duration;

/// A job the pool refused, handed back untouched, with the reason.
///
/// It prints as one line naming the reason, and is a [`std::error::Error`], so `?` can pass it
/// on; [`Rejected::into_inner`] takes the job back out.
///
/// ```
/// use lesson_7::{Pool, Reason};
///
/// let pool = Pool::builder().build(|_: &&str, _ctx| Ok(()))?;
/// pool.close();
/// let refused = pool.try_submit("send the invoice").unwrap_err();
/// assert_eq!(refused.reason, Reason::Closed);
/// assert_eq!(refused.to_string(), "job refused: the pool is closed");
/// let error: Box<dyn std::error::Error> = Box::new(refused.clone());
/// assert_eq!(error.to_string(), "job refused: the pool is closed");
/// assert_eq!(refused.into_inner(), "send the invoice");
/// # Ok::<(), lesson_7::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected<J> {
    /// The job.
    pub job: J,
    /// Why.
    pub reason: Reason,
    /// For a rate refusal: when a token will be free.
    pub retry_after: Option<Duration>,
}

impl<J> Rejected<J> {
    /// The job, handed back (as crossbeam's `SendError::into_inner` hands back the message).
    pub fn into_inner(self) -> J {
        self.job
    }
}

impl<J> fmt::Display for Rejected<J> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let why = match self.reason {
            Reason::Full => "the queue is full",
            Reason::Rate => "the rate limit has no token free",
            Reason::Breaker => "the circuit breaker is not letting jobs through",
            Reason::Closed => "the pool is closed",
            Reason::Timeout => "the queue stayed full until the timeout",
        };
        write!(f, "job refused: {why}")?;
        match self.retry_after {
            Some(after) => write!(f, " (try again in {after:?})"),
            None => Ok(()),
        }
    }
}

impl<J: fmt::Debug> std::error::Error for Rejected<J> {}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(reason: Reason, retry_after: Option<Duration>) -> Rejected<u32> {
        Rejected {
            job: 7,
            reason,
            retry_after,
        }
    }

    #[test]
    fn each_reason_prints_as_one_line_that_names_it() {
        let lines: Vec<String> = Reason::ALL
            .iter()
            .map(|&reason| refused(reason, None).to_string())
            .collect();
        assert_eq!(
            lines,
            [
                "job refused: the queue is full",
                "job refused: the rate limit has no token free",
                "job refused: the circuit breaker is not letting jobs through",
                "job refused: the pool is closed",
                "job refused: the queue stayed full until the timeout",
            ]
        );
    }

    #[test]
    fn a_rate_refusal_says_when_to_try_again() {
        let line = refused(Reason::Rate, Some(Duration::from_millis(20))).to_string();
        assert_eq!(
            line,
            "job refused: the rate limit has no token free (try again in 20ms)"
        );
    }

    #[test]
    fn into_inner_hands_the_job_back() {
        assert_eq!(refused(Reason::Full, None).into_inner(), 7);
    }

    #[test]
    fn it_is_an_error_with_no_source() {
        let error: &dyn std::error::Error = &refused(Reason::Breaker, None);
        assert!(error.source().is_none());
        assert!(error.to_string().contains("breaker"));
    }
}
