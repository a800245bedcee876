//! A pool that hands jobs out in chunks: one channel operation moves `batch` jobs, not one.

use std::sync::Arc;
use std::thread;

// ANCHOR: batched
/// Runs `work` on every number with `workers` threads, sending the numbers down the queue in
/// chunks of `batch`, and returns every answer (in no particular order).
///
/// Each worker keeps its answers in a `Vec` of its own and hands them back when it ends, so
/// the results side costs one hand-off per worker, not one per job.
///
/// # Panics
///
/// If `workers` or `batch` is 0, or if `work` panics.
pub fn run<F>(workers: usize, batch: usize, numbers: Vec<u64>, work: F) -> Vec<u64>
where
    F: Fn(u64) -> u64 + Send + Sync + 'static,
{
    assert!(workers > 0, "a pool needs at least one worker");
    assert!(batch > 0, "a batch holds at least one job");
    // Bounded in chunks: at most two waiting per worker, so memory stays bounded however many
    // jobs come, and the sender waits (backpressure) when the workers fall behind.
    let (job_tx, job_rx) = crossbeam_channel::bounded::<Vec<u64>>(2 * workers);
    let work = Arc::new(work);
    let handles: Vec<_> = (0..workers)
        .map(|_| {
            let jobs = job_rx.clone();
            let work = Arc::clone(&work);
            thread::spawn(move || {
                let mut answers = Vec::new();
                // One `recv` per chunk: the hand-off is paid once for `batch` jobs.
                for chunk in jobs {
                    answers.extend(chunk.into_iter().map(|n| work(n)));
                }
                answers
            })
        })
        .collect();
    // Only the workers hold receivers now: if they all die, `send` fails instead of waiting.
    drop(job_rx);
    for chunk in numbers.chunks(batch) {
        job_tx
            .send(chunk.to_vec())
            .expect("the workers keep the queue open until it is closed");
    }
    // Closing the queue ends each worker's loop once it is empty.
    drop(job_tx);
    handles
        .into_iter()
        .flat_map(|handle| handle.join().expect("a worker panicked"))
        .collect()
}
// ANCHOR_END: batched
