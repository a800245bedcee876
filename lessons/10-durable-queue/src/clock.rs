//! The queue's clock: lesson 7's [`Clock`], reading the wall clock.
//!
//! Lesson 7 measured time from the pool's start, which is all one process needs. Here several
//! processes compare times stored in one file (a lease runs out at 12:00:03.400 for everyone), so
//! the queue counts milliseconds since the Unix epoch. Tests use lesson 7's `ManualClock`
//! instead, and run out a lease without waiting for it.

pub use lesson_7::clock::{Clock, ManualClock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The machine's wall clock: time since the Unix epoch, the same in every process.
#[derive(Debug, Default, Clone, Copy)]
pub struct WallClock;

impl Clock for WallClock {
    fn now(&self) -> Duration {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
    }

    fn sleep(&self, d: Duration) {
        std::thread::sleep(d);
    }
}
