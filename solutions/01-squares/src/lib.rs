// course: exercise
// //! # Exercise 1: squares
// course: solution
//! # Exercise 1, solved: squares
// course: end
//!
// course: exercise
// //! Lesson 1's pool doubled numbers. Build one that squares them, from scratch: the worker loop,
// //! and the function that starts the workers, feeds them and collects the answers.
// //!
// //! Replace each `@todo()` and run `cargo test -p ex01-squares` until it passes. Stuck? Run
// //! `cargo run -p course -- hint ex01-squares`.
// course: solution
//! Lesson 1's pool, squaring instead of doubling.
// course: end

use crossbeam_channel::{Receiver, Sender};
// course: solution
use std::sync::Arc;
// course: end

// ANCHOR: worker
/// Takes numbers from `jobs` until the channel is closed and empty, and sends `(n, square(n))`
/// for each one to `results`.
pub fn worker(
    jobs: Receiver<u64>,
    results: Sender<(u64, u64)>,
    square: &(dyn Fn(u64) -> u64 + Sync),
) {
    // course: exercise
    // let _ = (jobs, results, square);
    // @todo("loop over the jobs receiver and send (n, square(n)) for each job")
    // course: solution
    // Ends once every jobs sender is dropped and the queue is empty.
    for n in jobs {
        // `square_all` reads until every worker is done, so someone is listening.
        results
            .send((n, square(n)))
            .expect("the collector outlives the workers");
    }
    // course: end
}
// ANCHOR_END: worker

/// Squares every number with `workers` threads sharing one queue, and returns one `(n, n²)`
/// pair per number, in any order.
///
/// # Panics
///
/// If `square` panics: the worker running it dies, and joining it reports the failure.
// course: exercise
// ///
// /// `square` does the work; the tests pass one that also counts, so they can see how many jobs
// /// run at once.
// course: end
pub fn square_all<F>(workers: usize, numbers: Vec<u64>, square: F) -> Vec<(u64, u64)>
where
    F: Fn(u64) -> u64 + Send + Sync + 'static,
{
    // course: exercise
    // let _ = (workers, numbers, square);
    // @todo(
    //     "start `workers` threads running `worker`, send every number, close the queue, collect the answers, join the threads"
    // )
    // course: solution
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
    // course: end
}
