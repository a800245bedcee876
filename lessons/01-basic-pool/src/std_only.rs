//! The same pool with nothing but the standard library, as the Rust book builds it.
//!
//! `std::sync::mpsc` means *multiple producer, single consumer*: its `Receiver` is not `Clone`,
//! so workers cannot each hold one. They share a single receiver behind `Arc<Mutex<…>>`
//! instead, and take turns: a worker locks, waits for a job, unlocks, then works.
//!
//! ```
//! let answers = lesson_1::std_only::run(3, vec![1, 2, 3], |n| n * 2);
//! assert_eq!(answers.len(), 3);
//! ```

use std::sync::{Arc, Mutex, mpsc};
use std::thread;

// ANCHOR: shared_receiver
/// Runs `work` on every number with `workers` threads sharing one `mpsc::Receiver`, and
/// returns `(worker, job, answer)` for each job, in the order they finished.
pub fn run<F>(workers: usize, numbers: Vec<u64>, work: F) -> Vec<(usize, u64, u64)>
where
    F: Fn(u64) -> u64 + Send + Sync + 'static,
{
    assert!(workers > 0, "a pool needs at least one worker");
    let (job_tx, job_rx) = mpsc::channel::<u64>();
    // One receiver, shared: whoever holds the lock is the one worker allowed to wait for a job.
    let job_rx = Arc::new(Mutex::new(job_rx));
    let (result_tx, result_rx) = mpsc::channel();
    let work = Arc::new(work);

    let mut handles = Vec::with_capacity(workers);
    for id in 1..=workers {
        let jobs = Arc::clone(&job_rx);
        let results = result_tx.clone();
        let work = Arc::clone(&work);
        handles.push(thread::spawn(move || {
            loop {
                // The guard is a temporary of this `let` statement, so the lock is released
                // before the job runs. (`while let Ok(job) = jobs.lock().unwrap().recv()`
                // would hold it for the whole loop body: one job at a time, in any pool size.)
                let next = jobs
                    .lock()
                    .expect("no worker panics holding the lock")
                    .recv();
                let Ok(job) = next else {
                    break; // Every sender is gone and the queue is empty.
                };
                let answer = work(job);
                results
                    .send((id, job, answer))
                    .expect("run reads every answer");
            }
        }));
    }
    drop(result_tx);

    for &n in &numbers {
        job_tx
            .send(n)
            .expect("workers hold the receiver until the queue closes");
    }
    drop(job_tx);

    let answers = result_rx.iter().collect();
    for handle in handles {
        handle.join().expect("a worker panicked");
    }
    answers
}
// ANCHOR_END: shared_receiver
