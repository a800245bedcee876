//! A work-stealing pool on `crossbeam-deque`: a shared injector queue, a local deque per
//! worker, and idle workers steal from the others.

use crossbeam_deque::{Injector, Steal, Stealer, Worker};
use crossbeam_utils::Backoff;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

// ANCHOR: find
/// The next job for a worker: its own deque first, then a batch from the injector, then one
/// job stolen from another worker. `None` means every place looked empty just now.
fn find<T>(local: &Worker<T>, injector: &Injector<T>, stealers: &[Stealer<T>]) -> Option<T> {
    local.pop().or_else(|| {
        loop {
            // Taking a batch moves several jobs into the local deque in one step: the next
            // few `pop`s touch nothing shared.
            let stolen = injector
                .steal_batch_and_pop(local)
                .or_else(|| stealers.iter().map(Stealer::steal).collect::<Steal<T>>());
            // `Retry` means another thread won a race for the same slot: look again.
            if !stolen.is_retry() {
                return stolen.success();
            }
        }
    })
}
// ANCHOR_END: find

// ANCHOR: run
/// How many pieces each worker's share is cut into: enough that a worker that finishes early
/// has something to steal, few enough that a deque operation per piece costs nothing.
pub const PIECES_PER_WORKER: usize = 32;

/// One piece of work: some numbers, each to be replaced by its answer.
type Piece<'a> = &'a mut [u64];

/// Runs `work` on every number with `workers` threads that share an injector queue and steal
/// from each other, and returns every answer, each in its number's place.
///
/// What moves through the deques is a *piece*: a slice of the numbers, each replaced by its
/// answer in place, as in the batched pool. One deque operation hands out many jobs, and a
/// worker that runs out steals a whole piece.
///
/// # Panics
///
/// If `workers` is 0, or if `work` panics.
pub fn run<F>(workers: usize, mut numbers: Vec<u64>, work: F) -> Vec<u64>
where
    F: Fn(u64) -> u64 + Sync,
{
    assert!(workers > 0, "a pool needs at least one worker");
    let piece = (numbers.len() / (workers * PIECES_PER_WORKER)).max(1);
    // The deques borrow `numbers`; the block ends the borrow before `numbers` is returned.
    {
        let injector = Injector::new();
        // Set once every piece is in the injector. Until then, finding nothing means "wait", not "end".
        let closed = AtomicBool::new(false);
        let locals: Vec<Worker<Piece>> = (0..workers).map(|_| Worker::new_fifo()).collect();
        let stealers: Vec<Stealer<Piece>> = locals.iter().map(Worker::stealer).collect();
        thread::scope(|scope| {
            for local in locals {
                let (injector, closed, stealers, work) = (&injector, &closed, &stealers, &work);
                scope.spawn(move || {
                    let run = |piece: Piece| {
                        for n in piece {
                            *n = work(*n);
                        }
                    };
                    let backoff = Backoff::new();
                    loop {
                        if let Some(found) = find(&local, injector, stealers) {
                            run(found);
                            backoff.reset();
                            continue;
                        }
                        // Read `closed` first, then look once more: if it was set, every piece was
                        // already in the injector, so finding nothing now means the injector is
                        // empty, and whatever sits in another worker's deque, that worker runs.
                        if closed.load(Ordering::Acquire) {
                            match find(&local, injector, stealers) {
                                Some(found) => run(found),
                                None => break,
                            }
                        } else if backoff.is_completed() {
                            // Nothing to do for a while: stop spinning and give the core away.
                            thread::sleep(Duration::from_micros(50));
                        } else {
                            backoff.snooze();
                        }
                    }
                });
            }
            for found in numbers.chunks_mut(piece) {
                injector.push(found);
            }
            // Release: a worker that sees `closed` also sees every push above.
            closed.store(true, Ordering::Release);
        });
    }
    numbers
}
// ANCHOR_END: run
