//! A pool that hands jobs out in chunks: one channel operation moves `batch` jobs, not one.

use std::thread;

// ANCHOR: batched
/// Runs `work` on every number with `workers` threads, handing the numbers out in chunks of
/// `batch`, and returns every answer, in the order of the numbers.
///
/// A chunk is a pair of slices: `batch` numbers, and the `batch` places their answers go. The
/// numbers are never copied into the queue and the answers never gathered afterwards: each
/// worker writes straight into the one `Vec` the caller gets back. Scoped threads make the
/// borrowing safe: the scope ends only after every worker has ended.
///
/// # Panics
///
/// If `workers` or `batch` is 0, or if `work` panics.
pub fn run<F>(workers: usize, batch: usize, numbers: Vec<u64>, work: F) -> Vec<u64>
where
    F: Fn(u64) -> u64 + Sync,
{
    assert!(workers > 0, "a pool needs at least one worker");
    assert!(batch > 0, "a batch holds at least one job");
    // Unbounded: every number is already in memory, and a chunk in the queue is two slices of
    // it, so a bound would save no memory. It would cost time: a sender that waits for room
    // must be woken and then wait for a core, while the workers run out of chunks.
    let (chunk_tx, chunk_rx) = crossbeam_channel::unbounded::<(&[u64], &mut [u64])>();
    let mut answers = vec![0; numbers.len()];
    thread::scope(|scope| {
        for _ in 0..workers {
            let (chunks, work) = (chunk_rx.clone(), &work);
            scope.spawn(move || {
                // One `recv` per chunk: the hand-off is paid once for `batch` jobs.
                for (jobs, places) in chunks {
                    for (place, &n) in places.iter_mut().zip(jobs) {
                        *place = work(n);
                    }
                }
            });
        }
        // Only the workers hold receivers now: if they all die, `send` fails instead of waiting.
        drop(chunk_rx);
        for chunk in numbers.chunks(batch).zip(answers.chunks_mut(batch)) {
            chunk_tx
                .send(chunk)
                .expect("the workers keep the queue open until it is closed");
        }
        // Closing the queue ends each worker's loop once it is empty.
        drop(chunk_tx);
    });
    answers
}
// ANCHOR_END: batched
