// course: exercise
// //! # Exercise 19: how long to wait before the next try
// course: solution
//! # Exercise 19, solved: how long to wait before the next try
// course: end
//!
// course: exercise
// //! When a job fails, lesson 10's queue runs it again later, and "later" matters: retry at once
// //! and a struggling service gets hammered; retry every job after the same fixed wait and they
// //! all come back together, in a thundering herd. The cure is exponential backoff with full
// //! jitter. Write the three functions that decide:
// //!
// //! - [`ceiling`]: the longest wait after failed attempt `attempt`, `base × 2^(attempt − 1)`,
// //!   never more than `cap`. Attempt 1 gives `base`, attempt 2 gives `2 × base`, and so on up to
// //!   the cap. It must hold for every `attempt` up to `u32::MAX`: no overflow, no panic, no loop
// //!   that goes round four billion times. Attempt 0 is outside the contract; give it attempt 1's
// //!   ceiling.
// //! - [`full_jitter`]: a wait drawn uniformly from 0 to that ceiling, both ends included, in
// //!   whole milliseconds (every value from 0 ms to the ceiling rounded down to a whole
// //!   millisecond equally likely), from the `rng` it is given and from nothing else: the same
// //!   seed must give the same waits.
// //! - [`after_failure`]: retry after a `full_jitter` wait while the job has runs left, or
// //!   discard it (the dead-letter state) once it has used `max_attempts` of them.
// //!
// //! [`Next`] is written for you. The random numbers come from `rand` 0.10: `rng.random_range(a..=b)`
// //! draws from `a` to `b` inclusive, with `use rand::RngExt as _;` in scope.
// //!
// //! Replace each `@todo()` and run `cargo test -p ex19-backoff-jitter` until it passes. Stuck?
// //! Run `cargo run -p course -- hint ex19-backoff-jitter`.
// course: solution
//! The ceiling starts at `base` (clamped to `cap`) and doubles once per further attempt, each
//! doubling saturating and clamped again, and the doubling stops as soon as the ceiling reaches
//! the cap (or is zero, which doubling never changes). So no attempt number, up to `u32::MAX`,
//! can overflow it, and it takes at most about a hundred steps: from 1 ns, a hundred doublings
//! pass any `Duration`. The delay is then drawn from the caller's generator, uniformly over
//! every whole millisecond from 0 to the ceiling, both ends included.
// course: end

// course: exercise
// use rand::Rng;
// // `random_range` lives in `RngExt`; you will need it.
// #[allow(unused_imports)]
// use rand::RngExt as _;
// course: solution
use rand::{Rng, RngExt as _};
// course: end
use std::time::Duration;

/// What to do with a job whose attempt just failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Run it again, no sooner than this long from now.
    RetryIn(Duration),
    /// Give up: the job has used every attempt it was allowed. The queue moves it to the
    /// dead-letter state, `discarded`, where it stays until somebody looks at it.
    Discard,
}

/// The longest wait before the retry that follows failed attempt `attempt`:
/// `base × 2^(attempt − 1)`, but never more than `cap`.
///
/// Attempts count from 1: attempt 1 (the first run) failing gives a ceiling of `base`, attempt
/// 2 gives `2 × base`, attempt 3 gives `4 × base`, and so on up to `cap`. Attempt 0 is outside
/// the contract (no attempt has failed yet); it gets attempt 1's ceiling. Any `attempt` up to
/// `u32::MAX`, any `base` and any `cap` give an answer, never an overflow or a panic.
///
/// ```
/// use backoff_jitter::ceiling;
/// use std::time::Duration;
///
/// let (base, cap) = (Duration::from_millis(300), Duration::from_secs(1));
/// assert_eq!(ceiling(1, base, cap), Duration::from_millis(300));
/// assert_eq!(ceiling(2, base, cap), Duration::from_millis(600));
/// assert_eq!(ceiling(3, base, cap), cap);
/// assert_eq!(ceiling(u32::MAX, base, cap), cap);
/// ```
pub fn ceiling(attempt: u32, base: Duration, cap: Duration) -> Duration {
    // course: exercise
    // let _ = (attempt, base, cap);
    // @todo(
    //     "start from base (at most cap) and double once per attempt after the first, with \
    //      saturating_mul, clamping to cap; stop as soon as it reaches the cap (or is zero)"
    // )
    // course: solution
    let mut ceiling = base.min(cap);
    for _ in 1..attempt {
        // Once at the cap (or at zero) doubling changes nothing: stop, rather than go round
        // once per attempt, which for u32::MAX is four billion times.
        if ceiling >= cap || ceiling.is_zero() {
            break;
        }
        ceiling = ceiling.saturating_mul(2).min(cap);
    }
    ceiling
    // course: end
}

