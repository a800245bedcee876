//! The same tiny pool four ways, to pull apart two costs that lesson 7's benchmark mixed up:
//! how workers share the queue (crossbeam's cloned receivers, or one `mpsc::Receiver` behind a
//! `Mutex`), and whether the queue is bounded (the sender waits when it is full) or not.
//!
//! Everything else is the same in all four: each worker adds up its answers and hands the sum
//! back when it ends, so there is no results channel to blur the comparison.

use std::sync::{Arc, Mutex, mpsc};
use std::thread;

/// How the workers share the one queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handoff {
    /// Every worker holds a clone of a `crossbeam_channel::Receiver`.
    Crossbeam,
    /// One `std::sync::mpsc::Receiver` behind `Arc<Mutex<…>>`, as in lesson 1's `std_only`.
    Mutex,
}

// ANCHOR: queues
/// Sends the numbers `0..jobs` through a queue shared by `workers` threads that double them,
/// and returns how many jobs ran. `bound: None` is an unbounded queue; `Some(n)` holds `n`.
///
/// # Panics
///
/// If `workers` is 0 or the bound is `Some(0)`.
pub fn run(handoff: Handoff, bound: Option<usize>, workers: usize, jobs: u64) -> u64 {
    assert!(workers > 0, "a pool needs at least one worker");
    assert!(bound != Some(0), "a bounded queue holds at least one job");
    match handoff {
        Handoff::Crossbeam => {
            let (tx, rx) = match bound {
                Some(n) => crossbeam_channel::bounded(n),
                None => crossbeam_channel::unbounded(),
            };
            let handles: Vec<_> = (0..workers)
                .map(|_| {
                    let rx = rx.clone();
                    thread::spawn(move || {
                        let mut ran = 0;
                        for n in rx {
                            std::hint::black_box(crate::trivial(n));
                            ran += 1;
                        }
                        ran
                    })
                })
                .collect();
            drop(rx);
            for n in 0..jobs {
                tx.send(n).expect("workers keep the queue open");
            }
            drop(tx);
            join_counts(handles)
        }
        Handoff::Mutex => {
            let (tx, rx) = mpsc::channel::<u64>();
            // `sync_channel` is the standard library's bounded queue; its sender is a
            // different type, so each kind gets its own sending loop.
            let (sync_tx, sync_rx) = mpsc::sync_channel::<u64>(bound.unwrap_or(1));
            let rx = Arc::new(Mutex::new(if bound.is_some() { sync_rx } else { rx }));
            let handles: Vec<_> = (0..workers)
                .map(|_| {
                    let rx = Arc::clone(&rx);
                    thread::spawn(move || {
                        let mut ran = 0;
                        loop {
                            // The guard ends with this statement, before the job runs.
                            let next = rx.lock().expect("no worker panics holding it").recv();
                            let Ok(n) = next else { break };
                            std::hint::black_box(crate::trivial(n));
                            ran += 1;
                        }
                        ran
                    })
                })
                .collect();
            drop(rx);
            if bound.is_some() {
                drop(tx);
                for n in 0..jobs {
                    sync_tx.send(n).expect("workers keep the queue open");
                }
                drop(sync_tx);
            } else {
                drop(sync_tx);
                for n in 0..jobs {
                    tx.send(n).expect("workers keep the queue open");
                }
                drop(tx);
            }
            join_counts(handles)
        }
    }
}
// ANCHOR_END: queues

fn join_counts(handles: Vec<thread::JoinHandle<usize>>) -> u64 {
    handles
        .into_iter()
        .map(|h| h.join().expect("a worker panicked") as u64)
        .sum()
}

// ANCHOR: go_shape
/// The Go article's pool as it is, with nothing added: a jobs channel and a results channel,
/// each with room for every job, workers that send back a bare answer, and `run` reading one
/// answer per job. Returns how many answers came back.
///
/// # Panics
///
/// If `workers` is 0.
pub fn two_channels(workers: usize, jobs: u64) -> u64 {
    assert!(workers > 0, "a pool needs at least one worker");
    let room = jobs.max(1) as usize;
    let (job_tx, job_rx) = crossbeam_channel::bounded(room);
    let (result_tx, result_rx) = crossbeam_channel::bounded(room);
    let handles: Vec<_> = (0..workers)
        .map(|_| {
            let (jobs, results) = (job_rx.clone(), result_tx.clone());
            thread::spawn(move || {
                for n in jobs {
                    results
                        .send(crate::trivial(n))
                        .expect("the results receiver outlives the jobs");
                }
            })
        })
        .collect();
    drop(result_tx);
    for n in 0..jobs {
        job_tx.send(n).expect("there is room for every job");
    }
    drop(job_tx);
    let mut answers = 0;
    for _ in 0..jobs {
        std::hint::black_box(result_rx.recv().expect("a worker died before answering"));
        answers += 1;
    }
    for handle in handles {
        handle.join().expect("a worker panicked");
    }
    answers as u64
}
// ANCHOR_END: go_shape
