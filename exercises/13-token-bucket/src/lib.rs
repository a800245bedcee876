//! # Exercise 13: a token bucket
//!
//! Lesson 7's pool limits how many jobs per second it accepts. Write the limiter, as a token
//! bucket: a bucket holds at most `burst` tokens and starts full; every call to
//! [`TokenBucket::try_take`] takes one token, or is refused if there is none; tokens flow back in
//! at `rate_per_sec` per second, continuously (at 10 per second, a tenth of a token comes back
//! every 10 ms), until the bucket is full again.
//!
//! - `try_take` returns `Ok(())` and takes a token if there is a whole one.
//! - Otherwise it returns `Err(wait)`: how long until the next whole token is back, so the caller
//!   can come back then. At 10 per second with 0.4 of a token in the bucket, that is 60 ms.
//! - A bucket never holds more than `burst` tokens, however long it has been left alone.
//! - Fractions of a token are never lost: at 3 per second, ten seconds bring back exactly 30
//!   tokens, however the calls are spread over them.
//! - It reads the time from the [`Clock`] it was given, never from `Instant::now()`: the tests
//!   give it a [`ManualClock`] and move time by hand, so every check is exact.
//! - It is shared between threads (`try_take` takes `&self`), so what changes on every call
//!   lives behind a `Mutex`, or in atomics.
//!
//! The struct's fields are yours to choose: replace the placeholder.
//!
//! Replace each `todo!()` and run `cargo test -p ex13-token-bucket` until it passes. Stuck? Run
//! `cargo run -p course -- hint ex13-token-bucket`.

use std::fmt::Debug;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Where the bucket gets the time from.
pub trait Clock: Send + Sync + Debug {
    /// Time since this clock's start.
    fn now(&self) -> Duration;
}

/// A clock that moves only when told to, by [`ManualClock::advance`].
///
/// ```
/// use std::time::Duration;
/// use token_bucket::{Clock, ManualClock};
///
/// let clock = ManualClock::default();
/// clock.advance(Duration::from_millis(250));
/// assert_eq!(clock.now(), Duration::from_millis(250));
/// ```
#[derive(Debug, Default)]
pub struct ManualClock {
    /// Nanoseconds since the start.
    nanos: AtomicU64,
}

impl ManualClock {
    /// Moves the clock forward by `d`.
    pub fn advance(&self, d: Duration) {
        let nanos = u64::try_from(d.as_nanos()).expect("less than 584 years at a time");
        self.nanos.fetch_add(nanos, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::SeqCst))
    }
}

/// At most `rate_per_sec` calls per second on average, up to `burst` at once.
#[derive(Debug)]
pub struct TokenBucket {
    // Replace this with your fields: the rate, the burst, the clock, and what changes on every
    // call (how many tokens there are, and since when).
    _your_fields_here: (),
}

impl TokenBucket {
    /// A full bucket (`burst` tokens) that refills at `rate_per_sec` tokens per second, reading
    /// the time from `clock`.
    ///
    /// # Panics
    ///
    /// If `rate_per_sec` or `burst` is 0.
    pub fn new(rate_per_sec: u32, burst: u32, clock: Arc<dyn Clock>) -> TokenBucket {
        let _ = (rate_per_sec, burst, clock);
        todo!("store the rate, the burst and the clock; start full, at the clock's now")
    }

    /// Takes a token, or says how long until one is back.
    pub fn try_take(&self) -> Result<(), Duration> {
        let _ = self;
        todo!(
            "add the tokens that came back since the last call (rate × time, fractions kept, at most burst), then take one or return the wait"
        )
    }
}
