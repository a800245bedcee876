//! # Exercise 1: squares
//!
//! Lesson 1's pool doubled numbers. Build one that squares them, from scratch: the worker loop,
//! and the function that starts the workers, feeds them and collects the answers.
//!
//! Replace each `todo!()` and run `cargo test -p ex01-squares` until it passes. Stuck? Run
//! `cargo run -p course -- hint ex01-squares`.

use crossbeam_channel::{Receiver, Sender};

// ANCHOR: worker
/// Takes numbers from `jobs` until the channel is closed and empty, and sends `(n, square(n))`
/// for each one to `results`.
pub fn worker(
    jobs: Receiver<u64>,
    results: Sender<(u64, u64)>,
    square: &(dyn Fn(u64) -> u64 + Sync),
) {
    let _ = (jobs, results, square);
    todo!("loop over the jobs receiver and send (n, square(n)) for each job")
}
// ANCHOR_END: worker

/// Squares every number with `workers` threads sharing one queue, and returns one `(n, n²)`
/// pair per number, in any order.
///
/// # Panics
///
/// If `square` panics: the worker running it dies, and joining it reports the failure.
///
/// `square` does the work; the tests pass one that also counts, so they can see how many jobs
/// run at once.
pub fn square_all<F>(workers: usize, numbers: Vec<u64>, square: F) -> Vec<(u64, u64)>
where
    F: Fn(u64) -> u64 + Send + Sync + 'static,
{
    let _ = (workers, numbers, square);
    todo!(
        "start `workers` threads running `worker`, send every number, close the queue, collect the answers, join the threads"
    )
}
