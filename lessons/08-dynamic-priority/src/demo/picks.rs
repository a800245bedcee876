//! One run of the priority workload: job 1 holds the single worker while the waiting jobs
//! arrive, then a producer adds one high job every time a job is picked.

use crate::demo::args::Args;
use crate::demo::jobs::{HIGH, LOW, Pick, WAITING};
use course_support::workload;
use lesson_8::priority::{Config, Priority, PriorityPool};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Runs the workload once; returns (pick, job id, priority) for each job, by pick.
pub fn run_priority(args: &Args, aging: Option<u32>) -> Vec<(u64, u64, Priority)> {
    let order = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&order);
    let pool = PriorityPool::new(Config { workers: 1, aging }, move |job: &Pick, ctx| {
        if let Some(gate) = &job.gate {
            let _ = gate.recv_timeout(Duration::from_secs(10));
        }
        log.lock()
            .expect("no job panics")
            .push((ctx.pick, ctx.seq, ctx.priority));
        // The next arrival is in the heap before this job ends, so before the next pick.
        let _ = job.arrive.send(());
        let _ = job.arrived.recv_timeout(Duration::from_secs(10));
    })
    .expect("checked in main");
    let pool = Arc::new(pool);
    let (arrive, arrival_asked) = crossbeam_channel::bounded::<()>(0);
    let (arrived_tx, arrived) = crossbeam_channel::bounded::<()>(0);
    let pick = |gate: Option<crossbeam_channel::Receiver<()>>| Pick {
        gate,
        arrive: arrive.clone(),
        arrived: arrived.clone(),
    };
    let lows = workload::pick(WAITING, args.seed, 50);
    let (open, gate) = crossbeam_channel::bounded::<()>(0);
    // Job 1 holds the single worker until the waiting jobs are all in.
    let _ = pool.submit(Priority::MAX, pick(Some(gate)));
    for low in &lows {
        let _ = pool.submit(if *low { LOW } else { HIGH }, pick(None));
    }
    let total = 1 + WAITING + args.high_jobs;
    let producer = {
        let pool = Arc::clone(&pool);
        let high = args.high_jobs;
        let pick = pick(None);
        std::thread::spawn(move || {
            let mut left = high;
            for _ in 0..total {
                if arrival_asked.recv_timeout(Duration::from_secs(10)).is_err() {
                    return;
                }
                if left > 0 {
                    let next = Pick {
                        gate: None,
                        arrive: pick.arrive.clone(),
                        arrived: pick.arrived.clone(),
                    };
                    let _ = pool.submit(HIGH, next);
                    left -= 1;
                }
                let _ = arrived_tx.send(());
            }
        })
    };
    drop(open);
    producer.join().expect("the producer does not panic");
    let pool = Arc::into_inner(pool).expect("the producer has let go of the pool");
    let report = pool.shutdown();
    assert_eq!(report.ran as usize, total, "every job ran once");
    order.lock().expect("no job panics").clone()
}
