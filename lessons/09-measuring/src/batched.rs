//! A pool that hands jobs out in chunks: one channel operation moves `batch` jobs, not one.

use std::thread;

// ANCHOR: batched
/// Runs `work` on every number with `workers` threads, handing the numbers out in chunks of
/// `batch`, and returns every answer, each in its number's place.
///
/// A chunk is a slice of the numbers, and each answer replaces its number in place: nothing is
/// copied into the queue, no second `Vec` is made for the answers, and the caller gets back the
/// very `Vec` it gave. A million answers in a fresh `Vec` are eight megabytes of new pages, and
/// the first write to each page costs a page fault, more than the doubling itself. Scoped threads
/// make the borrowing safe: the scope ends only after every worker has ended.
///
/// # Panics
///
/// If `workers` or `batch` is 0, or if `work` panics.
pub fn run<F>(workers: usize, batch: usize, mut numbers: Vec<u64>, work: F) -> Vec<u64>
where
    F: Fn(u64) -> u64 + Sync,
{
    assert!(workers > 0, "a pool needs at least one worker");
    assert!(batch > 0, "a batch holds at least one job");
    // Unbounded: every number is already in memory, and a chunk in the queue is two slices of
    // it, so a bound would save no memory. It would cost time: a sender that waits for room
    // must be woken and then wait for a core, while the workers run out of chunks.
    let (chunk_tx, chunk_rx) = crossbeam_channel::unbounded::<&mut [u64]>();
    thread::scope(|scope| {
        for _ in 0..workers {
            let (chunks, work) = (chunk_rx.clone(), &work);
            scope.spawn(move || {
                // One `recv` per chunk: the hand-off is paid once for `batch` jobs.
                for chunk in chunks {
                    for n in chunk {
                        *n = work(*n);
                    }
                }
            });
        }
        // Only the workers hold receivers now: if they all die, `send` fails instead of waiting.
        drop(chunk_rx);
        for chunk in numbers.chunks_mut(batch) {
            chunk_tx
                .send(chunk)
                .expect("the workers keep the queue open until it is closed");
        }
        // Closing the queue ends each worker's loop once it is empty.
        drop(chunk_tx);
    });
    numbers
}
// ANCHOR_END: batched
