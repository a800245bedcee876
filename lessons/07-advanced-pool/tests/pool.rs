//! The advanced pool's promises, checked with counters and an injected clock, not sleeps.

use course_support::testing::{Gate, Gauge, RunCounts, within};
use lesson_7::{
    BreakerConfig, BreakerState, Clock, ConfigError, Event, ManualClock, Pool, Reason, Rejected,
    Status, Stop, Transition,
};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(10);
const HANG: &str = "does shutdown close the queue, and does every worker leave its loop?";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn until_running(gauge: &Gauge, n: usize) {
    assert!(
        gauge.wait_for_peak(n, Duration::from_secs(5)),
        "only {} jobs started, expected {n}",
        gauge.max()
    );
}

/// A pool whose jobs wait at `gate` and count themselves in `gauge`.
fn gated_pool(workers: usize, queue: usize, gauge: &Arc<Gauge>, gate: &Gate) -> Pool<u64> {
    let (inside, gate) = (Arc::clone(gauge), gate.clone());
    Pool::builder()
        .workers(workers)
        .queue(queue)
        .build(move |_: &u64, _| {
            let _running = inside.enter();
            gate.wait();
            Ok(())
        })
        .unwrap()
}

#[test]
fn build_refuses_nonsense_configurations() {
    let ok = |_: &u64, _: &lesson_7::Ctx| Ok(());
    let breaker = |failures, probes, cooldown| BreakerConfig {
        failures,
        probes,
        cooldown,
    };
    let cases: Vec<(lesson_7::Builder, ConfigError)> = vec![
        (Pool::builder().workers(0), ConfigError::NoWorkers),
        (
            Pool::builder().workers(5000),
            ConfigError::TooManyWorkers(5000),
        ),
        (Pool::builder().queue(0), ConfigError::NoQueue),
        (Pool::builder().rate(0.0, 1), ConfigError::BadRate(0.0)),
        (Pool::builder().rate(-5.0, 1), ConfigError::BadRate(-5.0)),
        (Pool::builder().rate(10.0, 0), ConfigError::NoBurst),
        (
            Pool::builder().breaker(breaker(0, 1, ms(10))),
            ConfigError::NoBreakerThreshold,
        ),
        (
            Pool::builder().breaker(breaker(3, 0, ms(10))),
            ConfigError::NoProbes,
        ),
        (
            Pool::builder().breaker(breaker(3, 1, ms(0))),
            ConfigError::NoCooldown,
        ),
    ];
    for (builder, expected) in cases {
        match builder.build(ok) {
            Err(err) => {
                assert_eq!(err, expected);
                assert!(!err.to_string().is_empty());
            }
            Ok(_) => panic!("{expected:?} should have been refused"),
        }
    }
    assert!(matches!(
        Pool::builder().rate(f64::NAN, 1).build(ok),
        Err(ConfigError::BadRate(_))
    ));
}

#[test]
fn every_job_runs_exactly_once() {
    let counts = Arc::new(RunCounts::new());
    let seen = Arc::clone(&counts);
    let report = within(LIMIT, "500 jobs", HANG, move || {
        let pool = Pool::builder()
            .workers(4)
            .queue(16)
            .build(move |n: &u64, _| {
                seen.ran(*n);
                Ok(())
            })
            .unwrap();
        for n in 1..=500 {
            pool.submit(n).unwrap();
        }
        pool.shutdown(Stop::Drain, None)
    });
    counts.assert_each_ran_once(1..=500);
    assert_eq!(
        (report.metrics.submitted, report.metrics.completed),
        (500, 500)
    );
}

#[test]
fn no_more_than_workers_jobs_run_at_once_and_the_pool_gets_there() {
    let gauge = Arc::new(Gauge::new());
    let short = Arc::new(AtomicBool::new(false));
    let (inside, fell_short) = (Arc::clone(&gauge), Arc::clone(&short));
    within(LIMIT, "the in-flight check", HANG, move || {
        let pool = Pool::builder()
            .workers(3)
            .queue(4)
            .build(move |_: &u64, _| {
                let _running = inside.enter();
                if !inside.wait_for_peak(3, Duration::from_secs(5)) {
                    fell_short.store(true, Ordering::SeqCst);
                }
                Ok(())
            })
            .unwrap();
        for n in 0..12 {
            pool.submit(n).unwrap();
        }
        pool.shutdown(Stop::Drain, None)
    });
    assert!(
        gauge.max() <= 3,
        "{} ran at once with 3 workers",
        gauge.max()
    );
    assert!(
        !short.load(Ordering::SeqCst),
        "3 workers never ran 3 jobs at once"
    );
}

