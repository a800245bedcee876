//! When to try a failed job again: exponential backoff with full jitter.
//!
//! The ceiling doubles with every attempt (`base`, `2·base`, `4·base`, …, never above `cap`), and
//! the delay is drawn evenly from zero to that ceiling. Drawing from the whole range ("full
//! jitter") spreads out jobs that failed together, say when a service they call went down, so
//! they do not all come back at the same instant and knock it over again.
//!
//! The draw is seeded by the job and the attempt, so the same seed gives the same delays in
//! every process and on every run: tests and the demo are reproducible.

use rand::{RngExt as _, SeedableRng as _, rngs::StdRng};
use std::time::Duration;

// ANCHOR: backoff
/// Exponential backoff with full jitter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The ceiling after the first failed attempt.
    pub base: Duration,
    /// The ceiling never grows past this.
    pub cap: Duration,
    /// Seeds the jitter, together with the job's id and the attempt.
    pub seed: u64,
}

impl Backoff {
    /// The most a job waits after its `attempt`-th attempt failed: `base · 2^(attempt−1)`,
    /// at most `cap`. Attempt 0 counts as 1.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1);
        // In nanoseconds, as u128: a factor past 2^127 and a product past u128 saturate instead
        // of wrapping round to a tiny delay, and the cap then wins.
        let factor = 1u128.checked_shl(doublings).unwrap_or(u128::MAX);
        let ceiling = self.base.as_nanos().saturating_mul(factor);
        if ceiling >= self.cap.as_nanos() {
            self.cap
        } else {
            let nanos_per_second = 1_000_000_000;
            Duration::new(
                (ceiling / nanos_per_second) as u64,
                (ceiling % nanos_per_second) as u32,
            )
        }
    }

    /// How long the job waits after its `attempt`-th attempt failed: evenly drawn from zero to
    /// [`Backoff::ceiling`], in whole milliseconds, the same for the same seed, job and attempt.
    ///
    /// ```
    /// use std::time::Duration;
    /// use lesson_10::backoff::Backoff;
    ///
    /// let b = Backoff { base: Duration::from_millis(100), cap: Duration::from_secs(10), seed: 7 };
    /// assert_eq!(b.ceiling(3), Duration::from_millis(400));
    /// assert!(b.delay(42, 3) <= Duration::from_millis(400));
    /// assert_eq!(b.delay(42, 3), b.delay(42, 3), "seeded: the same every time");
    /// ```
    pub fn delay(&self, job: i64, attempt: u32) -> Duration {
        let mix = self.seed ^ (job as u64).rotate_left(32) ^ u64::from(attempt);
        let mut rng = StdRng::seed_from_u64(mix);
        let ceiling = self.ceiling(attempt).as_millis() as u64;
        Duration::from_millis(rng.random_range(0..=ceiling))
    }
}
// ANCHOR_END: backoff

impl Default for Backoff {
    /// 100 ms doubling up to 30 s, seed 0.
    fn default() -> Self {
        Backoff {
            base: Duration::from_millis(100),
            cap: Duration::from_secs(30),
            seed: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backoff() -> Backoff {
        Backoff {
            base: Duration::from_millis(150),
            cap: Duration::from_millis(1000),
            seed: 3,
        }
    }

    #[test]
    fn the_ceiling_doubles_from_base_and_stops_at_the_cap() {
        let b = backoff();
        let ceilings: Vec<u128> = (1..=5).map(|a| b.ceiling(a).as_millis()).collect();
        assert_eq!(ceilings, [150, 300, 600, 1000, 1000]);
        assert_eq!(b.ceiling(0), b.ceiling(1));
        assert_eq!(b.ceiling(u32::MAX), b.cap, "no overflow at huge attempts");
        // A tiny base keeps doubling past 2^32 until it meets the cap.
        let tiny = Backoff {
            base: Duration::from_nanos(1),
            cap: Duration::from_secs(3 * 3600),
            seed: 0,
        };
        assert_eq!(tiny.ceiling(34), Duration::from_nanos(1 << 33));
        assert_eq!(tiny.ceiling(45), tiny.cap);
    }

    #[test]
    fn delays_cover_zero_to_the_ceiling_and_repeat_for_a_seed() {
        let b = backoff();
        let delays: Vec<u128> = (1..=2000).map(|job| b.delay(job, 2).as_millis()).collect();
        assert!(delays.iter().all(|d| *d <= 300));
        assert!(
            *delays.iter().min().unwrap() <= 5,
            "full jitter reaches near 0"
        );
        assert!(*delays.iter().max().unwrap() >= 295, "and near the ceiling");
        let again: Vec<u128> = (1..=2000).map(|job| b.delay(job, 2).as_millis()).collect();
        assert_eq!(delays, again);
        let other = Backoff { seed: 4, ..b };
        assert_ne!(
            delays[..20],
            (1..=20)
                .map(|j| other.delay(j, 2).as_millis())
                .collect::<Vec<_>>()[..]
        );
    }
}
