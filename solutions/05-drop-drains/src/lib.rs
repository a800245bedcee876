// course: exercise
// //! # Exercise 5: a `Drop` that drains and joins
// course: solution
//! # Exercise 5, solved: a `Drop` that drains and joins
// course: end
//!
// course: exercise
// //! The [`Pool`] below starts its workers and takes jobs; what it lacks is a way to stop. Write
// //! its `Drop`: when a pool goes out of scope, every job already queued must still run, and
// //! `drop` must not return until they all have and every worker thread has ended. That is
// //! lesson 3's `close_and_join`, in the one place Rust always calls.
// //!
// //! Replace the `@todo()` in `drop` and run `cargo test -p ex05-drop-drains` until it passes.
// //! Stuck? Run `cargo run -p course -- hint ex05-drop-drains`.
// course: solution
//! Close, then join: in that order, and nothing queued is lost.
// course: end

use crossbeam_channel::Sender;
use std::thread::{self, JoinHandle};

/// A job: any closure that can run once, on another thread.
pub type Job = Box<dyn FnOnce() + Send + 'static>;

/// A fixed set of worker threads behind one queue. Dropping it runs every queued job first.
pub struct Pool {
    /// The only sender of the queue. Dropping it closes the queue: the workers finish what is
    /// queued, then their loops end. It is an `Option` only so that `drop`, which gets
    /// `&mut self`, can take it out and drop it.
    queue: Option<Sender<Job>>,
    /// The worker threads. Joining them all means no job is queued or running any more.
    workers: Vec<JoinHandle<()>>,
}

impl Pool {
    /// Starts `workers` threads that run jobs from one queue, in the order they were submitted.
    ///
    /// # Panics
    ///
    /// If `workers` is 0.
    pub fn new(workers: usize) -> Pool {
        assert!(workers > 0, "a pool needs at least one worker");
        // Unbounded: `submit` never waits, so the tests can queue many jobs behind busy workers.
        let (queue, jobs) = crossbeam_channel::unbounded::<Job>();
        let workers = (0..workers)
            .map(|_| {
                let jobs = jobs.clone();
                // Ends once the queue is closed *and* empty: closing it does not skip anything.
                thread::spawn(move || {
                    for job in jobs {
                        job();
                    }
                })
            })
            .collect();
        Pool {
            queue: Some(queue),
            workers,
        }
    }

    /// Queues a job; the first free worker runs it.
    pub fn submit<F>(&self, job: F)
    where
        F: FnOnce() + Send + 'static,
    {
        self.queue
            .as_ref()
            .expect("the queue is open until the pool is dropped")
            .send(Box::new(job))
            .expect("the workers hold the receiver until the queue closes");
    }
}

impl Drop for Pool {
    /// Dropping the pool drains it: close the queue, let the workers finish every queued job,
    /// and wait for them.
    fn drop(&mut self) {
        // course: exercise
        // let Pool { queue, workers } = self;
        // let _ = (queue, workers);
        // @todo(
        //     "close the queue by taking the sender out of `self.queue` and dropping it, then join every worker"
        // )
        // course: solution
        // Dropping the only sender closes the queue. Workers empty it, then their loops end.
        // (Joining first would wait for ever: the workers would still be waiting for jobs.)
        drop(self.queue.take());
        for worker in self.workers.drain(..) {
            // A worker that died took its job's panic with it. There is nothing left to wait
            // for, and panicking again inside `drop` could abort the program.
            let _ = worker.join();
        }
        // course: end
    }
}
