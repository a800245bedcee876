//! Model tests: loom runs each scenario under every interleaving of its threads (up to the
//! preemption bound), so a race that a stress test hits only now and then is found on every
//! run. They need the crate built with loom's primitives:
//!
//! ```text
//! RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test --release -p lesson-7 --test loom
//! ```
//!
//! Each model was checked against a planted bug, which loom found (see the comment above it).
#![cfg(loom)]

use lesson_7::breaker::{Breaker, BreakerConfig, Pass, State};
use lesson_7::{Pool, Stop};
use loom::sync::Arc;
use loom::sync::atomic::AtomicBool;
use loom::thread;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const COOLDOWN: Duration = Duration::from_millis(100);

/// Runs `model` under loom and prints how many interleavings it explored and how long it took.
fn explore(name: &str, model: impl Fn() + Sync + Send + 'static) {
    // A plain std counter, one per model (tests run in parallel): loom runs the iterations
    // of one model one after another.
    let iterations = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = std::sync::Arc::clone(&iterations);
    let start = Instant::now();
    loom::model::Builder::new().check(move || {
        counter.fetch_add(1, Ordering::Relaxed);
        model();
    });
    println!(
        "{name}: {} interleavings in {:.2?}",
        iterations.load(Ordering::Relaxed),
        start.elapsed()
    );
}

/// A breaker that opens on the first failure and lets `probes` probes through when half-open.
fn opened_breaker(probes: u32) -> Breaker {
    let breaker = Breaker::new(BreakerConfig {
        failures: 1,
        cooldown: COOLDOWN,
        probes,
    });
    let (pass, _) = breaker.admit(Duration::ZERO);
    let pass = pass.expect("a closed breaker lets a job through");
    breaker.record(pass, false, Duration::ZERO);
    assert_eq!(breaker.state(), State::Open, "one failure should open it");
    breaker
}

// ANCHOR: breaker_probes
/// Three jobs arrive at once just after the cool-down: one turns the breaker half-open, and no
/// more than `probes` (2) of them get through as probes.
///
/// Planted bug: `admit`'s half-open arm checked `probes_out < probes`, let go of the lock and
/// took it again to count the probe (check-then-act). Loom found three probes let through in a
/// spell that allows two.
#[test]
fn half_open_lets_no_more_probes_through_than_allowed() {
    explore("breaker: probes under concurrent admits", || {
        let breaker = Arc::new(opened_breaker(2));
        let arrivals: Vec<_> = (0..3)
            .map(|_| {
                let breaker = Arc::clone(&breaker);
                thread::spawn(move || breaker.admit(COOLDOWN).0)
            })
            .collect();
        let passes: Vec<_> = arrivals
            .into_iter()
            .map(|t| t.join().expect("admit does not panic"))
            .collect();
        let probes = passes
            .iter()
            .filter(|p| matches!(p, Ok(Pass::Probe(1))))
            .count();
        assert_eq!(
            probes, 2,
            "with 2 probes allowed and 3 arrivals, exactly 2 probes must get through: {passes:?}"
        );
        assert!(
            passes
                .iter()
                .all(|p| matches!(p, Ok(Pass::Probe(1)) | Err(()))),
            "every arrival is either a probe of the first spell or refused: {passes:?}"
        );
    });
}
// ANCHOR_END: breaker_probes

// ANCHOR: breaker_verdicts
/// Two probes are out; one comes back good and one bad while a new job arrives after the
/// cool-down. Whatever the order, one failed probe reopens the breaker, and the new job is either
/// refused (the verdict was not in yet, and both probes of the spell are out) or the first probe
/// of a new spell, never a third probe of the old one. A success from the old spell that comes
/// back late must not count toward the new one.
///
/// Planted bug: `record` credited a probe's success without checking its spell. Loom found the
/// order failure, new probe, stale success: after the new probe's own success the breaker
/// closed, on one real success where it needs two.
#[test]
fn concurrent_verdicts_never_let_a_spell_exceed_its_probes() {
    explore("breaker: verdicts racing a new arrival", || {
        let breaker = Arc::new(opened_breaker(2));
        let first = breaker.admit(COOLDOWN).0.expect("the cool-down is over");
        let second = breaker.admit(COOLDOWN).0.expect("two probes are allowed");
        assert_eq!((first, second), (Pass::Probe(1), Pass::Probe(1)));
        let good = {
            let breaker = Arc::clone(&breaker);
            thread::spawn(move || breaker.record(first, true, COOLDOWN))
        };
        let bad = {
            let breaker = Arc::clone(&breaker);
            thread::spawn(move || breaker.record(second, false, COOLDOWN))
        };
        let late = {
            let breaker = Arc::clone(&breaker);
            // Long after the failed probe: if the breaker has reopened, its cool-down is over.
            thread::spawn(move || breaker.admit(COOLDOWN * 3).0)
        };
        good.join().expect("record does not panic");
        bad.join().expect("record does not panic");
        match late.join().expect("admit does not panic") {
            Err(()) => assert_eq!(
                breaker.state(),
                State::Open,
                "a failed probe reopens the breaker, and a late success must not close it"
            ),
            Ok(Pass::Probe(2)) => {
                // The new spell needs 2 good probes; its first comes back good.
                breaker.record(Pass::Probe(2), true, COOLDOWN * 3);
                assert_eq!(
                    breaker.state(),
                    State::HalfOpen,
                    "one good probe of the new spell must not close a breaker that needs two: \
                     was the old spell's success counted in the new one?"
                );
            }
            other => panic!("the new job must be refused or probe a new spell, got {other:?}"),
        }
    });
}
// ANCHOR_END: breaker_verdicts

