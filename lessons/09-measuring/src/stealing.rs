//! A work-stealing pool on `crossbeam-deque`: a shared injector queue, a local deque per
//! worker, and idle workers steal from the others.

use crossbeam_deque::{Injector, Steal, Stealer, Worker};
use crossbeam_utils::Backoff;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

// ANCHOR: find
/// The next job for a worker: its own deque first, then a batch from the injector, then one
/// job stolen from another worker. `None` means every place looked empty just now.
fn find(local: &Worker<u64>, injector: &Injector<u64>, stealers: &[Stealer<u64>]) -> Option<u64> {
    local.pop().or_else(|| {
        loop {
            // Taking a batch moves several jobs into the local deque in one step: the next
            // few `pop`s touch nothing shared.
            let stolen = injector
                .steal_batch_and_pop(local)
                .or_else(|| stealers.iter().map(Stealer::steal).collect::<Steal<u64>>());
            // `Retry` means another thread won a race for the same slot: look again.
            if !stolen.is_retry() {
                return stolen.success();
            }
        }
    })
}
// ANCHOR_END: find

// ANCHOR: run
/// Runs `work` on every number with `workers` threads that share an injector queue and steal
/// from each other, and returns every answer (in no particular order).
///
/// # Panics
///
/// If `workers` is 0, or if `work` panics.
pub fn run<F>(workers: usize, numbers: Vec<u64>, work: F) -> Vec<u64>
where
    F: Fn(u64) -> u64 + Send + Sync + 'static,
{
    assert!(workers > 0, "a pool needs at least one worker");
    let injector = Arc::new(Injector::new());
    // Set once every job is in the injector. Until then, finding nothing means "wait", not "end".
    let closed = Arc::new(AtomicBool::new(false));
    let locals: Vec<Worker<u64>> = (0..workers).map(|_| Worker::new_fifo()).collect();
    let stealers: Arc<[Stealer<u64>]> = locals.iter().map(Worker::stealer).collect();
    let work = Arc::new(work);

    let handles: Vec<_> = locals
        .into_iter()
        .map(|local| {
            let (injector, closed) = (Arc::clone(&injector), Arc::clone(&closed));
            let (stealers, work) = (Arc::clone(&stealers), Arc::clone(&work));
            thread::spawn(move || {
                let mut answers = Vec::new();
                let backoff = Backoff::new();
                loop {
                    if let Some(n) = find(&local, &injector, &stealers) {
                        answers.push(work(n));
                        backoff.reset();
                        continue;
                    }
                    // Read `closed` first, then look once more: if it was set, every job was
                    // already in the injector, so finding nothing now means the injector is
                    // empty, and whatever sits in another worker's deque, that worker runs.
                    if closed.load(Ordering::Acquire) {
                        match find(&local, &injector, &stealers) {
                            Some(n) => answers.push(work(n)),
                            None => break,
                        }
                    } else if backoff.is_completed() {
                        // Nothing to do for a while: stop spinning and give the core away.
                        thread::sleep(Duration::from_micros(50));
                    } else {
                        backoff.snooze();
                    }
                }
                answers
            })
        })
        .collect();

    for n in numbers {
        injector.push(n);
    }
    // Release: a worker that sees `closed` also sees every push above.
    closed.store(true, Ordering::Release);
    handles
        .into_iter()
        .flat_map(|handle| handle.join().expect("a worker panicked"))
        .collect()
}
// ANCHOR_END: run
