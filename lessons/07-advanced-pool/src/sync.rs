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

/// Loom cannot see inside crossbeam's channel (its own atomics and parking), so a model-test
/// build uses this one instead: a queue behind a loom `Mutex` and `Condvar`, with the part of
/// crossbeam-channel's API the pool uses, and the same rules: a channel is disconnected when
/// every sender (or every receiver) is gone, and receivers still get what was queued before.
#[cfg(loom)]
pub mod channel {
    use super::Instant;
    use loom::sync::{Arc, Condvar, Mutex, MutexGuard};
    use std::collections::VecDeque;
    use std::time::Duration;

    struct State<T> {
        queue: VecDeque<T>,
        /// `None` for an unbounded channel.
        capacity: Option<usize>,
        senders: usize,
        receivers: usize,
    }

    impl<T> State<T> {
        /// A send would not wait: there is room, or nobody will ever receive.
        fn can_send(&self) -> bool {
            self.receivers == 0 || self.capacity.is_none_or(|cap| self.queue.len() < cap)
        }

        /// A receive would not wait: something is queued, or nothing more will come.
        fn can_recv(&self) -> bool {
            !self.queue.is_empty() || self.senders == 0
        }
    }

    struct Chan<T> {
        state: Mutex<State<T>>,
        /// Notified on every change; each waiter re-checks its own condition.
        changed: Condvar,
    }

    impl<T> Chan<T> {
        fn lock(&self) -> MutexGuard<'_, State<T>> {
            self.state.lock().expect("no code panics while holding it")
        }

