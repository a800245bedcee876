// course: exercise
// //! # Exercise 13: a token bucket
// course: solution
//! # Exercise 13, solved: a token bucket
// course: end
//!
// course: exercise
// //! Lesson 7's pool limits how many jobs per second it accepts. Write the limiter, as a token
// //! bucket: a bucket holds at most `burst` tokens and starts full; every call to
// //! [`TokenBucket::try_take`] takes one token, or is refused if there is none; tokens flow back in
// //! at `rate_per_sec` per second, continuously (at 10 per second, a tenth of a token comes back
// //! every 10 ms), until the bucket is full again.
// //!
// //! - `try_take` returns `Ok(())` and takes a token if there is a whole one.
// //! - Otherwise it returns `Err(wait)`: how long until the next whole token is back, so the caller
// //!   can come back then. At 10 per second with 0.4 of a token in the bucket, that is 60 ms.
// //! - A bucket never holds more than `burst` tokens, however long it has been left alone.
// //! - Fractions of a token are never lost: at 3 per second, ten seconds bring back exactly 30
// //!   tokens, however the calls are spread over them.
// //! - It reads the time from the [`Clock`] it was given, never from `Instant::now()`: the tests
// //!   give it a [`ManualClock`] and move time by hand, so every check is exact.
// //! - It is shared between threads (`try_take` takes `&self`), so what changes on every call
// //!   lives behind a `Mutex`, or in atomics.
// //!
// //! The struct's fields are yours to choose: replace the placeholder.
// //!
// //! Replace each `@todo()` and run `cargo test -p ex13-token-bucket` until it passes. Stuck? Run
// //! `cargo run -p course -- hint ex13-token-bucket`.
// course: solution
//! The tokens are counted in billionths of a token: at `rate` tokens per second, exactly `rate`
//! billionths come back every nanosecond, so whole numbers are enough and no fraction is ever
//! lost. One `Mutex` keeps the count and the time it was last brought up to date together.
// course: end

use std::fmt::Debug;
// course: exercise
// use std::sync::Arc;
// course: end
use std::sync::atomic::{AtomicU64, Ordering};
// course: solution
use std::sync::{Arc, Mutex};
// course: end
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

// course: solution
/// One token, in the billionths of a token the bucket counts in.
const TOKEN: u128 = 1_000_000_000;

// course: end
/// At most `rate_per_sec` calls per second on average, up to `burst` at once.
#[derive(Debug)]
pub struct TokenBucket {
    // course: exercise
    // // Replace this with your fields: the rate, the burst, the clock, and what changes on every
    // // call (how many tokens there are, and since when).
    // _your_fields_here: (),
    // course: solution
    /// Tokens per second; also billionths of a token per nanosecond.
    rate: u128,
    /// The most the bucket holds, in billionths of a token.
    full: u128,
    /// Where the time comes from.
    clock: Arc<dyn Clock>,
    /// What changes on every call. One lock, so the count and its time always match.
    bucket: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    /// Tokens in the bucket, in billionths of a token.
    tokens: u128,
    /// When `tokens` was last brought up to date, on the clock.
    updated: Duration,
    // course: end
}

impl TokenBucket {
    /// A full bucket (`burst` tokens) that refills at `rate_per_sec` tokens per second, reading
    /// the time from `clock`.
    ///
    /// # Panics
    ///
    /// If `rate_per_sec` or `burst` is 0.
    pub fn new(rate_per_sec: u32, burst: u32, clock: Arc<dyn Clock>) -> TokenBucket {
        // course: exercise
        // let _ = (rate_per_sec, burst, clock);
        // @todo("store the rate, the burst and the clock; start full, at the clock's now")
        // course: solution
        assert!(rate_per_sec > 0, "a rate of 0 would never refill");
        assert!(burst > 0, "a bucket must hold at least one token");
        let full = u128::from(burst) * TOKEN;
        let bucket = Bucket {
            tokens: full,
            updated: clock.now(),
        };
        TokenBucket {
            rate: u128::from(rate_per_sec),
            full,
            clock,
            bucket: Mutex::new(bucket),
        }
        // course: end
    }

    /// Takes a token, or says how long until one is back.
    pub fn try_take(&self) -> Result<(), Duration> {
        // course: exercise
        // let _ = self;
        // @todo(
        //     "add the tokens that came back since the last call (rate × time, fractions kept, at most burst), then take one or return the wait"
        // )
        // course: solution
        let now = self.clock.now();
        // Nothing panics while this lock is held, so it is never poisoned.
        let mut bucket = self
            .bucket
            .lock()
            .expect("the bucket's lock is never poisoned");
        // What came back since the last call: `rate` billionths per nanosecond, and never more
        // than a full bucket, however long the quiet spell.
        let elapsed = now.saturating_sub(bucket.updated).as_nanos();
        bucket.tokens = (bucket.tokens + elapsed * self.rate).min(self.full);
        bucket.updated = now;
        if bucket.tokens >= TOKEN {
            bucket.tokens -= TOKEN;
            Ok(())
        } else {
            // Rounded up, so that after waiting this long there is a whole token.
            let missing = TOKEN - bucket.tokens;
            let nanos = missing.div_ceil(self.rate);
            Err(Duration::from_nanos(nanos as u64))
        }
        // course: end
    }
}
