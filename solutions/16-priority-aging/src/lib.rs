// course: exercise
// //! # Exercise 16: priorities that age
// course: solution
//! # Exercise 16, solved: priorities that age
// course: end
//!
// course: exercise
// //! A priority pool runs the most urgent job first. A plain priority queue does that, and
// //! starves: under a steady stream of urgent jobs, a low-priority one never runs. Write a
// //! [`PriorityQueue`] in which a waiting job *ages*, rising one priority level for every
// //! `age_every` picks it waits, so that no job waits forever.
// //!
// //! The rule, exactly. Every [`PriorityQueue::pop`] that returns a job is a *pick*. A job's
// //! *wait* is the number of picks since it was pushed, and its *rank* is
// //! `priority × age_every + wait`. `pop` takes the job with the highest rank; among equal ranks,
// //! the one pushed first. So a job of priority 2 that has waited `age_every` picks ranks with a
// //! fresh job of priority 3, and goes first because it is older. With `age_every = 4`, a
// //! priority-0 job under a steady stream of priority-3 jobs comes out at its 13th pick: after
// //! 3 × 4 picks of waiting it ties with a fresh one.
// //!
// //! Priorities are `u8` (0 to 255) and `age_every` can be anything from 1 to `u64::MAX`, so
// //! choose types in which every rank fits. There is no clock: aging counts picks, not time.
// //!
// //! Then make it shared: [`SharedQueue`] wraps the queue in a `Mutex`, with a `Condvar` for the
// //! workers that find it empty. `pop` waits for a job, and returns `None` once the queue is
// //! closed and empty, which is how a worker knows to leave; `push` after `close` hands the job
// //! back. The fields of [`SharedQueue`] are written; the fields of [`PriorityQueue`] are yours
// //! to choose: replace the placeholder.
// //!
// //! Replace each `@todo()` and run `cargo test -p ex16-priority-aging` until it passes. Stuck?
// //! Run `cargo run -p course -- hint ex16-priority-aging`.
// course: solution
//! A job's rank at pick `P` is `priority × age_every + (P − pushed_at)`. The `P` is the same for
//! every job in the queue, so comparing two ranks never needs it: the job with the larger
//! `priority × age_every − pushed_at` ranks higher, now and at every later pick. That difference
//! never changes while the job waits, so it can be the key of an ordinary `BinaryHeap`, fixed at
//! `push`; no rescan, no re-keying. The key is computed in `u128`, where `255 × u64::MAX` fits,
//! and a sequence number breaks ties so that equals leave first-in first-out.
// course: end

// course: exercise
// use std::marker::PhantomData;
// course: solution
use std::cmp::Ordering;
use std::collections::BinaryHeap;
// course: end
use std::sync::{Condvar, Mutex};

// course: exercise
// /// A priority queue in which waiting jobs age: highest rank first
// /// (`priority × age_every + picks waited`), equal ranks first-in first-out.
// course: solution
/// One queued job with the two numbers that order it.
#[derive(Debug)]
struct Entry<T> {
    /// `priority × age_every + (u64::MAX − pushed_at)`: larger ranks higher, at every pick. The
    /// `u64::MAX −` turns "pushed later ranks lower" into a non-negative number.
    key: u128,
    /// The push number: among equal keys, the smaller was pushed first and leaves first.
    seq: u64,
    /// The job itself.
    item: T,
}

impl<T> PartialEq for Entry<T> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl<T> Eq for Entry<T> {}

impl<T> PartialOrd for Entry<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<T> Ord for Entry<T> {
    /// `BinaryHeap` pops the greatest: the larger key, then the *smaller* sequence number.
    fn cmp(&self, other: &Self) -> Ordering {
        self.key
            .cmp(&other.key)
            .then_with(|| other.seq.cmp(&self.seq))
    }
}

/// A priority queue in which waiting jobs age: higher priority first, equal ranks first-in
/// first-out, and a job rises one priority level for every `age_every` picks it waits.
///
/// ```
/// use priority_aging::PriorityQueue;
///
/// let mut queue = PriorityQueue::new(2);
/// queue.push(0, "low");
/// queue.push(1, "high 1");
/// assert_eq!(queue.pop(), Some("high 1"));
/// // "low" has waited 1 pick: rank 0×2 + 1 = 1, below a fresh high's 1×2 + 0 = 2.
/// queue.push(1, "high 2");
/// assert_eq!(queue.pop(), Some("high 2"));
/// // Now it has waited 2 picks: rank 2, equal to a fresh high's, and it is older.
/// queue.push(1, "high 3");
/// assert_eq!(queue.pop(), Some("low"));
/// assert_eq!(queue.pop(), Some("high 3"));
/// assert_eq!(queue.pop(), None);
/// ```
// course: end
#[derive(Debug)]
pub struct PriorityQueue<T> {
    // course: exercise
    // // Replace this with your fields: the setting, the jobs, and whatever counts you need to
    // // know how long each job has waited and which of two equals came first.
    // _your_fields_here: PhantomData<T>,
    // course: solution
    /// How many picks of waiting are worth one priority level.
    age_every: u64,
    /// The jobs, keyed so that the next one to pick is on top.
    heap: BinaryHeap<Entry<T>>,
    /// Picks so far (pops that returned a job): a job's wait is counted against it.
    picks: u64,
    /// Pushes so far: the next job's sequence number.
    pushes: u64,
    // course: end
}

