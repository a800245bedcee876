// course: exercise
// //! # Exercise 6: shutdown with a deadline
// course: solution
//! # Exercise 6, solved: shutdown with a deadline
// course: end
//!
// course: exercise
// //! Lesson 3's `shutdown` waits as long as the queue takes to drain. Write
// //! [`Pool::shutdown_within`], which waits at most `deadline`. If the workers empty the queue in
// //! time, every job has finished and nothing comes back. If the deadline passes first, raise the
// //! stop flag: the jobs that are running finish, and the workers hand every job still queued
// //! back untouched. Either way, when it returns no job is running, and every job the pool
// //! accepted is in exactly one of `finished` and `unstarted`.
// //!
// //! The pool and its workers are written; read the fields of [`Pool`] and the `worker`
// //! function, then replace the `@todo()` and run `cargo test -p ex06-shutdown-deadline` until it
// //! passes. Stuck? Run `cargo run -p course -- hint ex06-shutdown-deadline`.
// course: solution
//! Close the queue, wait for the workers with a time limit, raise the stop flag if the limit
//! was hit, join, and collect: every job comes back as finished or unstarted.
// course: end

// course: solution
use crossbeam_channel::RecvTimeoutError;
// course: end
use crossbeam_channel::{Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// What [`Pool::shutdown_within`] hands back: every job the pool accepted, exactly once.
#[derive(Debug)]
pub struct Shutdown<J> {
    /// Jobs that ran to the end, in the order they finished.
    pub finished: Vec<J>,
    /// Jobs that never started, handed back untouched: they were still queued when the deadline
    /// passed.
    pub unstarted: Vec<J>,
}

/// A flag that goes up once and stays up: the pool raises it when shutdown stops waiting.
#[derive(Debug, Default)]
pub struct StopFlag {
    /// Whether it is up.
    raised: Mutex<bool>,
    /// Wakes [`StopFlag::wait_raised`] when the flag goes up.
    changed: Condvar,
}

impl StopFlag {
    /// Raises the flag. From then on, workers hand the jobs they take back instead of running
    /// them. A job already running is not interrupted.
    pub fn raise(&self) {
        *self.raised.lock().expect("nobody panics holding it") = true;
        self.changed.notify_all();
    }

    /// Whether the flag is up.
    pub fn is_raised(&self) -> bool {
        *self.raised.lock().expect("nobody panics holding it")
    }

    /// Waits until the flag is up, for at most `limit`, and says whether it is.
    pub fn wait_raised(&self, limit: Duration) -> bool {
        let raised = self.raised.lock().expect("nobody panics holding it");
        let (raised, _) = self
            .changed
            .wait_timeout_while(raised, limit, |up| !*up)
            .expect("nobody panics holding it");
        *raised
    }
}

/// A fixed set of worker threads behind one queue, with a shutdown that gives up waiting at a
/// deadline and hands back what it never started.
pub struct Pool<J: Send + 'static> {
    /// The only sender of the queue. Dropping it closes the queue: workers empty it, then their
    /// loops end.
    queue: Sender<J>,
    /// The worker threads. Once they are joined, no job is running and every job has been sent
    /// to `finished` or `handed_back`.
    workers: Vec<JoinHandle<()>>,
    /// Checked by each worker before each job: once it is up, the worker hands jobs back
    /// instead of running them.
    stop: Arc<StopFlag>,
    /// Every worker holds a sender of this channel and never sends on it. It disconnects when
    /// the last worker has exited, which makes it something to wait on with a time limit.
    exited: Receiver<()>,
    /// Each job that ran, sent back by the worker that ran it.
    finished: Receiver<J>,
    /// Each job a worker took out of the queue after the stop flag went up, sent back untouched.
    handed_back: Receiver<J>,
}

