//! The stage the dynamic pool's scenes play on: the pool with its observer, the jobs' lengths,
//! and the two moves every scene makes (submit a burst that waits at a gate, then wait for it
//! to finish and the pool to shrink).

use crate::demo::args::Args;
use crate::demo::jobs::{Job, run_job};
use crate::demo::show::{self, Seen};
use course_support::workload;
use crossbeam_channel::{Receiver, Sender};
use lesson_8::dynamic::{DynamicPool, Limits};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the dynamic scenes play with.
pub struct Stage {
    /// The pool, told by its observer to narrate every change.
    pub pool: DynamicPool<Job>,
    /// The limits the flags asked for (a resize changes the pool's, not these).
    pub limits: Limits,
    /// What the observer kept: the worker count after each change, and a span per job.
    pub seen: Arc<Mutex<Seen>>,
    /// Hears from every job as it finishes.
    each_finished: Receiver<()>,
    /// How long each next job works.
    sizes: std::vec::IntoIter<Duration>,
    /// The length of a job once `sizes` runs out.
    work: Duration,
}

impl Stage {
    /// Starts the pool the flags ask for (they were checked in `main`).
    pub fn new(args: &Args) -> Stage {
        let limits = args.limits();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let (finished, each_finished) = crossbeam_channel::unbounded();
        let record = Arc::clone(&seen);
        let pool = DynamicPool::observed(
            limits,
            move |event| show::narrate(event, &record, &finished),
            run_job,
        )
        .expect("the limits were checked in main");
        let sizes: Vec<Duration> = workload::jobs(10_000, args.seed, args.work_ms, 0)
            .into_iter()
            .map(|spec| spec.work)
            .collect();
        Stage {
            pool,
            limits,
            seen,
            each_finished,
            sizes: sizes.into_iter(),
            work: args.work_ms,
        }
    }

    /// Submits `count` jobs that wait at one gate. Returns the gate's sender, which opens the
    /// gate when dropped, and a receiver that hears from each job of the burst as it starts.
    pub fn burst(&mut self, count: usize) -> (Sender<()>, Receiver<()>) {
        let (open, gate) = crossbeam_channel::bounded::<()>(0);
        let (started, each_started) = crossbeam_channel::unbounded();
        for _ in 0..count {
            let job = Job {
                work: self.sizes.next().unwrap_or(self.work),
                started: started.clone(),
                gate: gate.clone(),
            };
            // The pool is open until shutdown, which comes last.
            let _ = self.pool.submit(job);
        }
        (open, each_started)
    }

    /// Waits for `jobs` jobs to finish and for the pool to shrink back to its minimum.
    pub fn settle(&self, jobs: usize) {
        for _ in 0..jobs {
            self.each_finished
                .recv_timeout(Duration::from_secs(30))
                .expect("every job finishes within 30 s");
        }
        let min = self.pool.limits().min;
        assert!(
            self.pool.wait_alive(min, Duration::from_secs(30)),
            "the pool did not shrink back to {min} workers within 30 s"
        );
    }
}