#[test]
fn try_submit_hands_the_job_back_when_the_queue_is_full() {
    let gauge = Arc::new(Gauge::new());
    let gate = Gate::new();
    let pool = gated_pool(1, 2, &gauge, &gate);
    pool.try_submit(1).unwrap();
    until_running(&gauge, 1);
    pool.try_submit(2).unwrap();
    pool.try_submit(3).unwrap();
    let refused = pool.try_submit(4).unwrap_err();
    assert_eq!(
        refused,
        Rejected {
            job: 4,
            reason: Reason::Full,
            retry_after: None
        }
    );
    let refused = pool.submit_timeout(5, ms(20)).unwrap_err();
    assert_eq!((refused.job, refused.reason), (5, Reason::Timeout));
    gate.open();
    let report = within(LIMIT, "shutdown", HANG, move || {
        pool.shutdown(Stop::Drain, None)
    });
    let m = report.metrics;
    assert_eq!((m.submitted, m.completed), (3, 3));
    assert_eq!(
        (
            m.rejected(Reason::Full),
            m.rejected(Reason::Timeout),
            m.rejected_total()
        ),
        (1, 1, 2)
    );
}

#[test]
fn after_close_every_submission_is_handed_back_closed() {
    let pool = Pool::builder().build(|_: &u64, _| Ok(())).unwrap();
    pool.submit(1).unwrap();
    pool.close();
    for result in [
        pool.submit(2),
        pool.try_submit(3),
        pool.submit_timeout(4, ms(10)),
    ] {
        assert_eq!(result.unwrap_err().reason, Reason::Closed);
    }
    let report = within(LIMIT, "shutdown", HANG, move || {
        pool.shutdown(Stop::Drain, None)
    });
    assert_eq!(
        (
            report.metrics.completed,
            report.metrics.rejected(Reason::Closed)
        ),
        (1, 3)
    );
}

#[test]
fn the_rate_limit_refuses_past_the_burst_and_recovers_as_the_clock_moves() {
    let clock = Arc::new(ManualClock::default());
    let pool = Pool::builder()
        .rate(10.0, 3)
        .clock(Arc::clone(&clock) as Arc<dyn Clock>)
        .build(|_: &u64, _| Ok(()))
        .unwrap();
    for n in 1..=3 {
        pool.try_submit(n).unwrap();
    }
    let refused = pool.try_submit(4).unwrap_err();
    assert_eq!(
        (refused.reason, refused.retry_after),
        (Reason::Rate, Some(ms(100)))
    );
    clock.advance(ms(99));
    assert_eq!(pool.try_submit(5).unwrap_err().retry_after, Some(ms(1)));
    clock.advance(ms(1));
    pool.try_submit(6).unwrap();
    let report = within(LIMIT, "shutdown", HANG, move || {
        pool.shutdown(Stop::Drain, None)
    });
    assert_eq!(
        (
            report.metrics.submitted,
            report.metrics.rejected(Reason::Rate)
        ),
        (4, 2)
    );
}

#[test]
fn a_blocking_submit_waits_for_tokens_on_the_pools_clock() {
    let clock = Arc::new(ManualClock::default());
    let pool = Pool::builder()
        .rate(20.0, 2) // one per 50 ms after a burst of two
        .clock(Arc::clone(&clock) as Arc<dyn Clock>)
        .build(|_: &u64, _| Ok(()))
        .unwrap();
    for n in 0..6 {
        pool.submit(n).unwrap();
    }
    assert_eq!(
        clock.now(),
        ms(200),
        "four waits of 50 ms each, taken on the manual clock"
    );
    drop(pool);
}

/// A breaker test's job: whether it succeeds, and a gate it waits at first.
type Verdict = (bool, Gate);

/// A job that runs at once.
fn now(ok: bool) -> Verdict {
    let gate = Gate::new();
    gate.open();
    (ok, gate)
}

/// A pool with a breaker (3 failures, 100 ms cool-down, 2 probes) on a manual clock, and a log
/// of the breaker's transitions.
fn breaker_pool() -> (Pool<Verdict>, Arc<ManualClock>, Arc<Mutex<Vec<Transition>>>) {
    let clock = Arc::new(ManualClock::default());
    let log = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&log);
    let pool = Pool::builder()
        .workers(2)
        .breaker(BreakerConfig {
            failures: 3,
            cooldown: ms(100),
            probes: 2,
        })
        .clock(Arc::clone(&clock) as Arc<dyn Clock>)
        .observe(move |event| {
            if let Event::Breaker(change) = event {
                seen.lock().unwrap().push(*change);
            }
        })
        .build(|(ok, gate): &Verdict, _| {
            gate.wait();
            if *ok { Ok(()) } else { Err("down".into()) }
        })
        .unwrap();
    (pool, clock, log)
}