impl<J: Send + 'static> Pool<J> {
    /// Starts `workers` threads that run `handler(&job)` for each job.
    ///
    /// # Panics
    ///
    /// If `workers` is 0.
    pub fn new<F>(workers: usize, handler: F) -> Pool<J>
    where
        F: Fn(&J) + Send + Sync + 'static,
    {
        assert!(workers > 0, "a pool needs at least one worker");
        let (queue, jobs) = crossbeam_channel::unbounded();
        // Unbounded: a worker never waits to report, so joining the workers cannot get stuck.
        let (finished_tx, finished) = crossbeam_channel::unbounded();
        let (handed_back_tx, handed_back) = crossbeam_channel::unbounded();
        let (exited_tx, exited) = crossbeam_channel::unbounded();
        let handler = Arc::new(handler);
        let stop = Arc::new(StopFlag::default());
        let workers = (0..workers)
            .map(|_| {
                let jobs = jobs.clone();
                let handler = Arc::clone(&handler);
                let stop = Arc::clone(&stop);
                let (finished, handed_back, exited) = (
                    finished_tx.clone(),
                    handed_back_tx.clone(),
                    exited_tx.clone(),
                );
                thread::spawn(move || worker(jobs, &*handler, &stop, finished, handed_back, exited))
            })
            .collect();
        // No senders kept here: `exited` disconnects with the last worker, and so do the others.
        Pool {
            queue,
            workers,
            stop,
            exited,
            finished,
            handed_back,
        }
    }

    /// Queues a job; the first free worker takes it.
    pub fn submit(&self, job: J) {
        self.queue
            .send(job)
            .expect("the workers hold the receiver until the queue closes");
    }

    /// The stop flag, to watch for the moment shutdown stops waiting (the tests use it to hold a
    /// job until then).
    pub fn stop_flag(&self) -> Arc<StopFlag> {
        Arc::clone(&self.stop)
    }

    /// Closes the queue and waits at most `deadline` for the workers to finish it. If they do,
    /// every job is in `finished`. If the deadline passes first, it raises the stop flag, lets
    /// the running jobs finish, and returns the jobs still queued in `unstarted`, untouched.
    ///
    /// When it returns, every worker has exited. A `deadline` of zero gives up waiting at once.
    ///
    /// # Panics
    ///
    /// If a job panicked: its worker died with it, and joining that worker reports it.
    pub fn shutdown_within(self, deadline: Duration) -> Shutdown<J> {
        let Pool {
            queue,
            workers,
            stop,
            exited,
            finished,
            handed_back,
        } = self;
        // course: exercise
        // let _ = (
        //     queue,
        //     workers,
        //     stop,
        //     exited,
        //     finished,
        //     handed_back,
        //     deadline,
        // );
        // @todo(
        //     "close the queue, wait for the workers to exit for at most `deadline`, raise the stop flag if they did not, join them, then collect the finished and handed-back jobs"
        // )
        // course: solution
        // Go's `close(jobs)`: without it the workers would wait for more jobs, and never exit.
        drop(queue);
        // `join` cannot be given a time limit, but a channel can: it disconnects when the last
        // worker exits, or the wait ends at the deadline.
        match exited.recv_timeout(deadline) {
            Err(RecvTimeoutError::Disconnected) => {} // Drained in time.
            Err(RecvTimeoutError::Timeout) => stop.raise(),
            Ok(()) => unreachable!("workers never send on `exited`"),
        }
        // Quick now: each worker finishes at most the job in hand, then hands the rest back.
        for worker in workers {
            worker.join().expect("a job panicked");
        }
        // Every worker has exited, so every job is in one of the two channels.
        Shutdown {
            finished: finished.try_iter().collect(),
            unstarted: handed_back.try_iter().collect(),
        }
        // course: end
    }
}

/// One worker: runs jobs until the queue is closed and empty, or hands them back once the stop
/// flag is up.
fn worker<J, F>(
    jobs: Receiver<J>,
    handler: &F,
    stop: &StopFlag,
    finished: Sender<J>,
    handed_back: Sender<J>,
    exited: Sender<()>,
) where
    F: Fn(&J),
{
    for job in jobs {
        // Checked between jobs, never during one: a job that has started always finishes.
        if stop.is_raised() {
            // The pool holds the receiver until it has joined us, unless it was dropped without
            // a shutdown; then nobody is asking, and the job goes with it.
            let _ = handed_back.send(job);
        } else {
            handler(&job);
            let _ = finished.send(job);
        }
    }
    // This worker is done. When the last worker's sender goes, `exited` disconnects.
    drop(exited);
}
