// course: exercise
// //! # Exercise 2: at most `limit` at once
// course: solution
//! # Exercise 2, solved: at most `limit` at once
// course: end
//!
// course: exercise
// //! Write `run_bounded`: it runs `f` on every item, with never more than `limit` items running
// //! at the same time, and returns every result, in any order. Build it the way lesson 1 builds
// //! its pool: a fixed set of `limit` worker threads that all take items from one shared
// //! `crossbeam_channel` queue. Not a thread per item (that would run them all at once), and not
// //! one worker after another (that would run one at a time).
// //!
// //! Replace the `@todo()` and run `cargo test -p ex02-in-flight` until it passes. Stuck? Run
// //! `cargo run -p course -- hint ex02-in-flight`.
// course: solution
//! Lesson 1's pool, where the number of workers is the limit: `limit` threads share one queue,
//! so no more than `limit` items can ever be running, and a free worker always takes the next.

use std::sync::Arc;
use std::thread;
// course: end

/// Runs `f` on every item with at most `limit` running at once, on a fixed pool of `limit`
/// threads sharing one queue, and returns one result per item, in any order.
///
/// Every worker thread has finished by the time it returns.
///
/// # Panics
///
/// If `limit` is 0, with the message `run_bounded needs a limit of at least 1`: with no workers,
/// nothing would ever take an item. Also if `f` panics.
pub fn run_bounded<T, R, F>(limit: usize, items: Vec<T>, f: F) -> Vec<R>
where
    T: Send + 'static,
    R: Send + 'static,
    F: Fn(T) -> R + Send + Sync + 'static,
{
    // course: exercise
    // let _ = (limit, items, f);
    // @todo(
    //     "refuse a limit of 0, start `limit` threads taking items from one shared queue, send every item, close the queue, collect every result, join the threads"
    // )
    // course: solution
    assert!(limit > 0, "run_bounded needs a limit of at least 1");
    // Unbounded: sending every item up front never waits for a worker, and a worker never waits
    // for us to read a result.
    let (queue, jobs) = crossbeam_channel::unbounded::<T>();
    let (results_tx, results) = crossbeam_channel::unbounded::<R>();
    let f = Arc::new(f);

    // `limit` threads and no more: this, not any counting, is what bounds the in-flight items.
    let workers: Vec<_> = (0..limit)
        .map(|_| {
            let (jobs, results_tx, f) = (jobs.clone(), results_tx.clone(), Arc::clone(&f));
            thread::spawn(move || {
                for item in jobs {
                    // We read until every worker is done, so someone is listening.
                    results_tx
                        .send(f(item))
                        .expect("run_bounded reads every result");
                }
            })
        })
        .collect();
    // Only the workers hold result senders now: the loop below ends after the last one exits.
    drop(results_tx);

    for item in items {
        queue.send(item).expect("the workers hold the receiver");
    }
    // Go's `close(jobs)`: the workers empty the queue, then their loops end.
    drop(queue);

    let all = results.iter().collect();
    for worker in workers {
        worker.join().expect("a worker panicked");
    }
    all
    // course: end
}