fn idle(pool: &Pool<Verdict>) {
    assert!(
        pool.wait_idle(LIMIT),
        "the pool did not go idle: is a job stuck?"
    );
}

fn trip(pool: &Pool<Verdict>) {
    for _ in 0..3 {
        pool.submit(now(false)).unwrap();
    }
    idle(pool);
    assert_eq!(pool.breaker_state(), Some(BreakerState::Open));
}

#[test]
fn the_breaker_goes_round_its_whole_cycle_through_the_pool() {
    let (pool, clock, log) = breaker_pool();
    // Closed: two failures and a success do not trip it.
    for ok in [false, false, true] {
        pool.submit(now(ok)).unwrap();
        idle(&pool);
    }
    assert_eq!(pool.breaker_state(), Some(BreakerState::Closed));
    // Closed → open after three failures in a row (job failures, not submission timeouts).
    trip(&pool);
    // Open: refused at once, the job handed back.
    assert_eq!(
        pool.try_submit(now(true)).unwrap_err().reason,
        Reason::Breaker
    );
    clock.advance(ms(99));
    assert_eq!(pool.submit(now(true)).unwrap_err().reason, Reason::Breaker);
    // Open → half-open after the cool-down: two probes, held at a gate, and no third job.
    clock.advance(ms(1));
    let gate = Gate::new();
    pool.try_submit((true, gate.clone())).unwrap();
    pool.try_submit((true, gate.clone())).unwrap();
    assert_eq!(
        pool.try_submit(now(true)).unwrap_err().reason,
        Reason::Breaker
    );
    assert_eq!(pool.breaker_state(), Some(BreakerState::HalfOpen));
    // Half-open → closed when both probes succeed.
    gate.open();
    idle(&pool);
    assert_eq!(pool.breaker_state(), Some(BreakerState::Closed));
    pool.try_submit(now(true)).unwrap();
    idle(&pool);
    let states: Vec<(BreakerState, BreakerState)> =
        log.lock().unwrap().iter().map(|t| (t.from, t.to)).collect();
    use BreakerState::*;
    assert_eq!(
        states,
        [(Closed, Open), (Open, HalfOpen), (HalfOpen, Closed)]
    );
    let m = pool.metrics();
    assert_eq!(m.rejected(Reason::Breaker), 3);
}

#[test]
fn a_failed_probe_reopens_the_breaker_and_restarts_the_cooldown() {
    let (pool, clock, log) = breaker_pool();
    trip(&pool);
    clock.advance(ms(100));
    pool.submit(now(false)).unwrap(); // the probe fails
    idle(&pool);
    assert_eq!(pool.breaker_state(), Some(BreakerState::Open));
    let last = *log.lock().unwrap().last().unwrap();
    assert_eq!(
        (last.from, last.to, last.at),
        (BreakerState::HalfOpen, BreakerState::Open, ms(100))
    );
    clock.advance(ms(99));
    assert_eq!(
        pool.try_submit(now(true)).unwrap_err().reason,
        Reason::Breaker,
        "cool-down restarted"
    );
    clock.advance(ms(1));
    pool.try_submit(now(true)).unwrap();
    idle(&pool);
}

#[test]
fn a_panicking_job_is_counted_and_the_pool_keeps_its_size() {
    silence_worker_panics();
    let gauge = Arc::new(Gauge::new());
    let reached = Arc::new(AtomicBool::new(true));
    let (inside, flag) = (Arc::clone(&gauge), Arc::clone(&reached));
    let pool = Pool::builder()
        .workers(2)
        .build(move |n: &u64, _| {
            if *n < 10 {
                panic!("job {n} panics on purpose");
            }
            // After ten panics, both workers must still be there to run two jobs at once.
            let _running = inside.enter();
            if !inside.wait_for_peak(2, Duration::from_secs(5)) {
                flag.store(false, Ordering::SeqCst);
            }
            Ok(())
        })
        .unwrap();
    for n in 0..14 {
        pool.submit(n).unwrap();
    }
    let report = within(LIMIT, "shutdown", HANG, move || {
        pool.shutdown(Stop::Drain, None)
    });
    assert_eq!((report.metrics.panicked, report.metrics.completed), (10, 4));
    assert!(
        reached.load(Ordering::SeqCst),
        "after the panics only one worker was left"
    );
}

