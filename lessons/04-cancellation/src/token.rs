//! The cancellation token: Go's `context.Context`, made of a channel whose only sender is dropped
//! to wake every waiter at once, and the [`Cause`] it keeps.

use crossbeam_channel::{Receiver, Sender};
use std::sync::{Arc, Mutex, OnceLock};

// ANCHOR: token
/// Why a pool was cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// Someone called [`CancelToken::cancel`] from outside the pool, or
    /// [`Pool::shutdown_now`](crate::Pool::shutdown_now).
    Requested,
    /// The pool's deadline passed.
    Deadline,
    /// A job failed (or timed out) and the pool cancels on the first error.
    FirstError {
        /// The job whose failure cancelled the pool, by its [`HasId::id`](crate::HasId::id).
        job: u64,
    },
    /// A job panicked and took its worker with it; the pool stops rather than hang with
    /// a worker short (lesson 7 catches panics instead).
    WorkerPanicked,
}

/// A cancellation signal that any number of threads can wait on and any one can trigger.
///
/// Clones share one signal. Go closes `ctx.Done()` to wake every waiter; here the token drops
/// the only `Sender` of a channel, and every clone of its `Receiver` sees the disconnect at once.
#[derive(Debug, Clone)]
pub struct CancelToken {
    inner: Arc<TokenInner>,
}

#[derive(Debug)]
struct TokenInner {
    /// Set once, by the first cancel; later cancels keep the first cause.
    cause: OnceLock<Cause>,
    /// Never sends: dropping it is the signal. `Mutex<Option<…>>` so `cancel(&self)` can drop it.
    trigger: Mutex<Option<Sender<()>>>,
    /// What waiters `select!` on: it becomes ready (disconnected) when `trigger` is dropped.
    done: Receiver<()>,
}

impl CancelToken {
    /// A token that has not been cancelled.
    pub fn new() -> CancelToken {
        let (trigger, done) = crossbeam_channel::bounded(0);
        CancelToken {
            inner: Arc::new(TokenInner {
                cause: OnceLock::new(),
                trigger: Mutex::new(Some(trigger)),
                done,
            }),
        }
    }

    /// Cancels everything that shares this token. Returns `false` if it was already cancelled
    /// (the first cause is kept).
    pub fn cancel(&self, cause: Cause) -> bool {
        if self.inner.cause.set(cause).is_err() {
            return false;
        }
        // The cause is set before the wake-up, so whoever wakes sees `is_cancelled()`.
        drop(self.inner.trigger.lock().expect("never poisoned").take());
        true
    }

    /// Whether the token has been cancelled: the cheap check for code that polls.
    pub fn is_cancelled(&self) -> bool {
        self.inner.cause.get().is_some()
    }

    /// Why it was cancelled, if it was.
    pub fn cause(&self) -> Option<Cause> {
        self.inner.cause.get().copied()
    }

    /// A channel that becomes ready when the token is cancelled, for `select!`: Go's
    /// `ctx.Done()`. Receiving from it returns `Err` once cancelled, and blocks until then.
    pub fn done(&self) -> &Receiver<()> {
        &self.inner.done
    }
}

impl Default for CancelToken {
    fn default() -> Self {
        CancelToken::new()
    }
}
// ANCHOR_END: token
