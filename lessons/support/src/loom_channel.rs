//! A channel for loom's model tests, in place of crossbeam-channel.
//!
//! Loom can only reorder what it can see: its own `Mutex`, `Condvar`, atomics and threads, not
//! crossbeam's own atomics and parking. A lesson built with `RUSTFLAGS="--cfg loom"` uses this
//! channel instead (lessons 3 and 7 re-export it from their `sync` module): a queue behind a loom
//! `Mutex` and `Condvar`, with the part of crossbeam-channel's API the pools use and the same
//! rules. A channel is disconnected when every sender (or every receiver) is gone, and receivers
//! still get what was queued before. Loom has no clock, so a deadline or time limit never passes.

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
    pub fn send_deadline<D>(&self, msg: T, _deadline: D) -> Result<(), SendTimeoutError<T>> {
        self.send(msg)
            .map_err(|e| SendTimeoutError::Disconnected(e.into_inner()))
    }

    /// Messages queued right now.
    pub fn len(&self) -> usize {
        self.0.lock().queue.len()
    }

    /// Whether nothing is queued right now.
    pub fn is_empty(&self) -> bool {
        self.0.lock().queue.is_empty()
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

/// One end of a channel that `Select` can wait on.
trait Ready {
    fn ready(&self) -> bool;
}

impl<T> Ready for Sender<T> {
    fn ready(&self) -> bool {
        self.0.lock().can_send()
    }
}

impl<T> Ready for Receiver<T> {
    fn ready(&self) -> bool {
        self.0.lock().can_recv()
    }
}

/// Waits until one of several sends or receives can go ahead. Unlike crossbeam's, it only
/// waits for readiness; the chosen operation then runs as a plain `send`/`recv`, which may
/// wait again if another thread took the room (or the message) first. Waiting on two
/// channels at once is done by polling with `yield_now`, which loom understands as "this
/// thread cannot go on until another one moves".
pub struct Select<'a> {
    ops: Vec<&'a dyn Ready>,
}

impl Default for Select<'_> {
    fn default() -> Self {
        Select::new()
    }
}

impl<'a> Select<'a> {
    /// No operations yet.
    pub fn new() -> Self {
        Select { ops: Vec::new() }
    }

    /// Adds a send on `s`; returns its index.
    pub fn send<T>(&mut self, s: &'a Sender<T>) -> usize {
        self.ops.push(s);
        self.ops.len() - 1
    }

    /// Adds a receive on `r`; returns its index.
    pub fn recv<T>(&mut self, r: &'a Receiver<T>) -> usize {
        self.ops.push(r);
        self.ops.len() - 1
    }

    /// Waits until one operation is ready, trying them in order.
    pub fn select(&mut self) -> SelectedOperation {
        loop {
            if let Some(index) = self.ops.iter().position(|op| op.ready()) {
                return SelectedOperation { index };
            }
            loom::thread::yield_now();
        }
    }
}

/// The operation `Select::select` chose.
pub struct SelectedOperation {
    index: usize,
}

impl SelectedOperation {
    /// Its index, as returned when it was added.
    pub fn index(&self) -> usize {
        self.index
    }

    /// Runs the chosen send.
    pub fn send<T>(self, s: &Sender<T>, msg: T) -> Result<(), SendError<T>> {
        s.send(msg)
    }

    /// Runs the chosen receive.
    pub fn recv<T>(self, r: &Receiver<T>) -> Result<T, RecvError> {
        r.recv()
    }
}
