//! `submit_all`: many jobs in one call, handed over in batches, with the same promises as
//! `submit` one job at a time: each accepted job runs once, refused jobs come back in order,
//! the rate limit and the breaker still apply to every job, and an abort hands back what waits.

use course_support::testing::{Gate, Gauge, RunCounts, within};
use lesson_7::{
    BATCH, BreakerConfig, BreakerState, Clock, ManualClock, Pool, Reason, Rejected, Stop,
};
use std::sync::Arc;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(10);
const HANG: &str = "does shutdown close the queue, and does every worker leave its loop?";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn every_job_of_several_batches_runs_exactly_once_and_is_counted() {
    let runs = Arc::new(RunCounts::new());
    let ran = Arc::clone(&runs);
    let pool = Pool::builder()
        .workers(3)
        .queue(2)
        .build(move |n: &u64, _| {
            ran.ran(*n);
            if n % 10 == 0 {
                Err("a tenth fail".into())
            } else {
                Ok(())
            }
        })
        .unwrap();
    let jobs = 3 * BATCH as u64 + 17;
    assert_eq!(
        pool.submit_all(1..=jobs),
        Ok(jobs as usize),
        "nothing refuses jobs here, so submit_all accepts them all"
    );
    let report = within(LIMIT, "shutdown", HANG, move || {
        pool.shutdown(Stop::Drain, None)
    });
    runs.assert_each_ran_once(1..=jobs);
    let m = &report.metrics;
    assert_eq!(
        (m.submitted, m.completed, m.failed),
        (jobs, jobs - jobs / 10, jobs / 10),
        "a batch's jobs are counted as they would be one by one: {m:?}"
    );
    assert_eq!(
        m.latency.count, jobs,
        "every job's latency is recorded once"
    );
    assert_eq!((m.in_flight, m.busy_workers), (0, 0), "{m:?}");
}

#[test]
fn ids_are_given_in_order_and_wait_idle_sees_the_batches_through() {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let pool = Pool::builder()
        .workers(1)
        .observe(move |event| {
            if let lesson_7::Event::Finished { id, .. } = event {
                log.lock().unwrap().push(*id);
            }
        })
        .build(|_: &u64, _| Ok(()))
        .unwrap();
    let first = pool.submit(0).unwrap();
    pool.submit_all(1..=600).unwrap();
    let last = pool.submit(601).unwrap();
    assert!(
        pool.wait_idle(LIMIT),
        "wait_idle never saw the pool idle: are a batch's jobs taken off in_flight?"
    );
    assert_eq!((first, last), (1, 602), "a batch takes one id per job");
    let ids = seen.lock().unwrap().clone();
    assert_eq!(
        ids,
        (1..=602).collect::<Vec<u64>>(),
        "one worker runs the jobs in the order they were accepted, each id once"
    );
}

#[test]
fn a_closed_pool_hands_every_job_back_in_order() {
    let pool = Pool::builder().build(|_: &u64, _| Ok(())).unwrap();
    pool.close();
    let refused = pool.submit_all(1..=5).unwrap_err();
    assert_eq!(
        refused,
        Rejected {
            job: vec![1, 2, 3, 4, 5],
            reason: Reason::Closed,
            retry_after: None
        }
    );
    let m = pool.metrics();
    assert_eq!(
        (m.submitted, m.rejected(Reason::Closed)),
        (0, 5),
        "each refused job is counted once, under its reason"
    );
}

#[test]
fn an_open_breaker_refuses_every_job_of_the_batch() {
    let clock = Arc::new(ManualClock::default());
    let pool = Pool::builder()
        .workers(1)
        .breaker(BreakerConfig {
            failures: 2,
            cooldown: ms(100),
            probes: 1,
        })
        .clock(Arc::clone(&clock) as Arc<dyn Clock>)
        .build(|ok: &bool, _| if *ok { Ok(()) } else { Err("down".into()) })
        .unwrap();
    pool.submit_all([false, false]).unwrap();
    assert!(pool.wait_idle(LIMIT), "the two failing jobs never finished");
    assert_eq!(pool.breaker_state(), Some(BreakerState::Open));
    let refused = pool.submit_all([true, true, true]).unwrap_err();
    assert_eq!(
        (refused.reason, refused.job.len()),
        (Reason::Breaker, 3),
        "an open breaker refuses every job, and all of them come back"
    );
    clock.advance(ms(100));
    // The cool-down is over: the first job is the probe, and the breaker lets no second one
    // through until the probe's verdict is in.
    let refused = pool.submit_all([true, true, true]).unwrap_err();
    assert_eq!(
        (refused.reason, refused.job),
        (Reason::Breaker, vec![true, true]),
        "the probe was accepted, and the two jobs after it came back"
    );
    assert_eq!(pool.metrics().rejected(Reason::Breaker), 5);
}

