//! The demo's jobs: a dynamic-pool job that waits at a gate, and a priority-pool job that lets
//! one more arrive each time it is picked; and the two priorities the workload uses.

use crossbeam_channel::{Receiver, Sender};
use lesson_8::priority::Priority;
use std::time::Duration;

/// The priority of the jobs that keep arriving.
pub const HIGH: Priority = 5;
/// The priority of some of the jobs already waiting.
pub const LOW: Priority = 1;
/// Jobs waiting when the priority scenes begin.
pub const WAITING: usize = 6;

/// A dynamic-pool job: how long to work, whom to tell that it started, and a gate to wait at
/// first, which keeps every job of a burst running (or queued) until the script opens it.
pub struct Job {
    /// How long the job works once through the gate.
    pub work: Duration,
    /// Told when the job starts, so the script knows every worker holds one.
    pub started: Sender<()>,
    /// Closed when the script drops the sender: until then the job waits here.
    pub gate: Receiver<()>,
}

/// Runs a dynamic-pool job: say it started, wait at the gate, then work.
pub fn run_job(job: &Job) {
    // The script holds the receiver until the end.
    let _ = job.started.send(());
    // Returns when the script drops the gate's sender (or after 10 s, as a safety net).
    let _ = job.gate.recv_timeout(Duration::from_secs(10));
    std::thread::sleep(job.work);
}

/// A priority-pool job: the first holds the worker at a gate; every job, when it runs, lets
/// the producer add one more high job and waits until it has.
pub struct Pick {
    /// Only the first job has one: it holds the single worker until the waiting jobs are in.
    pub gate: Option<Receiver<()>>,
    /// Asks the producer for the next arrival.
    pub arrive: Sender<()>,
    /// Hears that the next arrival is in the heap.
    pub arrived: Receiver<()>,
}
