//! The demo's jobs: how long each works, how it ends, and the gates that keep a scene's outcome
//! independent of timing.

use course_support::workload::{self, JobSpec};
use crossbeam_channel::{Receiver, Sender};
use std::time::Duration;

/// What the script asks a job to do.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Plan {
    Succeed,
    Fail,
    Panic,
}

/// A demo job: how long to work, how to end, whom to tell that it started, and a gate to wait
/// at first. The gates keep each scene's outcome independent of timing: the script opens a gate
/// (by dropping its sender) only once all of the scene's jobs have been submitted.
pub struct Job {
    pub work: Duration,
    pub plan: Plan,
    pub started: Option<Sender<()>>,
    pub gate: Option<Receiver<()>>,
}

pub fn job(work: Duration, plan: Plan) -> Job {
    Job {
        work,
        plan,
        started: None,
        gate: None,
    }
}

pub fn gated(work: Duration, plan: Plan, gate: &Receiver<()>) -> Job {
    Job {
        gate: Some(gate.clone()),
        ..job(work, plan)
    }
}

pub fn run_job(job: &Job) -> Result<(), String> {
    if let Some(started) = &job.started {
        let _ = started.send(());
    }
    if let Some(gate) = &job.gate {
        // Returns when the script drops the gate's sender (or after 10 s, as a safety net).
        let _ = gate.recv_timeout(Duration::from_secs(10));
    }
    std::thread::sleep(job.work);
    match job.plan {
        Plan::Succeed => Ok(()),
        Plan::Fail => Err("the downstream service is unavailable".into()),
        Plan::Panic => panic!("index out of bounds in the job's own code"),
    }
}

/// How long each of the script's jobs works: lengths drawn from the seed, in the order the jobs
/// are made, so that every run with the same seed tells the same story.
pub struct Work(std::vec::IntoIter<JobSpec>);

impl Work {
    /// The lengths the seed gives: a thousand, 40 ms on average.
    pub fn new(seed: u64) -> Work {
        Work(workload::jobs(1000, seed, Duration::from_millis(40), 0).into_iter())
    }

    /// The next job's length (40 ms once the seed's thousand are used up).
    pub fn next_length(&mut self) -> Duration {
        self.0
            .next()
            .map_or(Duration::from_millis(40), |spec| spec.work)
    }
}