#[test]
fn abort_hands_queued_jobs_back_and_counts_them_cancelled() {
    let gauge = Arc::new(Gauge::new());
    let inside = Arc::clone(&gauge);
    let pool = Pool::builder()
        .workers(1)
        .queue(10)
        .build(move |_: &u64, ctx| {
            let _running = inside.enter();
            // Job 1 holds the only worker until the abort is visible, so jobs 2 to 6 are
            // certainly still queued when it is.
            let deadline = std::time::Instant::now() + Duration::from_secs(5);
            while !ctx.is_cancelled() && std::time::Instant::now() < deadline {
                std::thread::sleep(ms(1));
            }
            Ok(())
        })
        .unwrap();
    for n in 1..=6 {
        pool.submit(n).unwrap();
    }
    until_running(&gauge, 1);
    let report = within(LIMIT, "an abort", HANG, move || {
        pool.shutdown(Stop::Abort, None)
    });
    let m = &report.metrics;
    assert_eq!((m.completed, m.cancelled), (1, 5), "{m:?}");
    assert_eq!(
        m.submitted,
        m.completed + m.failed + m.panicked + m.cancelled
    );
    let mut returned = report.returned.clone();
    returned.sort_unstable();
    assert_eq!(
        returned,
        [2, 3, 4, 5, 6],
        "every queued job comes back, untouched"
    );
    assert_eq!(gauge.max(), 1, "an aborted job must not start");
}

#[test]
fn a_drain_past_its_deadline_turns_into_an_abort() {
    let gauge = Arc::new(Gauge::new());
    let inside = Arc::clone(&gauge);
    let pool = Pool::builder()
        .workers(1)
        .queue(10)
        .build(move |_: &u64, ctx| {
            let _running = inside.enter();
            // A cooperative long job: it stops when the pool says it is cancelling.
            for _ in 0..5000 {
                if ctx.is_cancelled() {
                    return Err("stopped early".into());
                }
                std::thread::sleep(ms(1));
            }
            Ok(())
        })
        .unwrap();
    for n in 1..=5 {
        pool.submit(n).unwrap();
    }
    until_running(&gauge, 1);
    let report = within(LIMIT, "a drain with a deadline", HANG, move || {
        pool.shutdown(Stop::Drain, Some(ms(30)))
    });
    assert!(report.deadline_passed);
    let m = &report.metrics;
    assert_eq!(
        (m.failed, m.cancelled),
        (1, 4),
        "the running job stopped early, four came back"
    );
    assert_eq!(report.returned.len(), 4);
}

#[test]
fn dropping_the_pool_drains_it() {
    let counts = Arc::new(RunCounts::new());
    let seen = Arc::clone(&counts);
    let pool = Pool::builder()
        .workers(2)
        .build(move |n: &u64, _| {
            seen.ran(*n);
            Ok(())
        })
        .unwrap();
    for n in 1..=40 {
        pool.submit(n).unwrap();
    }
    within(LIMIT, "dropping the pool", HANG, move || drop(pool));
    counts.assert_each_ran_once(1..=40);
}

#[test]
fn events_report_every_finished_job_with_its_status() {
    silence_worker_panics();
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&events);
    let pool = Pool::builder()
        .workers(2)
        .observe(move |e| seen.lock().unwrap().push(e.clone()))
        .build(|n: &u64, _| match n {
            1 => Err("no".into()),
            2 => panic!("boom"),
            _ => Ok(()),
        })
        .unwrap();
    for n in 1..=3 {
        pool.submit(n).unwrap();
    }
    within(LIMIT, "shutdown", HANG, move || {
        pool.shutdown(Stop::Drain, None)
    });
    let mut statuses: Vec<Status> = events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            Event::Finished { status, .. } => Some(status.clone()),
            _ => None,
        })
        .collect();
    statuses.sort_by_key(|s| format!("{s:?}"));
    assert_eq!(
        statuses,
        [
            Status::Completed,
            Status::Failed("no".into()),
            Status::Panicked("boom".into())
        ]
    );
}

/// Keeps the default panic hook from printing for the pool's own workers, whose panics the
/// pool catches and counts; everything else still prints.
fn silence_worker_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let worker = std::thread::current()
                .name()
                .is_some_and(|n| n.starts_with("pool-worker-"));
            if !worker {
                default(info);
            }
        }));
    });
}