        fn wait<'a>(&self, guard: MutexGuard<'a, State<T>>) -> MutexGuard<'a, State<T>> {
            self.changed
                .wait(guard)
                .expect("no code panics while holding it")
        }
    }

    fn channel<T>(capacity: Option<usize>) -> (Sender<T>, Receiver<T>) {
        let chan = Arc::new(Chan {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                capacity,
                senders: 1,
                receivers: 1,
            }),
            changed: Condvar::new(),
        });
        (Sender(Arc::clone(&chan)), Receiver(chan))
    }

    /// A channel that holds up to `capacity` messages. Capacity 0 is no rendezvous here: a
    /// send on it waits until every receiver is gone. The pool uses one only for its
    /// disconnect, and never sends on it.
    pub fn bounded<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
        channel(Some(capacity))
    }

    /// A channel with no limit.
    pub fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
        channel(None)
    }

    /// A message that could not be sent, because every receiver is gone.
    pub struct SendError<T>(T);

    /// Like crossbeam's: the message is not shown, so any message type will do.
    impl<T> std::fmt::Debug for SendError<T> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("SendError(..)")
        }
    }

    impl<T> SendError<T> {
        /// The message, back.
        pub fn into_inner(self) -> T {
            self.0
        }
    }

    /// Every sender is gone and the queue is empty.
    #[derive(Debug)]
    pub struct RecvError;

    /// Why `try_recv` found nothing.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum TryRecvError {
        /// Nothing queued yet.
        Empty,
        /// Nothing queued, and every sender is gone.
        Disconnected,
    }

    /// Why `try_send` gave the message back.
    #[derive(Debug)]
    pub enum TrySendError<T> {
        /// No room.
        Full(T),
        /// Every receiver is gone.
        Disconnected(T),
    }

    /// Why `send_deadline` gave the message back (only `Disconnected` happens under loom).
    #[derive(Debug)]
    pub enum SendTimeoutError<T> {
        /// The deadline passed. Never under loom, which has no clock; kept so the pool's
        /// `match` reads the same.
        #[allow(dead_code)]
        Timeout(T),
        /// Every receiver is gone.
        Disconnected(T),
    }

    /// Why `recv_timeout` returned nothing (only `Disconnected` happens under loom).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum RecvTimeoutError {
        /// The time limit passed. Never under loom, which has no clock; kept so the pool's
        /// `match` reads the same.
        #[allow(dead_code)]
        Timeout,
        /// Every sender is gone and the queue is empty.
        Disconnected,
    }

    /// The sending side.
    pub struct Sender<T>(Arc<Chan<T>>);

    impl<T> Sender<T> {
        /// Queues `msg`, waiting while the channel is full.
        pub fn send(&self, msg: T) -> Result<(), SendError<T>> {
            let mut state = self.0.lock();
            while !state.can_send() {
                state = self.0.wait(state);
            }
            if state.receivers == 0 {
                return Err(SendError(msg));
            }
            state.queue.push_back(msg);
            self.0.changed.notify_all();
            Ok(())
        }

        /// Queues `msg` if there is room now.
        pub fn try_send(&self, msg: T) -> Result<(), TrySendError<T>> {
            let mut state = self.0.lock();
            if state.receivers == 0 {
                return Err(TrySendError::Disconnected(msg));
            }
            if !state.can_send() {
                return Err(TrySendError::Full(msg));
            }
            state.queue.push_back(msg);
            self.0.changed.notify_all();
            Ok(())
        }

        /// Loom has no clock, so the deadline never passes: this waits like `send`.
        pub fn send_deadline(&self, msg: T, _deadline: Instant) -> Result<(), SendTimeoutError<T>> {
            self.send(msg)
                .map_err(|e| SendTimeoutError::Disconnected(e.into_inner()))
        }

        /// Messages queued right now.
        pub fn len(&self) -> usize {
            self.0.lock().queue.len()
        }
    }

    impl<T> Clone for Sender<T> {
        fn clone(&self) -> Self {
            self.0.lock().senders += 1;
            Sender(Arc::clone(&self.0))
        }
    }

    impl<T> Drop for Sender<T> {
        fn drop(&mut self) {
            let mut state = self.0.lock();
            state.senders -= 1;
            if state.senders == 0 {
                // Receivers waiting on an empty queue must wake up to see the disconnect.
                self.0.changed.notify_all();
            }
        }
    }

    /// The receiving side.
    pub struct Receiver<T>(Arc<Chan<T>>);

    impl<T> Receiver<T> {
        /// The next message, waiting for one; `Err` once every sender is gone and the queue is
        /// empty.
        pub fn recv(&self) -> Result<T, RecvError> {
            let mut state = self.0.lock();
            while !state.can_recv() {
                state = self.0.wait(state);
            }
            let msg = state.queue.pop_front().ok_or(RecvError)?;
            // A sender may be waiting for the room this made.
            self.0.changed.notify_all();
            Ok(msg)
        }

        /// Loom has no clock, so the limit never passes: this waits like `recv`.
        pub fn recv_timeout(&self, _limit: Duration) -> Result<T, RecvTimeoutError> {
            self.recv()
                .map_err(|RecvError| RecvTimeoutError::Disconnected)
        }

        /// The next message if one is queued, without waiting.
        pub fn try_recv(&self) -> Result<T, TryRecvError> {
            let mut state = self.0.lock();
            match state.queue.pop_front() {
                Some(msg) => {
                    self.0.changed.notify_all();
                    Ok(msg)
                }
                None if state.senders == 0 => Err(TryRecvError::Disconnected),
                None => Err(TryRecvError::Empty),
            }
        }

        /// The messages queued right now.
        pub fn try_iter(&self) -> impl Iterator<Item = T> + '_ {
            std::iter::from_fn(|| self.try_recv().ok())
        }
    }

    impl<T> Clone for Receiver<T> {
        fn clone(&self) -> Self {
            self.0.lock().receivers += 1;
            Receiver(Arc::clone(&self.0))
        }
    }

    impl<T> Drop for Receiver<T> {
        fn drop(&mut self) {
            let mut state = self.0.lock();
            state.receivers -= 1;
            if state.receivers == 0 {
                // A sender waiting on a full queue must wake up to see the disconnect.
                self.0.changed.notify_all();
            }
        }
    }

    /// `for msg in receiver` takes messages until the channel is disconnected and empty.
    impl<T> IntoIterator for Receiver<T> {
        type Item = T;
        type IntoIter = IntoIter<T>;

        fn into_iter(self) -> IntoIter<T> {
            IntoIter(self)
        }
    }

    /// The iterator of `for msg in receiver`.
    pub struct IntoIter<T>(Receiver<T>);

    impl<T> Iterator for IntoIter<T> {
        type Item = T;

        fn next(&mut self) -> Option<T> {
            self.0.recv().ok()
        }
    }
}
