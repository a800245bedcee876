//! Time, injectable: the pool asks a [`Clock`] instead of `Instant::now()`, so tests and the
//! demo can move time by hand and get the same result on every run.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Where the rate limiter and the circuit breaker get the time from.
pub trait Clock: Send + Sync + std::fmt::Debug + 'static {
    /// Time since this clock's start.
    fn now(&self) -> Duration;
    /// Waits for `d` of this clock's time.
    fn sleep(&self, d: Duration);
}

/// The real clock: time passes by itself.
#[derive(Debug)]
pub struct SystemClock {
    start: Instant,
}

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock {
            start: Instant::now(),
        }
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        self.start.elapsed()
    }

    fn sleep(&self, d: Duration) {
        std::thread::sleep(d);
    }
}

/// A clock that moves only when told to: by [`ManualClock::advance`], or by `sleep`, which
/// returns at once having moved the clock forward. Tests with it are exact and instant.
///
/// ```
/// use std::time::Duration;
/// use lesson_7::clock::{Clock, ManualClock};
///
/// let clock = ManualClock::default();
/// clock.sleep(Duration::from_millis(250));
/// assert_eq!(clock.now(), Duration::from_millis(250));
/// ```
#[derive(Debug, Default)]
pub struct ManualClock {
    nanos: AtomicU64,
}

impl ManualClock {
    /// Moves the clock forward by `d`.
    pub fn advance(&self, d: Duration) {
        self.nanos.fetch_add(d.as_nanos() as u64, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::SeqCst))
    }

    fn sleep(&self, d: Duration) {
        self.advance(d);
    }
}