/// A random wait before the retry that follows failed attempt `attempt`: "full jitter", drawn
/// uniformly from 0 up to [`ceiling`]`(attempt, base, cap)`, both ends included.
///
/// The queue keeps its times in whole milliseconds, so the wait is a whole number of
/// milliseconds: every value from 0 ms to the ceiling rounded down to a whole millisecond is
/// equally likely (a ceiling of 2.5 ms gives 0, 1 or 2 ms). It draws from `rng` and from
/// nothing else, so the same seed gives the same waits.
///
/// ```
/// use backoff_jitter::full_jitter;
/// use rand::{SeedableRng as _, rngs::StdRng};
/// use std::time::Duration;
///
/// let mut rng = StdRng::seed_from_u64(1);
/// let wait = full_jitter(3, Duration::from_millis(100), Duration::from_secs(30), &mut rng);
/// assert!(wait <= Duration::from_millis(400));
/// ```
pub fn full_jitter(attempt: u32, base: Duration, cap: Duration, rng: &mut impl Rng) -> Duration {
    // course: exercise
    // let _ = (attempt, base, cap, rng);
    // @todo(
    //     "the ceiling in whole milliseconds (as_millis), then Duration::from_millis of \
    //      rng.random_range(0..=that)"
    // )
    // course: solution
    let most = ceiling(attempt, base, cap).as_millis();
    // A ceiling past u64::MAX milliseconds (half a billion years) is as good as that.
    let most = u64::try_from(most).unwrap_or(u64::MAX);
    Duration::from_millis(rng.random_range(0..=most))
    // course: end
}

/// What a queue does after a job's attempt fails: retry after a [`full_jitter`] wait, or
/// discard it.
///
/// `attempts_so_far` counts every run of the job, the one that just failed included, so it is
/// at least 1; the wait uses it as the attempt number. A job may run `max_attempts` times in
/// all: once `attempts_so_far` reaches `max_attempts`, the answer is [`Next::Discard`]. A
/// `max_attempts` of 0 is treated like 1: the first failure discards.
///
/// ```
/// use backoff_jitter::{Next, after_failure};
/// use rand::{SeedableRng as _, rngs::StdRng};
/// use std::time::Duration;
///
/// let (base, cap) = (Duration::from_millis(100), Duration::from_secs(30));
/// let mut rng = StdRng::seed_from_u64(1);
/// assert!(matches!(after_failure(2, 3, base, cap, &mut rng), Next::RetryIn(_)));
/// assert_eq!(after_failure(3, 3, base, cap, &mut rng), Next::Discard);
/// ```
pub fn after_failure(
    attempts_so_far: u32,
    max_attempts: u32,
    base: Duration,
    cap: Duration,
    rng: &mut impl Rng,
) -> Next {
    // course: exercise
    // let _ = (attempts_so_far, max_attempts, base, cap, rng);
    // @todo(
    //     "Discard once attempts_so_far has reached max_attempts; otherwise RetryIn a full_jitter \
    //      wait for attempt attempts_so_far"
    // )
    // course: solution
    if attempts_so_far >= max_attempts {
        Next::Discard
    } else {
        Next::RetryIn(full_jitter(attempts_so_far, base, cap, rng))
    }
    // course: end
}
