// course: exercise
// //! # Exercise 8: a time limit for each job
// course: solution
//! # Exercise 8, solved: a time limit for each job
// course: end
//!
// course: exercise
// //! A job that may never answer needs a time limit, and a thread cannot be stopped from outside:
// //! it has to *wait* in a way that something else can cut short. Write lesson 4's
// //! `Ctx::sleep` on your own:
// //!
// //! - [`wait_or_time_out`] pretends to work for `work`, but gives up when `limit` has passed or
// //!   when `cancel` becomes ready, whichever comes first, with one `crossbeam_channel::select!`
// //!   over `after(work)`, `after(limit)` and `cancel`;
// //! - [`run_with_timeout`] runs a batch on `workers` threads; each job gets its own limit,
// //!   counted from when that job starts, so a stuck job costs its worker `limit` and no more.
// //!
// //! Replace each `@todo()` and run `cargo test -p ex08-job-timeout` until it passes. Stuck? Run
// //! `cargo run -p course -- hint ex08-job-timeout`.
// course: solution
//! Lesson 4's `Ctx::sleep` on its own: one `select!` over the work, the time limit and the
//! cancel channel, and a pool whose every job gets its own limit, counted from when it starts.
// course: end

// course: exercise
// use crossbeam_channel::Receiver;
// course: solution
use crossbeam_channel::{Receiver, after, never, select};
use std::thread;
// course: end
use std::time::Duration;

/// How one job's wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The work was done before the limit.
    Completed,
    /// The limit passed first; the rest of the work was abandoned.
    TimedOut,
    /// The cancel channel became ready first (a message, or its senders all gone).
    Cancelled,
}

/// One pretend job: it takes `work` to finish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Job {
    /// Unique within a run.
    pub id: u64,
    /// How long the work takes, if it is allowed to finish.
    pub work: Duration,
}

/// Waits as long as the work takes, but no longer than `limit`, and not at all once `cancel`
/// is ready. Says which came first.
pub fn wait_or_time_out(work: Duration, limit: Duration, cancel: &Receiver<()>) -> Outcome {
    // course: exercise
    // let _ = (work, limit, cancel);
    // @todo(
    //     "select! on after(work) (Completed), after(limit) (TimedOut) and cancel (Cancelled): whichever is ready first decides"
    // )
    // course: solution
    // Three things to wait for, one wait: whichever is ready first wins, and the other two are
    // simply dropped. A `thread::sleep` could not be cut short like this.
    select! {
        recv(after(work)) -> _ => Outcome::Completed,
        recv(after(limit)) -> _ => Outcome::TimedOut,
        // A message or a disconnect: either way, stop.
        recv(cancel) -> _ => Outcome::Cancelled,
    }
    // course: end
}

/// Runs every job on `workers` threads sharing one queue, each job with its own `limit`,
/// counted from the moment that job starts. Returns one `(id, outcome)` per job, in any order.
///
/// # Panics
///
/// If `workers` is 0.
pub fn run_with_timeout(workers: usize, jobs: Vec<Job>, limit: Duration) -> Vec<(u64, Outcome)> {
    // course: exercise
    // let _ = (workers, jobs, limit);
    // @todo(
    //     "queue every job and close the queue, run `workers` scoped threads that call wait_or_time_out(job.work, limit, &never()) for each job they take, and collect one (id, outcome) per job"
    // )
    // course: solution
    assert!(workers > 0, "a pool needs at least one worker");
    let (queue, taken) = crossbeam_channel::unbounded();
    for job in jobs {
        queue.send(job).expect("`taken` is still here");
    }
    // Closes the queue: each worker's loop ends once it is empty.
    drop(queue);
    let (results, answers) = crossbeam_channel::unbounded();
    thread::scope(|scope| {
        for _ in 0..workers {
            let (taken, results) = (taken.clone(), results.clone());
            scope.spawn(move || {
                for job in taken {
                    // Nobody cancels this run: `never()` is a channel that is never ready.
                    // `after(limit)` is made inside the call, so the limit starts now.
                    let outcome = wait_or_time_out(job.work, limit, &never());
                    results
                        .send((job.id, outcome))
                        .expect("the collector outlives the workers");
                }
            });
        }
        // Only the workers hold result senders now: the loop below ends with the last one.
        drop(results);
        answers.iter().collect()
    })
    // course: end
}