impl<T> PriorityQueue<T> {
    /// An empty queue in which a job rises one priority level for every `age_every` picks it
    /// waits.
    ///
    /// # Panics
    ///
    /// If `age_every` is 0.
    pub fn new(age_every: u64) -> PriorityQueue<T> {
        // course: exercise
        // let _ = age_every;
        // @todo("refuse 0; start empty, with no picks and no pushes counted")
        // course: solution
        assert!(age_every > 0, "age_every must be at least 1");
        PriorityQueue {
            age_every,
            heap: BinaryHeap::new(),
            picks: 0,
            pushes: 0,
        }
        // course: end
    }

    /// Queues `item` with `priority` (higher runs sooner).
    pub fn push(&mut self, priority: u8, item: T) {
        // course: exercise
        // let _ = (self, priority, item);
        // @todo(
        //     "store the job with what ordering it needs: its priority, when it arrived (in picks), and a push number for ties"
        // )
        // course: solution
        // In u128: 255 × u64::MAX + u64::MAX fits with room to spare.
        let key =
            u128::from(priority) * u128::from(self.age_every) + u128::from(u64::MAX - self.picks);
        let seq = self.pushes;
        self.pushes += 1;
        self.heap.push(Entry { key, seq, item });
        // course: end
    }

    // course: exercise
    // /// Takes the job with the highest rank now; among equal ranks, the one pushed first. `None`
    // /// if the queue is empty (that is not a pick).
    // course: solution
    /// Takes the job with the highest rank now (`priority × age_every + picks waited`); among
    /// equal ranks, the one pushed first. `None` if the queue is empty.
    // course: end
    pub fn pop(&mut self) -> Option<T> {
        // course: exercise
        // let _ = self;
        // @todo(
        //     "take the highest rank (priority × age_every + picks waited), the oldest among equals, and count one more pick"
        // )
        // course: solution
        let entry = self.heap.pop()?;
        // Only a pop that returns a job is a pick: every job still queued has waited one more.
        self.picks += 1;
        Some(entry.item)
        // course: end
    }

    /// Jobs waiting.
    pub fn len(&self) -> usize {
        // course: exercise
        // let _ = self;
        // @todo("count the jobs waiting")
        // course: solution
        self.heap.len()
        // course: end
    }

    /// Whether no job is waiting.
    pub fn is_empty(&self) -> bool {
        // course: exercise
        // self.len() == 0
        // course: solution
        self.heap.is_empty()
        // course: end
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
// course: solution
///
/// ```
/// use priority_aging::SharedQueue;
///
/// let queue = SharedQueue::new(4);
/// queue.push(1, "job").unwrap();
/// queue.close();
/// assert_eq!(queue.pop(), Some("job"));
/// assert_eq!(queue.pop(), None);
/// assert_eq!(queue.push(1, "late"), Err("late"));
/// ```
// course: end
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
        // course: exercise
        // let _ = (&self.state, &self.ready, priority, item);
        // @todo(
        //     "lock; if closed, hand the item back; else push it, unlock, and wake one waiting worker"
        // )
        // course: solution
        let mut state = self.state.lock().expect("no one panics holding the lock");
        if state.closed {
            return Err(item);
        }
        state.queue.push(priority, item);
        drop(state);
        // One job, one worker: waking them all would only send the others back to sleep.
        self.ready.notify_one();
        Ok(())
        // course: end
    }

    /// Takes the next job, waiting while the queue is empty and open. `None` once it is closed
    /// and empty: that is a worker's signal to leave.
    pub fn pop(&self) -> Option<T> {
        // course: exercise
        // let _ = self;
        // @todo(
        //     "lock; loop: a job? return it; closed? return None; else wait on the Condvar (which gives the lock back)"
        // )
        // course: solution
        let mut state = self.state.lock().expect("no one panics holding the lock");
        // A loop, not an `if`: a wake-up can be spurious, or another worker may have taken
        // the job first.
        loop {
            if let Some(item) = state.queue.pop() {
                return Some(item);
            }
            if state.closed {
                return None;
            }
            state = self
                .ready
                .wait(state)
                .expect("no one panics holding the lock");
        }
        // course: end
    }

    /// Stops taking jobs. Jobs already queued are still handed out; then every `pop` returns
    /// `None`.
    pub fn close(&self) {
        // course: exercise
        // let _ = self;
        // @todo("set closed under the lock, and wake every waiting worker")
        // course: solution
        self.state
            .lock()
            .expect("no one panics holding the lock")
            .closed = true;
        // Every waiting worker must see it, or those still asleep never leave.
        self.ready.notify_all();
        // course: end
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
