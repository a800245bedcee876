//! The sync primitives of the pool, the breaker and the metrics: std's and crossbeam's in a
//! normal build, loom's when the crate is built with `RUSTFLAGS="--cfg loom"` for its model tests
//! (`tests/loom.rs`). It is the switch tokio uses: the code stays the same, and loom sees every
//! lock, atomic, thread and queue it touches, so it can try every interleaving of them.
//! (`Arc` stays std's: the clock is handed in as a std `Arc`, and loom need not see counts.)

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64};
#[cfg(not(loom))]
pub(crate) use std::sync::{Condvar, Mutex, MutexGuard};
#[cfg(not(loom))]
pub(crate) use std::thread::{self, JoinHandle};

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicI64, AtomicU64};
#[cfg(loom)]
pub(crate) use loom::sync::{Mutex, MutexGuard};
#[cfg(loom)]
pub(crate) use loom::thread::{self, JoinHandle};

#[cfg(not(loom))]
pub(crate) use std::time::Instant;

/// Loom has no clock, and a model must do the same thing in every run: a latency that differs
/// from run to run lands in a different histogram bucket, which loom rejects ("is the model
/// fully deterministic?"). So under loom every moment is the same moment.
#[cfg(loom)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Instant;

#[cfg(loom)]
impl Instant {
    pub(crate) fn now() -> Instant {
        Instant
    }
}

#[cfg(loom)]
impl std::ops::Add<std::time::Duration> for Instant {
    type Output = Instant;

    fn add(self, _: std::time::Duration) -> Instant {
        Instant
    }
}

#[cfg(loom)]
impl std::ops::Sub for Instant {
    type Output = std::time::Duration;

    fn sub(self, _: Instant) -> std::time::Duration {
        std::time::Duration::ZERO
    }
}

/// Loom's `Condvar` with the one method it lacks that the pool uses. Loom has no clock, so the
/// time limit never passes: the wait ends when the condition does, and a model that would need
/// the time-out shows up as a deadlock.
#[cfg(loom)]
#[derive(Debug, Default)]
pub(crate) struct Condvar(loom::sync::Condvar);

#[cfg(loom)]
impl Condvar {
    pub(crate) fn new() -> Condvar {
        Condvar(loom::sync::Condvar::new())
    }

    pub(crate) fn notify_all(&self) {
        self.0.notify_all();
    }

    pub(crate) fn wait_timeout_while<'a, T, F>(
        &self,
        mut guard: MutexGuard<'a, T>,
        _limit: std::time::Duration,
        mut condition: F,
    ) -> std::sync::LockResult<(MutexGuard<'a, T>, ())>
    where
        F: FnMut(&mut T) -> bool,
    {
        while condition(&mut *guard) {
            // No code panics while holding the pool's locks, so they are never poisoned.
            guard = self.0.wait(guard).expect("never poisoned");
        }
        Ok((guard, ()))
    }
}

/// The pool's queues: crossbeam's channel. Model tests (`--cfg loom`) need queues loom can see
/// into: there, `channel` stands for the loom-built channel below, which has the same API, so
/// the pool's code reads the same in both builds.
#[cfg(not(loom))]
pub(crate) use crossbeam_channel as channel;

/// Loom cannot see inside crossbeam's channel (its own atomics and parking), so a model-test
/// build uses the support crate's stand-in: a queue behind a loom `Mutex` and `Condvar`, with
/// the part of crossbeam-channel's API the pools use and the same rules.
#[cfg(loom)]
pub use course_support::loom_channel as channel;
