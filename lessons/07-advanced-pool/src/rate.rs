//! A real rate limiter: at most `rate` jobs per second on average, with bursts of up to
//! `burst` at once.
//!
//! It is the token bucket written as GCRA (the generic cell rate algorithm): instead of a
//! count of tokens refilled by a timer, it keeps one number, the *theoretical arrival time*
//! (TAT) of the next job if jobs came exactly at the rate. A job is allowed if it is not too far
//! ahead of that schedule. One atomic, no lock, no timer thread.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

// ANCHOR: gcra
/// A token bucket, written as GCRA.
#[derive(Debug)]
pub struct RateLimiter {
    /// Time between jobs at the steady rate (1 s / rate), in nanoseconds.
    interval: u64,
    /// How far ahead of the schedule a job may come: room for `burst - 1` extra jobs.
    tolerance: u64,
    /// When the next job would be due if jobs came exactly at the rate (ns on the clock).
    tat: AtomicU64,
}

impl RateLimiter {
    /// `per_second` jobs per second on average, up to `burst` at once. The builder validates
    /// both (`per_second > 0`, `burst >= 1`) before calling this.
    pub fn new(per_second: f64, burst: u32) -> RateLimiter {
        let interval = (1e9 / per_second).round().max(1.0) as u64;
        RateLimiter {
            interval,
            tolerance: interval.saturating_mul(u64::from(burst) - 1),
            tat: AtomicU64::new(0),
        }
    }

    /// Takes one token at time `now`, or says how long until one is free.
    pub fn try_acquire(&self, now: Duration) -> Result<(), Duration> {
        self.try_acquire_up_to(1, now).map(|_| ())
    }

    /// Takes as many of `n` tokens as are free at time `now`, at least one, and says how many;
    /// or says how long until one is free. `n` jobs at once cost one atomic update, not `n`.
    pub fn try_acquire_up_to(&self, n: u64, now: Duration) -> Result<u64, Duration> {
        let now = now.as_nanos() as u64;
        let mut tat = self.tat.load(Ordering::Acquire);
        loop {
            // A quiet spell does not bank tokens beyond the burst: the schedule restarts at now.
            let due = tat.max(now);
            let ahead = due - now;
            if ahead > self.tolerance {
                return Err(Duration::from_nanos(ahead - self.tolerance));
            }
            // The i-th job from here (counting from 0) is due at `due + i * interval`, and may
            // go if that is no further ahead of now than the tolerance.
            let taken = n.min((self.tolerance - ahead) / self.interval + 1);
            // Another submitter may have moved the schedule since we read it: retry if so.
            match self.tat.compare_exchange_weak(
                tat,
                due.saturating_add(taken.saturating_mul(self.interval)),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Ok(taken),
                Err(actual) => tat = actual,
            }
        }
    }
}
// ANCHOR_END: gcra

// ANCHOR: go_cap
/// What the Go article calls a rate limiter: a buffered channel of `n` slots that each
/// submitter fills on entry and empties on exit. It caps how many submit *at the same time*;
/// it says nothing about how many per second. Kept here to compare against.
#[derive(Debug)]
pub struct ConcurrencyCap {
    slots: crossbeam_channel::Sender<()>,
    taken: crossbeam_channel::Receiver<()>,
}

impl ConcurrencyCap {
    /// At most `n` holders at once.
    pub fn new(n: usize) -> ConcurrencyCap {
        let (slots, taken) = crossbeam_channel::bounded(n);
        ConcurrencyCap { slots, taken }
    }

    /// Runs `f` while holding a slot (`rateLimiter <- struct{}{}` … `<-rateLimiter`).
    pub fn with_slot<T>(&self, f: impl FnOnce() -> T) -> T {
        self.slots.send(()).expect("we hold the receiver");
        let value = f();
        self.taken.recv().expect("we hold the sender");
        value
    }
}
// ANCHOR_END: go_cap

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_burst_is_allowed_at_once_then_one_per_interval() {
        let limiter = RateLimiter::new(10.0, 3); // one per 100 ms, bursts of 3
        for _ in 0..3 {
            assert_eq!(limiter.try_acquire(ms(0)), Ok(()));
        }
        assert_eq!(
            limiter.try_acquire(ms(0)),
            Err(ms(100)),
            "the 4th must wait one interval"
        );
        assert_eq!(limiter.try_acquire(ms(99)), Err(ms(1)));
        assert_eq!(limiter.try_acquire(ms(100)), Ok(()));
        assert_eq!(limiter.try_acquire(ms(100)), Err(ms(100)));
    }

    #[test]
    fn many_at_once_get_what_one_at_a_time_would() {
        let (one, many) = (RateLimiter::new(10.0, 3), RateLimiter::new(10.0, 3));
        let mut t = 0;
        for (step, asked) in [
            (0, 5),
            (0, 5),
            (100, 5),
            (350, 5),
            (350, 1),
            (2000, 9),
            (2050, 2),
        ] {
            t += step;
            let mut granted = 0;
            while granted < asked && one.try_acquire(ms(t)).is_ok() {
                granted += 1;
            }
            let expected = if granted == 0 {
                Err(one.try_acquire(ms(t)).unwrap_err())
            } else {
                Ok(granted)
            };
            assert_eq!(
                many.try_acquire_up_to(asked, ms(t)),
                expected,
                "asking for {asked} at {t} ms should grant what {asked} single calls would"
            );
        }
    }

    #[test]
    fn the_long_run_rate_is_the_rate_not_faster() {
        // Ask every millisecond for 10 s at 50 per second with bursts of 5: 500 + 5 at most.
        let limiter = RateLimiter::new(50.0, 5);
        let allowed = (0..10_000)
            .filter(|t| limiter.try_acquire(ms(*t)).is_ok())
            .count();
        assert!(
            (500..=505).contains(&allowed),
            "{allowed} allowed in 10 s at 50/s"
        );
    }

    #[test]
    fn a_quiet_spell_does_not_bank_more_than_the_burst() {
        let limiter = RateLimiter::new(10.0, 2);
        let at_once = (0..10)
            .filter(|_| limiter.try_acquire(ms(60_000)).is_ok())
            .count();
        assert_eq!(at_once, 2, "after a minute of quiet, still only the burst");
    }

    #[test]
    fn many_threads_together_get_no_more_than_the_burst() {
        let limiter = RateLimiter::new(1.0, 8);
        let allowed = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..100 {
                        if limiter.try_acquire(ms(0)).is_ok() {
                            allowed.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                });
            }
        });
        assert_eq!(allowed.load(Ordering::SeqCst), 8);
    }

    #[test]
    fn a_concurrency_cap_is_not_a_rate_limit() {
        // 1000 quick submissions through the Go-style "limiter" all pass at once, in no time.
        let cap = ConcurrencyCap::new(10);
        let passed = (0..1000).filter(|_| cap.with_slot(|| true)).count();
        assert_eq!(passed, 1000);
    }
}