// ANCHOR: metrics_drained
/// Two workers finish two jobs at the same moment; once the pool has drained, the metrics add
/// up: both accepted, both completed, none in flight, two latencies recorded.
///
/// Planted bug: `Metrics::add` counted with a load and a store instead of one `fetch_add`.
/// Loom found the order in which both workers load 0 and both store 1: one completion lost.
#[test]
fn once_drained_every_job_is_counted_exactly_once() {
    explore("metrics: two workers counting at once", || {
        let pool = Pool::builder()
            .workers(2)
            .queue(2)
            .build(|_job: &u64, _ctx| Ok(()))
            .expect("a valid configuration");
        for job in 0..2 {
            pool.submit(job).expect("an open pool with room accepts it");
        }
        let m = pool.shutdown(Stop::Drain, None).metrics;
        assert_eq!(
            (
                m.submitted,
                m.completed,
                m.finished(),
                m.in_flight,
                m.latency.count
            ),
            (2, 2, 2, 0, 2),
            "once drained, submitted == completed + failed + panicked + cancelled: {m:?}"
        );
    });
}
// ANCHOR_END: metrics_drained

// ANCHOR: metrics_idle
/// `wait_idle` promises that when it returns, every count of every finished job is in. The
/// submitter waits for idle while the two workers may still be finishing; the snapshot it takes
/// then must be exact.
///
/// Planted bug: the worker marked the job done (`done_with`, which wakes `wait_idle`) before
/// counting its result. Loom found the order in which `wait_idle` returns between the two, and
/// the snapshot shows a job submitted but neither finished nor in flight.
#[test]
fn after_wait_idle_the_counts_are_exact() {
    explore("metrics: wait_idle against finishing workers", || {
        let pool = Pool::builder()
            .workers(2)
            .queue(2)
            .build(|job: &u64, _ctx| {
                if job % 2 == 0 {
                    Ok(())
                } else {
                    Err("odd".into())
                }
            })
            .expect("a valid configuration");
        for job in 0..2 {
            pool.submit(job).expect("an open pool with room accepts it");
        }
        assert!(
            pool.wait_idle(Duration::from_secs(1)),
            "loom has no clock: wait_idle only returns once the pool is idle"
        );
        let m = pool.metrics();
        assert_eq!(
            (m.submitted, m.completed, m.failed, m.in_flight),
            (2, 1, 1, 0),
            "after wait_idle, every finished job is counted: {m:?}"
        );
        drop(pool);
    });
}
// ANCHOR_END: metrics_idle

// ANCHOR: metrics_batch
/// The same promise for a batch from `submit_all`, which a worker counts once, after its last
/// job, while a single job runs on the other worker.
///
/// Planted bug: the worker marked the batch done (`done_with`) before adding its tally to the
/// shared counters. Loom found the order in which `wait_idle` returns between the two, and the
/// snapshot shows the batch's jobs neither finished nor in flight.
#[test]
fn after_wait_idle_a_batchs_counts_are_exact() {
    explore("metrics: wait_idle against a finishing batch", || {
        let pool = Pool::builder()
            .workers(2)
            .queue(2)
            .build(|job: &u64, _ctx| {
                if job % 2 == 0 {
                    Ok(())
                } else {
                    Err("odd".into())
                }
            })
            .expect("a valid configuration");
        assert_eq!(pool.submit_all([0, 1]), Ok(2));
        pool.submit(2).expect("an open pool with room accepts it");
        assert!(
            pool.wait_idle(Duration::from_secs(1)),
            "loom has no clock: wait_idle only returns once the pool is idle"
        );
        let m = pool.metrics();
        assert_eq!(
            (m.submitted, m.completed, m.failed, m.in_flight),
            (3, 2, 1, 0),
            "after wait_idle, every job of the batch is counted: {m:?}"
        );
        drop(pool);
    });
}
// ANCHOR_END: metrics_batch

// ANCHOR: metrics_reader
/// A job submitted on one thread while another thread watches it run and then reads the
/// metrics: a job that has already run must already be counted as submitted.
///
/// Found, not planted: `enter` once counted `submitted` after the send, so a worker could take
/// the job and run it before the count went up; loom found the order, and the reader saw
/// `submitted 0` for a job that had run. `submitted` is now counted before the send (and taken
/// back if the send fails), so the send publishes it along with the job.
#[test]
fn a_job_that_ran_is_already_counted_as_submitted() {
    explore("metrics: a reader on another thread", || {
        let ran = Arc::new(AtomicBool::new(false));
        let seen = Arc::clone(&ran);
        let pool = Arc::new(
            Pool::builder()
                .workers(1)
                .queue(1)
                .build(move |_job: &u64, _ctx| {
                    seen.store(true, Ordering::Release);
                    Ok(())
                })
                .expect("a valid configuration"),
        );
        let submitter = {
            let pool = Arc::clone(&pool);
            thread::spawn(move || pool.submit(1).expect("an open pool with room accepts it"))
        };
        while !ran.load(Ordering::Acquire) {
            thread::yield_now();
        }
        let m = pool.metrics();
        assert_eq!(
            m.submitted, 1,
            "the job has run, but the metrics count {} submitted: is `submitted` counted after \
             the send, where a worker can take the job first?",
            m.submitted
        );
        submitter.join().expect("the submitter does not panic");
        drop(pool);
    });
}
// ANCHOR_END: metrics_reader
