//! # Lesson 2: results you can trust
//!
//! Every job now comes back as an [`Outcome`] that says which job it was, which worker ran it,
//! how long it took and, if it failed, why; errors are collected in one place, and results are
//! sorted back into job order at the end. New since lesson 1: the results channel closes by
//! itself when the last worker drops the last sender (the Rust form of Go's
//! `wg.Wait(); close(results)`), and `std::thread::scope` stands in for the `WaitGroup`.
//! Run it with `cargo run -p lesson-2 -- --workers 4 --jobs 20 --seed 7`.
//!
//! ```
//! use std::time::Duration;
//! use lesson_2::{Job, run, simulate};
//!
//! let jobs: Vec<Job> = (1..=4)
//!     .map(|id| Job { id, input: id, work: Duration::ZERO, fails: id == 3 })
//!     .collect();
//! let outcomes = run(2, jobs, simulate, |_| {});
//! assert_eq!(outcomes.len(), 4);
//! assert_eq!(outcomes[2].result, Err(lesson_2::JobError { job: 3, reason: "simulated failure".into() }));
//! ```

use crossbeam_channel::{Receiver, Sender};
use std::fmt;
use std::thread;
use std::time::{Duration, Instant};

// ANCHOR: types
/// One unit of work. New: jobs carry an id, so every outcome can say which job it was.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// Unique within a run; results are sorted back into this order at the end.
    pub id: u64,
    /// The number to work on (lesson 1's job was only this).
    pub input: u64,
    /// How long the simulated work takes.
    pub work: Duration,
    /// Whether the simulated work fails: seeded, so a run can be replayed.
    pub fails: bool,
}

/// Why a job failed. New: an error is a value that travels back with the outcome, instead of
/// a log line a worker prints and forgets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobError {
    /// The job that failed.
    pub job: u64,
    /// What went wrong, for a person to read.
    pub reason: String,
}

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "job {} failed: {}", self.job, self.reason)
    }
}

impl std::error::Error for JobError {}

/// What came of one job. New: everything you need to explain a run after the fact.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Which job this was.
    pub job: u64,
    /// Which worker ran it.
    pub worker: usize,
    /// When the worker started it, measured from the start of the run.
    pub started: Duration,
    /// How long the work took.
    pub took: Duration,
    /// The answer, or why there is none.
    pub result: Result<u64, JobError>,
}
// ANCHOR_END: types

// ANCHOR: worker
fn worker<F>(id: usize, jobs: Receiver<Job>, results: Sender<Outcome>, process: &F, clock: Instant)
where
    F: Fn(&Job) -> Result<u64, JobError>,
{
    for job in jobs {
        let started = clock.elapsed();
        let result = process(&job);
        let outcome = Outcome {
            job: job.id,
            worker: id,
            started,
            took: clock.elapsed() - started,
            result,
        };
        // The collector reads until every worker is done, so it is still listening.
        results
            .send(outcome)
            .expect("the collector outlives the workers");
    }
    // New: returning drops `results`, this worker's sender. When the last worker returns,
    // the channel has no senders left and the collector's loop ends.
}
// ANCHOR_END: worker

// ANCHOR: run
/// Runs every job on `workers` threads, calls `on_outcome` for each outcome as it arrives, and
/// returns all outcomes sorted by job id.
///
/// # Panics
///
/// If `workers` is 0, or if `process` panics.
pub fn run<F, O>(workers: usize, jobs: Vec<Job>, process: F, mut on_outcome: O) -> Vec<Outcome>
where
    F: Fn(&Job) -> Result<u64, JobError> + Sync,
    O: FnMut(&Outcome),
{
    assert!(workers > 0, "a pool needs at least one worker");
    let clock = Instant::now();
    // Small queues: the producer waits when workers fall behind, instead of buffering
    // everything up front (backpressure).
    let (job_tx, job_rx) = crossbeam_channel::bounded::<Job>(workers);
    let (result_tx, result_rx) = crossbeam_channel::bounded::<Outcome>(workers);

    // New: a scope is the WaitGroup. Threads spawned in it may borrow `process`, and the scope
    // does not return until every one of them has finished.
    thread::scope(|scope| {
        for id in 1..=workers {
            let jobs = job_rx.clone();
            let results = result_tx.clone();
            let process = &process;
            scope.spawn(move || worker(id, jobs, results, process, clock));
        }
        // New: drop our own copies. Now the workers hold the only result senders, so the
        // channel closes exactly when the last worker is done: `wg.Wait(); close(results)`.
        drop(result_tx);
        drop(job_rx);

        // The producer runs beside the collector: with small queues, sending every job before
        // reading any result could leave both sides waiting on each other.
        scope.spawn(move || {
            for job in jobs {
                job_tx
                    .send(job)
                    .expect("workers take jobs until the queue closes");
            }
            // `job_tx` is dropped here: Go's `close(jobs)`.
        });

        // New: errors and answers arrive in one place. The loop ends when the channel is
        // closed and empty: no counting, no sleeping.
        let mut outcomes = Vec::new();
        for outcome in result_rx {
            on_outcome(&outcome);
            outcomes.push(outcome);
        }
        outcomes.sort_by_key(|o| o.job);
        outcomes
    })
}
// ANCHOR_END: run

/// The simulated work: sleep for `job.work`, then double the input, or fail if the job was
/// seeded to fail.
pub fn simulate(job: &Job) -> Result<u64, JobError> {
    thread::sleep(job.work);
    if job.fails {
        Err(JobError {
            job: job.id,
            reason: "simulated failure".into(),
        })
    } else {
        Ok(job.input * 2)
    }
}
