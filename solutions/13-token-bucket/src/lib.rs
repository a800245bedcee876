//! # Exercise 13, solved: a token bucket
//!
//! The tokens are counted in billionths of a token: at `rate` tokens per second, exactly `rate`
//! billionths come back every nanosecond, so whole numbers are enough and no fraction is ever
//! lost. One `Mutex` keeps the count and the time it was last brought up to date together.

use std::fmt::Debug;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
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

/// One token, in the billionths of a token the bucket counts in.
const TOKEN: u128 = 1_000_000_000;

/// At most `rate_per_sec` calls per second on average, up to `burst` at once.
#[derive(Debug)]
pub struct TokenBucket {
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
}

impl TokenBucket {
    /// A full bucket (`burst` tokens) that refills at `rate_per_sec` tokens per second, reading
    /// the time from `clock`.
    ///
    /// # Panics
    ///
    /// If `rate_per_sec` or `burst` is 0.
    pub fn new(rate_per_sec: u32, burst: u32, clock: Arc<dyn Clock>) -> TokenBucket {
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
    }

    /// Takes a token, or says how long until one is back.
    pub fn try_take(&self) -> Result<(), Duration> {
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
    }
}
