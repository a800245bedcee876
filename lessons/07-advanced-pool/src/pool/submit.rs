//! The way in: `submit`, `try_submit` and `submit_timeout`, which differ only in how long they
//! may wait, all go through `enter`.

use super::{Envelope, Pool};
use crate::event::Event;
use crate::metrics::Metrics;
use crate::sync::Instant;
use crate::sync::channel::{SendTimeoutError, TrySendError};
use crate::{Reason, Rejected};
use std::sync::atomic::Ordering;
use std::time::Duration;

#[derive(Clone, Copy)]
enum Wait {
    No,
    Until(Instant),
    Forever,
}

impl<J: Send + 'static> Pool<J> {
    /// Queues a job, waiting for a rate token and for room in the queue as long as it takes.
    /// Refused at once only by the breaker or a closed pool.
    pub fn submit(&self, job: J) -> Result<u64, Rejected<J>> {
        self.enter(job, Wait::Forever)
    }

    /// Queues a job only if it can be done now: otherwise it comes back with `Full`, `Rate`,
    /// `Breaker` or `Closed`.
    pub fn try_submit(&self, job: J) -> Result<u64, Rejected<J>> {
        self.enter(job, Wait::No)
    }

    /// Queues a job, waiting at most `timeout` for room in the queue (and for a rate token, if
    /// one will be free within that time).
    pub fn submit_timeout(&self, job: J, timeout: Duration) -> Result<u64, Rejected<J>> {
        self.enter(job, Wait::Until(Instant::now() + timeout))
    }

    // ANCHOR: enter
    fn enter(&self, job: J, wait: Wait) -> Result<u64, Rejected<J>> {
        let s = &*self.shared;
        if s.closed.load(Ordering::Acquire) {
            return Err(self.refuse(job, Reason::Closed, None));
        }
        // The breaker goes first, so a job it refuses does not use up a rate token.
        let pass = match &s.breaker {
            None => None,
            Some(breaker) => {
                let (verdict, change) = breaker.admit(s.clock.now());
                if let Some(change) = change {
                    s.emit(Event::Breaker(change));
                }
                match verdict {
                    Ok(pass) => Some(pass),
                    Err(()) => return Err(self.refuse(job, Reason::Breaker, None)),
                }
            }
        };
        if let Some(limiter) = &s.limiter {
            while let Err(free_in) = limiter.try_acquire(s.clock.now()) {
                let fits = match wait {
                    Wait::No => false,
                    Wait::Until(deadline) => Instant::now() + free_in <= deadline,
                    Wait::Forever => true,
                };
                if !fits {
                    s.release(pass);
                    return Err(self.refuse(job, Reason::Rate, Some(free_in)));
                }
                s.clock.sleep(free_in);
            }
        }
        let id = s.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let envelope = Envelope {
            id,
            job,
            accepted: Instant::now(),
            pass,
        };
        // Counted before the send: a fast worker could otherwise finish the job first, and a
        // reader would see more jobs finished than submitted. `submitted` goes first, so the
        // release of `in_flight` publishes it to whoever sees the pool idle. Both are taken back
        // if the send fails.
        Metrics::add(&s.metrics.submitted);
        s.metrics.in_flight.fetch_add(1, Ordering::AcqRel);
        let queue = self
            .queue
            .as_ref()
            .expect("open until shutdown, which takes the pool");
        let sent = match wait {
            Wait::No => queue.try_send(envelope).map_err(|e| match e {
                TrySendError::Full(env) => (env, Reason::Full),
                TrySendError::Disconnected(env) => (env, Reason::Closed),
            }),
            Wait::Until(deadline) => queue
                .send_deadline(envelope, deadline)
                .map_err(|e| match e {
                    SendTimeoutError::Timeout(env) => (env, Reason::Timeout),
                    SendTimeoutError::Disconnected(env) => (env, Reason::Closed),
                }),
            Wait::Forever => queue
                .send(envelope)
                .map_err(|e| (e.into_inner(), Reason::Closed)),
        };
        match sent {
            Ok(()) => Ok(id),
            Err((envelope, reason)) => {
                s.metrics.submitted.fetch_sub(1, Ordering::Relaxed);
                s.done_with_one();
                s.release(envelope.pass);
                Err(self.refuse(envelope.job, reason, None))
            }
        }
    }

    fn refuse(&self, job: J, reason: Reason, retry_after: Option<Duration>) -> Rejected<J> {
        self.shared.metrics.reject(reason);
        Rejected {
            job,
            reason,
            retry_after,
        }
    }
    // ANCHOR_END: enter
}
