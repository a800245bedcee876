//! # Exercise 1, solved: squares
//!
//! Lesson 1's pool, squaring instead of doubling.

use crossbeam_channel::{Receiver, Sender};
use std::sync::Arc;

/// Takes numbers from `jobs` until the channel is closed and empty, and sends `(n, square(n))`
/// for each one to `results`.
pub fn worker(
    jobs: Receiver<u64>,
    results: Sender<(u64, u64)>,
    square: &(dyn Fn(u64) -> u64 + Sync),
) {
    // Ends once every jobs sender is dropped and the queue is empty.
    for n in jobs {
        // `square_all` reads until every worker is done, so someone is listening.
        results
            .send((n, square(n)))
            .expect("the collector outlives the workers");
    }
}

/// Squares every number with `workers` threads sharing one queue, and returns one `(n, n²)`
/// pair per number, in any order.
///
/// # Panics
///
/// If `square` panics: the worker running it dies, and joining it reports the failure.
pub fn square_all<F>(workers: usize, numbers: Vec<u64>, square: F) -> Vec<(u64, u64)>
where
    F: Fn(u64) -> u64 + Send + Sync + 'static,
{
    let (jobs_tx, jobs) = crossbeam_channel::unbounded();
    let (results, answers) = crossbeam_channel::unbounded();
    let square = Arc::new(square);
    let handles: Vec<_> = (0..workers)
        .map(|_| {
            let (jobs, results, square) = (jobs.clone(), results.clone(), Arc::clone(&square));
            std::thread::spawn(move || worker(jobs, results, &*square))
        })
        .collect();
    // Only the workers hold result senders from here: `answers.iter()` ends with the last one.
    drop(results);
    for n in numbers {
        jobs_tx.send(n).expect("the workers hold the receiver");
    }
    // Go's `close(jobs)`.
    drop(jobs_tx);
    let all = answers.iter().collect();
    for handle in handles {
        handle.join().expect("a worker panicked");
    }
    all
}
