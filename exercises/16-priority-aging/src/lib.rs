//! # Exercise 16: priorities that age
//!
//! A priority pool runs the most urgent job first. A plain priority queue does that, and
//! starves: under a steady stream of urgent jobs, a low-priority one never runs. Write a
//! [`PriorityQueue`] in which a waiting job *ages*, rising one priority level for every
//! `age_every` picks it waits, so that no job waits forever.
//!
//! The rule, exactly. Every [`PriorityQueue::pop`] that returns a job is a *pick*. A job's
//! *wait* is the number of picks since it was pushed, and its *rank* is
//! `priority × age_every + wait`. `pop` takes the job with the highest rank; among equal ranks,
//! the one pushed first. So a job of priority 2 that has waited `age_every` picks ranks with a
//! fresh job of priority 3, and goes first because it is older. With `age_every = 4`, a
//! priority-0 job under a steady stream of priority-3 jobs comes out at its 13th pick: after
//! 3 × 4 picks of waiting it ties with a fresh one.
//!
//! Priorities are `u8` (0 to 255) and `age_every` can be anything from 1 to `u64::MAX`, so
//! choose types in which every rank fits. There is no clock: aging counts picks, not time.
//!
//! Then make it shared: [`SharedQueue`] wraps the queue in a `Mutex`, with a `Condvar` for the
//! workers that find it empty. `pop` waits for a job, and returns `None` once the queue is
//! closed and empty, which is how a worker knows to leave; `push` after `close` hands the job
//! back. The fields of [`SharedQueue`] are written; the fields of [`PriorityQueue`] are yours
//! to choose: replace the placeholder.
//!
//! Replace each `todo!()` and run `cargo test -p ex16-priority-aging` until it passes. Stuck?
//! Run `cargo run -p course -- hint ex16-priority-aging`.

use std::marker::PhantomData;
use std::sync::{Condvar, Mutex};

/// A priority queue in which waiting jobs age: highest rank first
/// (`priority × age_every + picks waited`), equal ranks first-in first-out.
#[derive(Debug)]
pub struct PriorityQueue<T> {
    // Replace this with your fields: the setting, the jobs, and whatever counts you need to
    // know how long each job has waited and which of two equals came first.
    _your_fields_here: PhantomData<T>,
}

impl<T> PriorityQueue<T> {
    /// An empty queue in which a job rises one priority level for every `age_every` picks it
    /// waits.
    ///
    /// # Panics
    ///
    /// If `age_every` is 0.
    pub fn new(age_every: u64) -> PriorityQueue<T> {
        let _ = age_every;
        todo!("refuse 0; start empty, with no picks and no pushes counted")
    }

    /// Queues `item` with `priority` (higher runs sooner).
    pub fn push(&mut self, priority: u8, item: T) {
        let _ = (self, priority, item);
        todo!(
            "store the job with what ordering it needs: its priority, when it arrived (in picks), and a push number for ties"
        )
    }

    /// Takes the job with the highest rank now; among equal ranks, the one pushed first. `None`
    /// if the queue is empty (that is not a pick).
    pub fn pop(&mut self) -> Option<T> {
        let _ = self;
        todo!(
            "take the highest rank (priority × age_every + picks waited), the oldest among equals, and count one more pick"
        )
    }

    /// Jobs waiting.
    pub fn len(&self) -> usize {
        let _ = self;
        todo!("count the jobs waiting")
    }

    /// Whether no job is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What the lock in [`SharedQueue`] guards: the queue, and whether it still takes jobs.
#[derive(Debug)]
struct Shared<T> {
    /// The jobs.
    queue: PriorityQueue<T>,
    /// Set by [`SharedQueue::close`]: no more pushes; `pop` returns `None` once the queue is
    /// empty.
    closed: bool,
}

/// A [`PriorityQueue`] that several worker threads share: `pop` waits for a job.
#[derive(Debug)]
pub struct SharedQueue<T> {
    /// The queue and the closed flag, under one lock: a worker checks both in one step, so it
    /// cannot miss a push or a close that happens between its two looks.
    state: Mutex<Shared<T>>,
    /// Where workers with nothing to do wait; `push` and `close` wake them.
    ready: Condvar,
}

impl<T> SharedQueue<T> {
    /// An empty, open shared queue; jobs age as in [`PriorityQueue::new`].
    ///
    /// # Panics
    ///
    /// If `age_every` is 0.
    pub fn new(age_every: u64) -> SharedQueue<T> {
        SharedQueue {
            state: Mutex::new(Shared {
                queue: PriorityQueue::new(age_every),
                closed: false,
            }),
            ready: Condvar::new(),
        }
    }

    /// Queues `item`, and wakes one waiting worker. After [`SharedQueue::close`], hands `item`
    /// back as `Err(item)`.
    pub fn push(&self, priority: u8, item: T) -> Result<(), T> {
        let _ = (&self.state, &self.ready, priority, item);
        todo!(
            "lock; if closed, hand the item back; else push it, unlock, and wake one waiting worker"
        )
    }

    /// Takes the next job, waiting while the queue is empty and open. `None` once it is closed
    /// and empty: that is a worker's signal to leave.
    pub fn pop(&self) -> Option<T> {
        let _ = self;
        todo!(
            "lock; loop: a job? return it; closed? return None; else wait on the Condvar (which gives the lock back)"
        )
    }

    /// Stops taking jobs. Jobs already queued are still handed out; then every `pop` returns
    /// `None`.
    pub fn close(&self) {
        let _ = self;
        todo!("set closed under the lock, and wake every waiting worker")
    }

    /// Whether [`SharedQueue::close`] has been called.
    pub fn is_closed(&self) -> bool {
        self.state
            .lock()
            .expect("no one panics holding the lock")
            .closed
    }

    /// Jobs waiting.
    pub fn len(&self) -> usize {
        self.state
            .lock()
            .expect("no one panics holding the lock")
            .queue
            .len()
    }

    /// Whether no job is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
