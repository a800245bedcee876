// course: exercise
// //! # Exercise 3: results in job order
// course: solution
//! # Exercise 3, solved: results in job order
// course: end
//!
// course: exercise
// //! Write `run_in_order`: it runs `f` on the input of every job `(id, input)` with `workers`
// //! threads sharing one queue, and returns `(id, f(input))` for every job, sorted by job id.
// //! Workers finish jobs in whatever order they happen to, so the results arrive out of order:
// //! putting them back is your job.
// //!
// //! As in lesson 2, don't count the results: read them until the results channel closes. It
// //! closes by itself when the last worker returns and drops the last `Sender`, provided nobody
// //! else still holds one. `std::thread::scope` lets the workers borrow `f`, and waits for them.
// //!
// //! Replace the `@todo()` and run `cargo test -p ex03-job-order` until it passes. Stuck? Run
// //! `cargo run -p course -- hint ex03-job-order`.
// course: solution
//! Lesson 2's pool: a thread scope for the workers, a results channel that closes when the last
//! worker drops the last sender, and a sort by job id at the end.

use std::thread;
// course: end

/// Runs `f` on every job's input with `workers` threads sharing one queue, and returns
/// `(id, f(input))` for every job, sorted by id.
///
/// Job ids are unique; the jobs may come in any order.
///
/// # Panics
///
/// If `workers` is 0, with the message `a pool needs at least one worker`: with no workers,
/// nothing would ever take a job. Also if `f` panics.
pub fn run_in_order<I, R, F>(workers: usize, jobs: Vec<(u64, I)>, f: F) -> Vec<(u64, R)>
where
    I: Send,
    R: Send,
    F: Fn(I) -> R + Sync,
{
    // course: exercise
    // let _ = (workers, jobs, f);
    // @todo(
    //     "in a thread scope, start the workers, drop your own results sender, send the jobs, read results until the channel closes, then sort them by id"
    // )
    // course: solution
    assert!(workers > 0, "a pool needs at least one worker");
    // Small queues, as in lesson 2: the producer waits when the workers fall behind.
    let (job_tx, job_rx) = crossbeam_channel::bounded::<(u64, I)>(workers);
    let (result_tx, result_rx) = crossbeam_channel::bounded::<(u64, R)>(workers);

    let mut results: Vec<(u64, R)> = thread::scope(|scope| {
        for _ in 0..workers {
            let (jobs, results, f) = (job_rx.clone(), result_tx.clone(), &f);
            scope.spawn(move || {
                for (id, input) in jobs {
                    results
                        .send((id, f(input)))
                        .expect("the collector reads until every worker is done");
                }
                // Returning drops `results`, this worker's sender.
            });
        }
        // The workers now hold the only result senders: the channel closes when the last one
        // returns. Keep this one and the loop below never ends.
        drop(result_tx);
        drop(job_rx);

        // The producer runs beside the collector: with small queues, sending every job before
        // reading any result would leave both sides waiting on each other.
        scope.spawn(move || {
            for job in jobs {
                job_tx
                    .send(job)
                    .expect("workers take jobs until the queue closes");
            }
            // `job_tx` is dropped here: Go's `close(jobs)`.
        });

        // Ends when the channel is closed and empty: no counting.
        result_rx.iter().collect()
    });
    // The results came in the order the jobs finished.
    results.sort_by_key(|&(id, _)| id);
    results
    // course: end
}
