// course: exercise
// //! # Exercise 18: a loom model that catches a lost update
// course: solution
//! # Exercise 18, solved: a loom model that catches a lost update
// course: end
//!
//! A [`Slots`] limiter hands out at most `limit` slots at once: [`Slots::try_take`] takes one
//! if fewer than `limit` are taken and says whether it did, [`Slots::release`] gives one back.
//! This crate has two of them. [`Limiter`] is correct. [`BuggyLimiter`] reads the count, checks
//! it, and writes the count plus one: two threads can both read "0 of 1 taken", both take the
//! slot, and both write 1, so the count even looks right afterwards. A test that races two real
//! threads on it passes nearly every time: the window between the load and the store is tiny.
//!
//! Write [`model`]: the body of one run, which loom repeats under every interleaving of the
//! threads it spawns. It is generic, so the tests can run it against both limiters: it must
//! panic (an `assert!` that fails) for at least one interleaving on [`BuggyLimiter`], and
//! never on [`Limiter`]. Use loom's types inside it (`loom::thread::spawn`,
//! `loom::sync::Arc`): loom can only reorder what it can see.
//!
// course: exercise
// //! Replace the `@todo()` and run `cargo test -p ex18-loom-model` until it passes. Stuck? Run
// //! `cargo run -p course -- hint ex18-loom-model`.
// course: solution
//! This is the finished version; `cargo test -p ex18-loom-model-solution` runs the exercise's
//! tests against it.
// course: end
//!
//! ```
//! use loom_model::{Limiter, Slots};
//!
//! // Loom's atomics only work inside a model; this one has a single thread, so one run.
//! loom::model(|| {
//!     let limiter = Limiter::new(1);
//!     assert!(limiter.try_take(), "the first caller gets the slot");
//!     assert!(!limiter.try_take(), "the second finds it taken");
//!     limiter.release();
//!     assert_eq!(limiter.taken(), 0);
//! });
//! ```

use loom::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::SeqCst;

/// A limiter of concurrent slots, as both limiters here implement it.
pub trait Slots: Send + Sync + 'static {
    /// A limiter with `limit` slots, none taken.
    fn new(limit: usize) -> Self;
    /// Takes a slot if fewer than `limit` are taken; returns whether it did.
    fn try_take(&self) -> bool;
    /// Gives back a slot taken earlier.
    fn release(&self);
    /// How many slots are taken right now, as the limiter counts them.
    fn taken(&self) -> usize;
}

// ANCHOR: buggy
/// The buggy limiter: it checks and then acts, in two steps another thread can come between.
#[derive(Debug)]
pub struct BuggyLimiter {
    /// How many slots there are.
    limit: usize,
    /// How many are taken.
    taken: AtomicUsize,
}

impl Slots for BuggyLimiter {
    fn new(limit: usize) -> Self {
        BuggyLimiter {
            limit,
            taken: AtomicUsize::new(0),
        }
    }

    fn try_take(&self) -> bool {
        let taken = self.taken.load(SeqCst);
        if taken < self.limit {
            // Another thread may have taken the slot since the load above.
            self.taken.store(taken + 1, SeqCst);
            true
        } else {
            false
        }
    }

    fn release(&self) {
        self.taken.fetch_sub(1, SeqCst);
    }

    fn taken(&self) -> usize {
        self.taken.load(SeqCst)
    }
}
// ANCHOR_END: buggy

// ANCHOR: fixed
/// The correct limiter: the check and the increment are one compare-and-swap, which fails (and
/// is retried on the fresh value) if another thread changed the count in between.
#[derive(Debug)]
pub struct Limiter {
    /// How many slots there are.
    limit: usize,
    /// How many are taken.
    taken: AtomicUsize,
}

impl Slots for Limiter {
    fn new(limit: usize) -> Self {
        Limiter {
            limit,
            taken: AtomicUsize::new(0),
        }
    }

    fn try_take(&self) -> bool {
        self.taken
            .fetch_update(SeqCst, SeqCst, |taken| {
                (taken < self.limit).then_some(taken + 1)
            })
            .is_ok()
    }

    fn release(&self) {
        self.taken.fetch_sub(1, SeqCst);
    }

    fn taken(&self) -> usize {
        self.taken.load(SeqCst)
    }
}
// ANCHOR_END: fixed

// course: solution
// ANCHOR: model
// course: end
/// One run of the model: loom calls it again and again, once per interleaving, and a panic in
/// any run (in any thread) fails the whole model. Make it fail on [`BuggyLimiter`], for at
/// least one interleaving, and pass on [`Limiter`], for all of them.
pub fn model<L: Slots>() {
    // course: exercise
    // @todo(
    //     "create an L with one slot in a loom::sync::Arc, spawn two loom threads that each call \
    //      try_take, join them, and assert that at most one of them got the slot"
    // )
    // course: solution
    use loom::sync::Arc;
    use loom::thread;

    // One slot and two threads after it: the smallest race there is.
    let limiter = Arc::new(L::new(1));
    let racers: Vec<_> = (0..2)
        .map(|_| {
            let limiter = Arc::clone(&limiter);
            thread::spawn(move || limiter.try_take())
        })
        .collect();
    let winners = racers
        .into_iter()
        .map(|racer| racer.join().expect("try_take does not panic"))
        .filter(|&got_it| got_it)
        .count();
    // Count what the callers were told, not what the limiter counts: a lost update leaves the
    // count at 1 while two callers each believe they hold the one slot.
    assert!(
        winners <= 1,
        "{winners} threads got the only slot; the limiter counts {} taken",
        limiter.taken()
    );
    assert_eq!(limiter.taken(), winners, "every slot handed out is counted");
    // course: end
}
// course: solution
// ANCHOR_END: model
// course: end
