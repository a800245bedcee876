//! # Lesson 1: a basic worker pool
//!
//! A fixed number of worker threads take numbers from one jobs channel, double them, and send
//! each answer down a results channel: the smallest pool there is, and the shape every later
//! lesson grows from. What is new is everything, and one thing Go gives for free: workers share
//! one queue, so its receiver must be cloneable, which `crossbeam-channel`'s is and
//! `std::sync::mpsc`'s is not ([`std_only`] shows the standard-library way round that).
//! Run it with `cargo run -p lesson-1`, or `cargo run -p lesson-1 -- --workers 5 --jobs 20`.
//!
//! ```
//! use lesson_1::Log;
//!
//! let answers = lesson_1::run(3, vec![1, 2, 3, 4, 5], |n| n * 2, Log::Quiet);
//! let mut doubled: Vec<u64> = answers.iter().map(|done| done.answer).collect();
//! doubled.sort();
//! assert_eq!(doubled, [2, 4, 6, 8, 10]);
//! ```

use crossbeam_channel::{Receiver, Sender};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

pub mod std_only;

/// What a worker sends back for each job: the answer, and who worked on it and when.
#[derive(Debug, Clone, PartialEq)]
pub struct Done {
    /// The worker that ran the job (workers are numbered from 1, as in the Go original).
    pub worker: usize,
    /// The job: here simply the number to work on.
    pub job: u64,
    /// What the work made of it.
    pub answer: u64,
    /// When the worker started the job, measured from the start of the run.
    pub started: Duration,
    /// When the worker finished it, measured from the start of the run.
    pub finished: Duration,
}

/// Whether workers print a line as they take and finish each job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Log {
    /// Print `worker 2 took job 3` and `worker 2 finished job 3: 3 → 6` as it happens.
    Events,
    /// Print nothing: for tests, timing runs and benchmarks.
    Quiet,
}

// ANCHOR: worker
/// One worker: takes jobs until the jobs channel is closed and empty, and sends back an answer
/// for each.
pub fn worker(
    id: usize,
    jobs: Receiver<u64>,
    results: Sender<Done>,
    work: &dyn Fn(u64) -> u64,
    clock: Instant,
    log: Log,
) {
    // Iterating a receiver waits for the next job, and ends once every sender is dropped and
    // the channel is empty: Go's `for job := range jobs`.
    for job in jobs {
        let started = clock.elapsed();
        if log == Log::Events {
            course_support::event_line!(started, "worker {id} took job {job}");
        }
        let answer = work(job);
        let finished = clock.elapsed();
        if log == Log::Events {
            course_support::event_line!(
                finished,
                "worker {id} finished job {job}: {job} → {answer}"
            );
        }
        let done = Done {
            worker: id,
            job,
            answer,
            started,
            finished,
        };
        // `run` keeps the results receiver until it has every answer, so this cannot fail
        // while there is an answer to deliver.
        results
            .send(done)
            .expect("the results receiver outlives the jobs");
    }
}
// ANCHOR_END: worker

// ANCHOR: run
/// Starts `workers` threads, hands them `numbers` through a jobs channel, and collects one
/// answer per number, in the order the workers finish.
///
/// # Panics
///
/// If `workers` is 0 (nobody would ever take a job), or if `work` panics.
pub fn run<F>(workers: usize, numbers: Vec<u64>, work: F, log: Log) -> Vec<Done>
where
    F: Fn(u64) -> u64 + Send + Sync + 'static,
{
    assert!(workers > 0, "a pool needs at least one worker");
    let clock = Instant::now();
    // Room for every job and every answer, like Go's `make(chan int, 5)`: the sender never
    // waits for a worker, and a worker never waits for `run` to read an answer.
    let (job_tx, job_rx) = crossbeam_channel::bounded(numbers.len());
    let (result_tx, result_rx) = crossbeam_channel::bounded(numbers.len());
    let work = Arc::new(work);

    // ANCHOR: spawn
    let mut handles = Vec::with_capacity(workers);
    for id in 1..=workers {
        // A crossbeam receiver can be cloned: every worker takes from the same queue, and
        // each job goes to exactly one of them.
        let jobs = job_rx.clone();
        let results = result_tx.clone();
        let work = Arc::clone(&work);
        handles.push(thread::spawn(move || {
            worker(id, jobs, results, &*work, clock, log)
        }));
    }
    // ANCHOR_END: spawn
    // Only the workers hold result senders now: if they all die, `recv` below returns an
    // error instead of waiting for ever.
    drop(result_tx);

    for &n in &numbers {
        job_tx.send(n).expect("there is room for every job");
    }
    // Dropping the only sender closes the channel: Go's `close(jobs)`. Workers finish what
    // is queued, then their loops end.
    drop(job_tx);

    let answers: Vec<Done> = numbers
        .iter()
        .map(|_| result_rx.recv().expect("a worker died before answering"))
        .collect();
    for handle in handles {
        handle.join().expect("a worker panicked");
    }
    answers
}
// ANCHOR_END: run

/// Doubles a number after pretending to work on it for `work`, so that workers visibly overlap.
pub fn double_slowly(n: u64, work: Duration) -> u64 {
    thread::sleep(work);
    n * 2
}
