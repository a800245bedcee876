//! Exactly-once accounting under load: 100 000 jobs from four submitting threads, a small
//! queue, random failures and panics, every way of submitting, `submit_all` included. Every job
//! is either accepted and then ends exactly once, or refused and counted exactly once.

use course_support::testing::within;
use lesson_7::{Pool, Reason, Stop};
use rand::{RngExt as _, SeedableRng as _, rngs::StdRng};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

const JOBS: usize = 100_000;

/// What one submitting thread saw: the jobs accepted, and the jobs refused with the reason.
type Tally = (Vec<usize>, Vec<(usize, Reason)>);
const SUBMITTERS: usize = 4;

/// What a job should do, decided up front by a seeded generator.
#[derive(Clone, Copy)]
enum Plan {
    Succeed,
    Fail,
    Panic,
}

#[test]
fn a_hundred_thousand_jobs_are_each_accounted_for_exactly_once() {
    // The pool catches these panics; the default hook would print 1000 of them.
    std::panic::set_hook(Box::new(|_| {}));

    let mut rng = StdRng::seed_from_u64(7);
    let plans: Vec<Plan> = (0..JOBS)
        .map(|_| match rng.random_range(0..100) {
            0 => Plan::Panic,
            1..=9 => Plan::Fail,
            _ => Plan::Succeed,
        })
        .collect();
    let plans = Arc::new(plans);
    // How often each job ran: must end up 1 for accepted jobs and 0 for refused ones.
    let runs: Arc<Vec<AtomicU8>> = Arc::new((0..JOBS).map(|_| AtomicU8::new(0)).collect());

    let (report, accepted, refused) = within(
        Duration::from_secs(120),
        "100 000 jobs",
        "is a submitter stuck on a full queue that no worker drains?",
        {
            let (plans, runs) = (Arc::clone(&plans), Arc::clone(&runs));
            move || {
                let pool = Arc::new(
                    Pool::builder()
                        .workers(4)
                        .queue(32)
                        .build(move |job: &usize, _| {
                            runs[*job].fetch_add(1, Ordering::Relaxed);
                            match plans[*job] {
                                Plan::Succeed => Ok(()),
                                Plan::Fail => Err("planned failure".into()),
                                Plan::Panic => panic!("planned panic"),
                            }
                        })
                        .unwrap(),
                );
                let outcomes: Vec<Tally> = std::thread::scope(|s| {
                    let handles: Vec<_> = (0..SUBMITTERS)
                        .map(|t| {
                            let pool = Arc::clone(&pool);
                            s.spawn(move || {
                                let (mut accepted, mut refused) = (Vec::new(), Vec::new());
                                let mut many = Vec::new();
                                for job in (t..JOBS).step_by(SUBMITTERS) {
                                    // Four ways in: waiting, not waiting, waiting a little, and
                                    // every fourth job gathered for `submit_all`.
                                    let result = match job % 4 {
                                        0 => pool.submit(job),
                                        1 => pool.try_submit(job),
                                        2 => pool.submit_timeout(job, Duration::from_micros(50)),
                                        _ => {
                                            many.push(job);
                                            if many.len() < 300 {
                                                continue;
                                            }
                                            let all = std::mem::take(&mut many);
                                            pool.submit_all(all.clone()).expect(
                                                "submit_all waits; nothing refuses it here",
                                            );
                                            accepted.extend(all);
                                            continue;
                                        }
                                    };
                                    match result {
                                        Ok(_) => accepted.push(job),
                                        Err(rejected) => {
                                            assert_eq!(
                                                rejected.job, job,
                                                "the refused job comes back"
                                            );
                                            refused.push((job, rejected.reason));
                                        }
                                    }
                                }
                                let rest = many.len();
                                assert_eq!(pool.submit_all(many.iter().copied()), Ok(rest));
                                accepted.extend(many);
                                (accepted, refused)
                            })
                        })
                        .collect();
                    handles.into_iter().map(|h| h.join().unwrap()).collect()
                });
                let pool = Arc::into_inner(pool).expect("the submitters are done with it");
                let report = pool.shutdown(Stop::Drain, None);
                let accepted: Vec<usize> = outcomes.iter().flat_map(|(a, _)| a.clone()).collect();
                let refused: Vec<(usize, Reason)> =
                    outcomes.into_iter().flat_map(|(_, r)| r).collect();
                (report, accepted, refused)
            }
        },
    );
    let _ = std::panic::take_hook();

    let m = &report.metrics;
    assert_eq!(
        accepted.len() + refused.len(),
        JOBS,
        "every job was either accepted or refused"
    );
    assert_eq!(
        m.submitted as usize,
        accepted.len(),
        "submitted counts exactly the accepted jobs"
    );
    assert_eq!(
        m.rejected_total() as usize,
        refused.len(),
        "each refusal is counted once"
    );
    for reason in [Reason::Full, Reason::Timeout] {
        let seen = refused.iter().filter(|(_, r)| *r == reason).count();
        assert_eq!(
            m.rejected(reason) as usize,
            seen,
            "refusals for {}",
            reason.name()
        );
    }
    assert_eq!(
        m.submitted,
        m.completed + m.failed + m.panicked + m.cancelled,
        "submitted == completed + failed + panicked + cancelled: {m:?}"
    );
    for &job in &accepted {
        assert_eq!(
            runs[job].load(Ordering::Relaxed),
            1,
            "accepted job {job} must run exactly once"
        );
    }
    for &(job, _) in &refused {
        assert_eq!(
            runs[job].load(Ordering::Relaxed),
            0,
            "refused job {job} must never run"
        );
    }
    let planned =
        |want: fn(Plan) -> bool| accepted.iter().filter(|j| want(plans[**j])).count() as u64;
    assert_eq!(m.panicked, planned(|p| matches!(p, Plan::Panic)));
    assert_eq!(m.failed, planned(|p| matches!(p, Plan::Fail)));
    assert_eq!(m.completed, planned(|p| matches!(p, Plan::Succeed)));
    assert!(
        m.panicked > 100,
        "the run should include many panics, got {}",
        m.panicked
    );
    assert!(
        !refused.is_empty(),
        "a queue of 32 should refuse some of the try_submits"
    );
    assert_eq!((m.in_flight, m.busy_workers), (0, 0));
    assert_eq!(m.latency.count, m.completed + m.failed + m.panicked);
}