/// A manual clock whose sleep waits at a gate first: the test decides when a wait for a rate
/// token may end, and can look at the pool while `submit_all` is waiting.
#[derive(Debug)]
struct HeldClock {
    clock: ManualClock,
    gate: Gate,
}

impl Clock for HeldClock {
    fn now(&self) -> Duration {
        self.clock.now()
    }

    fn sleep(&self, d: Duration) {
        self.gate.wait();
        self.clock.sleep(d);
    }
}

#[test]
fn jobs_with_a_rate_token_are_sent_before_waiting_for_the_rest() {
    let gate = Gate::new();
    let clock = Arc::new(HeldClock {
        clock: ManualClock::default(),
        gate: gate.clone(),
    });
    let pool = Pool::builder()
        .workers(3)
        .rate(20.0, 3) // a burst of three, then one per 50 ms
        .clock(Arc::clone(&clock) as Arc<dyn Clock>)
        .build(|_: &u64, _| Ok(()))
        .unwrap();
    std::thread::scope(|s| {
        let submitter = s.spawn(|| pool.submit_all(1..=5));
        // Only the three jobs with a token can run while submit_all waits for the fourth. The
        // wait is bounded: the held sleep gives up after `Gate::LIMIT`, and submit_all returns.
        let ran = (0..)
            .map(|_| {
                std::thread::yield_now();
                pool.metrics().completed
            })
            .take_while(|_| !submitter.is_finished())
            .find(|&done| done >= 3);
        let seen = pool.metrics().completed;
        gate.open();
        assert_eq!(
            submitter.join().unwrap(),
            Ok(5),
            "submit_all waits for tokens and accepts all five"
        );
        assert_eq!(
            (ran, seen),
            (Some(3), 3),
            "while submit_all waited for a token, the three jobs that had one should have run \
             and no more: does it hold the whole batch back until every job has a token?"
        );
    });
    assert_eq!(
        clock.now(),
        ms(100),
        "two waits of 50 ms for the fourth and fifth tokens, on the pool's clock"
    );
}

#[test]
fn an_abort_hands_back_every_job_still_waiting_in_a_batch() {
    let gauge = Arc::new(Gauge::new());
    let inside = Arc::clone(&gauge);
    let pool = Pool::builder()
        .workers(1)
        .queue(4)
        .build(move |_: &u64, ctx| {
            let _running = inside.enter();
            // The first job holds the only worker until the abort is visible.
            let deadline = std::time::Instant::now() + Duration::from_secs(5);
            while !ctx.is_cancelled() && std::time::Instant::now() < deadline {
                std::thread::yield_now();
            }
            Ok(())
        })
        .unwrap();
    let jobs = 2 * BATCH as u64 + 9;
    assert_eq!(pool.submit_all(1..=jobs), Ok(jobs as usize));
    assert!(
        gauge.wait_for_peak(1, Duration::from_secs(5)),
        "the first job never started"
    );
    let report = within(LIMIT, "an abort", HANG, move || {
        pool.shutdown(Stop::Abort, None)
    });
    let m = &report.metrics;
    assert_eq!(
        (m.completed, m.cancelled),
        (1, jobs - 1),
        "the running job finishes; the rest of its batch and the batches queued behind it \
         are cancelled: {m:?}"
    );
    let mut returned = report.returned.clone();
    returned.sort_unstable();
    assert_eq!(
        returned,
        (2..=jobs).collect::<Vec<u64>>(),
        "every job still waiting comes back, untouched"
    );
}
