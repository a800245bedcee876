//! The promises lesson 3's pool keeps, checked with counters rather than timing.

use course_support::testing::{Gate, Gauge, RunCounts, within};
use lesson_3::{Pool, Reason, Rejected, Status};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(10);
const HANG: &str = "does the pool still hold its queue sender, so the workers never see it close?";

/// Waits (bounded) until `n` jobs are inside the gauge.
fn until_running(gauge: &Gauge, n: usize) {
    assert!(
        gauge.wait_for_peak(n, Duration::from_secs(5)),
        "only {} jobs started, expected {n}: are all workers taking jobs?",
        gauge.max()
    );
}

#[test]
fn every_job_runs_exactly_once() {
    let counts = Arc::new(RunCounts::new());
    let seen = Arc::clone(&counts);
    let report = within(LIMIT, "200 jobs on 4 workers", HANG, move || {
        let pool = Pool::new(4, 8, move |_, job: &u64| {
            seen.ran(*job);
            Ok(())
        });
        for job in 1..=200 {
            pool.submit(job).expect("workers are alive");
        }
        pool.shutdown()
    });
    counts.assert_each_ran_once(1..=200);
    assert_eq!((report.submitted, report.completed()), (200, 200));
}

#[test]
fn no_more_than_workers_jobs_run_at_once_and_the_pool_gets_there() {
    for workers in [1, 3, 6] {
        let gauge = Arc::new(Gauge::new());
        let short = Arc::new(AtomicBool::new(false));
        let (inside, fell_short) = (Arc::clone(&gauge), Arc::clone(&short));
        within(LIMIT, "the in-flight check", HANG, move || {
            let pool = Pool::new(workers, 2, move |_, _: &u64| {
                let _running = inside.enter();
                if !inside.wait_for_peak(workers, Duration::from_secs(5)) {
                    fell_short.store(true, Ordering::SeqCst);
                }
                Ok(())
            });
            for job in 0..4 * workers as u64 {
                pool.submit(job).unwrap();
            }
            pool.shutdown()
        });
        assert!(
            gauge.max() <= workers,
            "{} ran at once with {workers} workers",
            gauge.max()
        );
        assert!(
            !short.load(Ordering::SeqCst),
            "with {workers} workers the pool never ran {workers} jobs at once (peak {})",
            gauge.max()
        );
    }
}

#[test]
fn dropping_the_pool_waits_for_queued_jobs() {
    let ran = Arc::new(AtomicUsize::new(0));
    let gate = Gate::new();
    let held = gate.clone();
    let count = Arc::clone(&ran);
    let pool = Pool::new(2, 50, move |_, _: &u64| {
        held.wait();
        count.fetch_add(1, Ordering::SeqCst);
        Ok(())
    });
    for job in 0..30 {
        pool.submit(job).unwrap();
    }
    // Every job is still queued or waiting at the closed gate. Drop the pool on a thread of its
    // own: a drop that joins its workers cannot return while they wait at the gate, so if it
    // returns now, it left 30 jobs behind. (Only a wrong pool is affected by how long we look;
    // a right one never returns before the gate opens.)
    let (dropped_tx, dropped) = crossbeam_channel::bounded(1);
    let counted = Arc::clone(&ran);
    std::thread::spawn(move || {
        drop(pool);
        let _ = dropped_tx.send(counted.load(Ordering::SeqCst));
    });
    if let Ok(done) = dropped.recv_timeout(Duration::from_millis(300)) {
        panic!(
            "dropping the pool returned with {done} of 30 jobs run while the rest were still \
             queued: Drop must close the queue and then join every worker"
        );
    }
    gate.open();
    let done = dropped.recv_timeout(LIMIT).unwrap_or_else(|_| {
        panic!("dropping the pool did not return after the gate opened: {HANG}")
    });
    assert_eq!(done, 30, "drop returned before the queue was drained");
}

#[test]
fn shutdown_drains_every_queued_job_and_reports_each_once() {
    let gate = Gate::new();
    let held = gate.clone();
    let pool = Pool::new(3, 40, move |_, job: &u64| {
        held.wait();
        if job % 4 == 0 {
            Err(format!("job {job} is a multiple of 4"))
        } else {
            Ok(())
        }
    });
    for job in 1..=40 {
        pool.submit(job).unwrap();
    }
    gate.open();
    let report = within(LIMIT, "shutdown", HANG, move || pool.shutdown());
    let mut ids: Vec<u64> = report.outcomes.iter().map(|o| o.job).collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        (1..=40).collect::<Vec<_>>(),
        "each accepted job is reported exactly once"
    );
    assert_eq!(
        (report.completed(), report.failed(), report.cancelled()),
        (30, 10, 0)
    );
    let failure = report.outcomes.iter().find(|o| o.job == 8).unwrap();
    assert_eq!(
        failure.status,
        Status::Failed("job 8 is a multiple of 4".into())
    );
}

