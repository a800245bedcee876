//! The way in: `submit`, `try_submit` and `submit_timeout`, which differ only in how long they
//! may wait, all go through `enter`; `submit_all` takes many jobs at once and hands them over in
//! batches.

use super::{BATCH, Batch, Envelope, Parcel, Pool};
use crate::breaker::Pass;
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
        let Ok(pass) = self.pass_breaker(s.clock.now()) else {
            return Err(self.refuse(job, Reason::Breaker, None));
        };
        while let Err(free_in) = self.take_token(s.clock.now()) {
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
        let parcel = Parcel::One(envelope);
        let sent = match wait {
            Wait::No => queue.try_send(parcel).map_err(|e| match e {
                TrySendError::Full(parcel) => (parcel, Reason::Full),
                TrySendError::Disconnected(parcel) => (parcel, Reason::Closed),
            }),
            Wait::Until(deadline) => queue.send_deadline(parcel, deadline).map_err(|e| match e {
                SendTimeoutError::Timeout(parcel) => (parcel, Reason::Timeout),
                SendTimeoutError::Disconnected(parcel) => (parcel, Reason::Closed),
            }),
            Wait::Forever => queue
                .send(parcel)
                .map_err(|e| (e.into_inner(), Reason::Closed)),
        };
        match sent {
            Ok(()) => Ok(id),
            Err((Parcel::One(envelope), reason)) => {
                self.take_back(1, Some(envelope.pass));
                Err(self.refuse(envelope.job, reason, None))
            }
            Err((Parcel::Batch(_), _)) => unreachable!("enter sends one job"),
        }
    }

    /// Asks the breaker, if there is one, to let a job through, and tells the observer when
    /// asking changed its state.
    fn pass_breaker(&self, now: Duration) -> Result<Option<Pass>, ()> {
        let s = &*self.shared;
        let Some(breaker) = &s.breaker else {
            return Ok(None);
        };
        let (verdict, change) = breaker.admit(now);
        if let Some(change) = change {
            s.emit(Event::Breaker(change));
        }
        verdict.map(Some)
    }

    /// Takes a rate token, if there is a limiter, or says how long until one is free.
    fn take_token(&self, now: Duration) -> Result<(), Duration> {
        match &self.shared.limiter {
            Some(limiter) => limiter.try_acquire(now),
            None => Ok(()),
        }
    }

    /// Undoes the counting of `n` accepted jobs whose send failed, and gives back their passes.
    fn take_back(&self, n: usize, passes: impl IntoIterator<Item = Option<Pass>>) {
        let s = &*self.shared;
        s.metrics.submitted.fetch_sub(n as u64, Ordering::Relaxed);
        s.done_with(n);
        for pass in passes {
            s.release(pass);
        }
    }

    fn refuse(&self, job: J, reason: Reason, retry_after: Option<Duration>) -> Rejected<J> {
        self.shared.metrics.reject(reason, 1);
        Rejected {
            job,
            reason,
            retry_after,
        }
    }
    // ANCHOR_END: enter

    // ANCHOR: submit_all
    /// Queues every job, as [`Pool::submit`] would one at a time, but hands them to the workers
    /// in batches of up to [`BATCH`]: one place in the queue, one channel operation, one rate
    /// limiter update and one round of the shared counters per batch instead of per job. Each
    /// job still passes the breaker and takes a rate token, and a batch waiting for tokens sends
    /// the jobs that have one first. Returns how many jobs were accepted.
    ///
    /// If the breaker refuses a job or the pool closes, that job and every later one come back,
    /// in order, inside one [`Rejected`]; the jobs before it were accepted and will run. To hand
    /// them back it collects the rest of `jobs`, so `jobs` must come to an end.
    ///
    /// ```
    /// let pool = lesson_7::Pool::builder().workers(2).build(|n: &u64, _ctx| Ok(()))?;
    /// assert_eq!(pool.submit_all(1..=1000), Ok(1000));
    /// let report = pool.shutdown(lesson_7::Stop::Drain, None);
    /// assert_eq!(report.metrics.completed, 1000);
    /// # Ok::<(), lesson_7::ConfigError>(())
    /// ```
    pub fn submit_all<I>(&self, jobs: I) -> Result<usize, Rejected<Vec<J>>>
    where
        I: IntoIterator<Item = J>,
    {
        let s = &*self.shared;
        let mut jobs = jobs.into_iter();
        let mut batch = Vec::with_capacity(BATCH);
        let mut accepted = 0;
        // One clock reading serves a whole batch: its jobs arrive within microseconds.
        let mut now = s.clock.now();
        while let Some(job) = jobs.next() {
            let admitted = if s.closed.load(Ordering::Acquire) {
                Err(Reason::Closed)
            } else {
                self.pass_breaker(now).map_err(|()| Reason::Breaker)
            };
            let refused = match admitted {
                Ok(pass) => {
                    batch.push((job, pass));
                    None
                }
                Err(reason) => Some((reason, job)),
            };
            if refused.is_some() || batch.len() == BATCH {
                let mut back = match self.send_batch(&mut batch) {
                    Ok(sent) => {
                        accepted += sent;
                        Vec::new()
                    }
                    Err(back) => back,
                };
                let reason = match refused {
                    Some((reason, job)) => {
                        back.push(job);
                        reason
                    }
                    None => Reason::Closed,
                };
                if !back.is_empty() {
                    // This job and the rest come back; what was sent before will run.
                    back.extend(jobs);
                    return Err(self.refuse_all(back, reason));
                }
                now = s.clock.now();
            }
        }
        match self.send_batch(&mut batch) {
            Ok(sent) => Ok(accepted + sent),
            Err(back) => Err(self.refuse_all(back, Reason::Closed)),
        }
    }

    /// Sends the batch in as few parcels as the rate limiter allows, waiting for tokens as
    /// long as it takes, and leaves it empty. Each parcel's jobs are numbered, stamped and
    /// counted as it goes. If the queue is gone, the jobs not yet sent come back, uncounted.
    fn send_batch(&self, batch: &mut Vec<(J, Option<Pass>)>) -> Result<usize, Vec<J>> {
        let s = &*self.shared;
        let mut sent = 0;
        while !batch.is_empty() {
            let free = match &s.limiter {
                None => batch.len(),
                Some(limiter) => match limiter.try_acquire_up_to(batch.len() as u64, s.clock.now())
                {
                    Ok(free) => free as usize,
                    Err(free_in) => {
                        s.clock.sleep(free_in);
                        continue;
                    }
                },
            };
            let rest = if free < batch.len() {
                batch.split_off(free)
            } else {
                Vec::with_capacity(BATCH)
            };
            let jobs = std::mem::replace(batch, rest);
            let n = jobs.len();
            let parcel = Batch {
                first_id: s.next_id.fetch_add(n as u64, Ordering::Relaxed) + 1,
                accepted: Instant::now(),
                jobs,
            };
            // Counted before the send, as in `enter`.
            s.metrics.submitted.fetch_add(n as u64, Ordering::Relaxed);
            s.metrics.in_flight.fetch_add(n as i64, Ordering::AcqRel);
            let queue = self
                .queue
                .as_ref()
                .expect("open until shutdown, which takes the pool");
            if let Err(e) = queue.send(Parcel::Batch(parcel)) {
                let Parcel::Batch(parcel) = e.into_inner() else {
                    unreachable!("a batch was sent")
                };
                self.take_back(n, parcel.jobs.iter().map(|(_, pass)| *pass));
                for (_, pass) in batch.iter() {
                    s.release(*pass);
                }
                let unsent = parcel.jobs.into_iter().chain(batch.drain(..));
                return Err(unsent.map(|(job, _)| job).collect());
            }
            sent += n;
        }
        Ok(sent)
    }

    fn refuse_all(&self, jobs: Vec<J>, reason: Reason) -> Rejected<Vec<J>> {
        self.shared.metrics.reject(reason, jobs.len() as u64);
        Rejected {
            job: jobs,
            reason,
            retry_after: None,
        }
    }
    // ANCHOR_END: submit_all
}