#[test]
fn stop_now_returns_with_no_job_running_and_every_job_accounted_for() {
    let gauge = Arc::new(Gauge::new());
    let gate = Gate::new();
    let held = gate.clone();
    let inside = Arc::clone(&gauge);
    let pool = Pool::new(2, 10, move |_, _: &u64| {
        let _running = inside.enter();
        held.wait();
        Ok(())
    });
    for job in 1..=12 {
        pool.submit(job).unwrap();
    }
    // Two jobs hold both workers at the gate; ten wait in the queue.
    until_running(&gauge, 2);
    pool.stop_handle().stop_now();
    gate.open();
    let report = within(LIMIT, "shutdown after stop-now", HANG, move || {
        pool.shutdown()
    });

    assert_eq!(
        gauge.now(),
        0,
        "shutdown returned while a job was still running"
    );
    assert_eq!(
        (report.completed(), report.cancelled()),
        (2, 10),
        "the two running jobs finish; the queued ten do not start"
    );
    let mut ids: Vec<u64> = report.outcomes.iter().map(|o| o.job).collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        (1..=12).collect::<Vec<_>>(),
        "every job comes back, run or not"
    );
    assert_eq!(gauge.max(), 2, "a cancelled job must not run");
}

#[test]
fn shutdown_now_cancels_what_is_queued() {
    let gauge = Arc::new(Gauge::new());
    let gate = Gate::new();
    let held = gate.clone();
    let inside = Arc::clone(&gauge);
    let pool = Pool::new(1, 5, move |_, _: &u64| {
        let _running = inside.enter();
        held.wait();
        Ok(())
    });
    for job in 1..=6 {
        pool.submit(job).unwrap();
    }
    until_running(&gauge, 1);
    // Open the gate only once shutdown_now has raised the flag, so the five queued jobs are
    // certain to be found after it.
    let flag = pool.stop_handle();
    let opener = std::thread::spawn(move || {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while !flag.is_set() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        gate.open();
    });
    let report = within(LIMIT, "shutdown_now", HANG, move || pool.shutdown_now());
    opener.join().unwrap();
    assert_eq!(
        (report.completed(), report.cancelled()),
        (1, 5),
        "the running job finishes, the queued five are handed back: {:?}",
        report.outcomes
    );
    let cancelled: Vec<u64> = report
        .outcomes
        .iter()
        .filter(|o| o.status == Status::Cancelled)
        .map(|o| o.job)
        .collect();
    assert_eq!(
        cancelled,
        [2, 3, 4, 5, 6],
        "cancelled jobs come back in queue order"
    );
    assert!(
        report
            .outcomes
            .iter()
            .all(|o| o.status != Status::Cancelled || o.took.is_zero())
    );
}

#[test]
fn submit_or_stop_hands_the_job_back_once_stop_fires() {
    let gauge = Arc::new(Gauge::new());
    let gate = Gate::new();
    let held = gate.clone();
    let inside = Arc::clone(&gauge);
    let pool = Arc::new(Pool::new(1, 1, move |_, _: &u64| {
        let _running = inside.enter();
        held.wait();
        Ok(())
    }));
    let (stop, stopped) = crossbeam_channel::unbounded();
    pool.submit_or_stop(1, &stopped).unwrap();
    until_running(&gauge, 1);

    // The queue has room, but a pending stop wins.
    stop.send(()).unwrap();
    assert_eq!(
        pool.submit_or_stop(2, &stopped),
        Err(Rejected {
            job: 2,
            reason: Reason::Stopped
        })
    );

    // Now fill the queue's one slot: the worker is busy, so a further submit has to wait, and
    // a stop must wake it.
    pool.submit(3).unwrap();
    let waiting = {
        let (pool, stopped) = (Arc::clone(&pool), stopped.clone());
        std::thread::spawn(move || pool.submit_or_stop(4, &stopped))
    };
    stop.send(()).unwrap();
    let result = within(
        LIMIT,
        "a submit_or_stop waiting on a full queue",
        "does it wait on the stop channel as well as on the queue?",
        move || waiting.join().unwrap(),
    );
    assert_eq!(
        result,
        Err(Rejected {
            job: 4,
            reason: Reason::Stopped
        })
    );

    gate.open();
    let pool = Arc::into_inner(pool).expect("the waiting thread has let go of the pool");
    let report = within(LIMIT, "shutdown", HANG, move || pool.shutdown());
    assert_eq!(
        (report.submitted, report.completed()),
        (2, 2),
        "jobs 1 and 3 were accepted and ran"
    );
}

#[test]
fn a_stop_channel_whose_sender_is_gone_counts_as_stopped() {
    // Dropping the stop sender is a stop, as in the demo when the signal handler ends: not one
    // more job may get in, even though the queue has room for all of them.
    let pool = Pool::new(2, 200, |_, _: &u64| Ok(()));
    let (stop, stopped) = crossbeam_channel::unbounded::<()>();
    drop(stop);
    for job in 0..100 {
        assert_eq!(
            pool.submit_or_stop(job, &stopped),
            Err(Rejected {
                job,
                reason: Reason::Stopped
            }),
            "job {job} got in after the stop channel closed: does the check before the select \
             treat a disconnected stop channel as a stop?"
        );
    }
    let report = within(LIMIT, "shutdown", HANG, move || pool.shutdown());
    assert_eq!(report.submitted, 0, "no job was accepted");
}

#[test]
fn a_panicking_job_kills_its_worker_and_the_report_says_so() {
    let pool = Pool::new(2, 4, |_, job: &u64| {
        if *job == 3 {
            panic!("job 3 panics on purpose");
        }
        Ok(())
    });
    for job in 1..=6 {
        if pool.submit(job).is_err() {
            break;
        }
    }
    let report = within(LIMIT, "shutdown after a panic", HANG, move || {
        pool.shutdown()
    });
    assert_eq!(report.panicked_workers, 1);
    assert_eq!(
        report.lost(),
        1,
        "the panicking job is counted as lost, not forgotten"
    );
    assert_eq!(report.completed(), report.submitted - 1);
}
