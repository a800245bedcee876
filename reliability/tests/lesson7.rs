//! Lesson 7's pool under seeded faults: a million jobs in rounds, each round with its own seed,
//! pool size, mix of failures, panics and slow jobs, mix of `submit`, `try_submit` and
//! `submit_timeout`, and a close from another thread at a random moment followed by a drain, an
//! abort or a drain with a deadline. Afterwards every job is accounted for exactly once, the
//! pool's metrics agree with the test's own counts, and no thread is left running.

use lesson_7::{Event, Pool, Reason, Status, Stop};
use rand::RngExt as _;
use reliability::{
    PLANTED_PANIC, ROUND_LIMIT, Round, Stress, Tally, quiet_planted_panics, run_rounds,
    threads_now, threads_settle,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

// ANCHOR: plan
/// What a job will do when it runs, drawn from the round's seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    Succeed,
    Fail,
    Panic,
    /// Spins for a few microseconds, so the queue fills and submitters meet `Full` and
    /// `Timeout`.
    Slow,
    /// Fails if it sees the pool aborting (`Ctx::is_cancelled`), which only an abort may cause.
    Watch,
}

/// How a job is submitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Way {
    Wait,
    Try,
    Timeout(Duration),
}

/// How the round ends, after the pool has been closed at a random moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    Drain,
    Abort,
    /// A drain that turns into an abort if it runs past the deadline.
    DrainWithin(Duration),
}

/// Everything random about a round, fixed up front from its seed.
struct Setup {
    workers: usize,
    queue: usize,
    submitters: usize,
    plans: Vec<Plan>,
    ways: Vec<Way>,
    /// The pool is closed once this many submissions have returned (`jobs`: after the last).
    close_after: usize,
    /// Jobs start stalling this many submissions before the close (`None`: no stall): a
    /// stalled job holds its worker until the abort, until the stall is lifted before a drain,
    /// or for at most `STALL_LIMIT`. The queue fills up meanwhile, so the abort has jobs to
    /// cancel and the submitters meet `Full` and `Timeout`.
    stall_ahead: Option<usize>,
    ending: Ending,
}

/// The longest a stalled job waits.
const STALL_LIMIT: Duration = Duration::from_millis(2);

fn setup(round: &Round) -> Setup {
    let mut rng = round.rng();
    let fail_permille = rng.random_range(0..=200);
    // Some rounds are mostly slow jobs, so the queue is still full when the abort comes.
    let slow_permille = rng.random_range(0..=400);
    let plans = (0..round.jobs)
        .map(|_| match rng.random_range(0..1000) {
            0..5 => Plan::Panic,
            5..15 => Plan::Watch,
            n if n < 15 + slow_permille => Plan::Slow,
            n if n < 15 + slow_permille + fail_permille => Plan::Fail,
            _ => Plan::Succeed,
        })
        .collect();
    let ways = (0..round.jobs)
        .map(|_| match rng.random_range(0..3) {
            0 => Way::Wait,
            1 => Way::Try,
            _ => Way::Timeout(Duration::from_micros(rng.random_range(0..=200))),
        })
        .collect();
    Setup {
        workers: rng.random_range(1..=4),
        queue: rng.random_range(1..=64),
        submitters: rng.random_range(1..=3),
        plans,
        ways,
        // One round in eight runs every job before closing; the others close part-way.
        close_after: if rng.random_ratio(1, 8) {
            round.jobs
        } else {
            rng.random_range(round.jobs / 4..round.jobs)
        },
        stall_ahead: if rng.random_ratio(2, 3) {
            Some(rng.random_range(0..=200))
        } else {
            None
        },
        ending: match rng.random_range(0..3) {
            0 => Ending::Drain,
            1 => Ending::Abort,
            _ => Ending::DrainWithin(Duration::from_micros(rng.random_range(0..=2000))),
        },
    }
}
// ANCHOR_END: plan

fn spin(d: Duration) {
    let start = Instant::now();
    while start.elapsed() < d {
        std::hint::spin_loop();
    }
}

/// What one submission came to: the pool's id for an accepted job, or the refusal's reason
/// and the job handed back. `after_close` says whether the attempt began after `close` had
/// returned.
type Attempt = (usize, Result<u64, (Reason, usize)>, bool);

/// The endings the observer saw, by the pool's job id.
const COMPLETED: u8 = 1;
const FAILED: u8 = 2;
const PANICKED: u8 = 3;
const CANCELLED: u8 = 4;

// ANCHOR: round
fn run_round(round: Round, tally: &mut Tally) {
    let s = setup(&round);
    let jobs = round.jobs;
    let threads_before = threads_now();
    let plans = Arc::new(s.plans);
    // Runs per job (by the test's job number), and endings per accepted job (by the pool's id,
    // which starts at 1): how many, and which kind.
    let runs: Arc<Vec<AtomicU8>> = Arc::new((0..jobs).map(|_| AtomicU8::new(0)).collect());
    let ends: Arc<Vec<AtomicU8>> = Arc::new((0..=jobs).map(|_| AtomicU8::new(0)).collect());
    let kinds: Arc<Vec<AtomicU8>> = Arc::new((0..=jobs).map(|_| AtomicU8::new(0)).collect());

    let stall = Arc::new(AtomicBool::new(false));
    let pool = {
        let (plans, runs, stall) = (Arc::clone(&plans), Arc::clone(&runs), Arc::clone(&stall));
        let (ends, kinds) = (Arc::clone(&ends), Arc::clone(&kinds));
        Pool::builder()
            .workers(s.workers)
            .queue(s.queue)
            .observe(move |event| {
                let (id, kind) = match event {
                    Event::Finished { id, status, .. } => match status {
                        Status::Completed => (*id, COMPLETED),
                        Status::Failed(_) => (*id, FAILED),
                        Status::Panicked(_) => (*id, PANICKED),
                    },
                    Event::Cancelled { id } => (*id, CANCELLED),
                    Event::Breaker(_) => return,
                };
                ends[id as usize].fetch_add(1, Ordering::Relaxed);
                kinds[id as usize].store(kind, Ordering::Relaxed);
            })
            .build(move |job: &usize, ctx| {
                runs[*job].fetch_add(1, Ordering::Relaxed);
                if stall.load(Ordering::Acquire) {
                    let give_up = Instant::now() + STALL_LIMIT;
                    while stall.load(Ordering::Acquire)
                        && !ctx.is_cancelled()
                        && Instant::now() < give_up
                    {
                        std::thread::sleep(Duration::from_micros(50));
                    }
                }
                match plans[*job] {
                    Plan::Succeed => Ok(()),
                    Plan::Fail => Err("planned failure".into()),
                    Plan::Panic => panic!("{}", PLANTED_PANIC),
                    Plan::Slow => {
                        spin(Duration::from_micros(5 + (*job % 20) as u64));
                        Ok(())
                    }
                    Plan::Watch if ctx.is_cancelled() => Err("saw the abort".into()),
                    Plan::Watch => Ok(()),
                }
            })
            .expect("the round's configuration is valid")
    };
    let pool = Arc::new(pool);
    let returned_calls = Arc::new(AtomicUsize::new(0));
    let closed = Arc::new(AtomicBool::new(false));

    // The closer: another thread that closes the pool at the planned moment, waits for the
    // submitters to let go of it, then shuts it down the planned way.
    let closer = {
        let (pool, returned_calls, closed) = (
            Arc::clone(&pool),
            Arc::clone(&returned_calls),
            Arc::clone(&closed),
        );
        let (close_after, ending, stall_ahead) = (s.close_after, s.ending, s.stall_ahead);
        let stall = Arc::clone(&stall);
        std::thread::spawn(move || {
            // Every wait also ends if every submitter has gone (one failed an assertion).
            let wait_until = |n: usize, limit: Duration| {
                let give_up = Instant::now() + limit;
                while returned_calls.load(Ordering::Acquire) < n
                    && Arc::strong_count(&pool) > 1
                    && Instant::now() < give_up
                {
                    std::thread::sleep(Duration::from_micros(10));
                }
            };
            if let Some(ahead) = stall_ahead {
                wait_until(close_after.saturating_sub(ahead), ROUND_LIMIT);
                stall.store(true, Ordering::Release);
                // Stalled workers may keep waiting submitters from returning: close anyway.
                wait_until(close_after, STALL_LIMIT);
            } else {
                wait_until(close_after, ROUND_LIMIT);
            }
            // Submissions that had returned before the close: none of them can be refused as
            // closed.
            let returned_before_close = returned_calls.load(Ordering::Acquire);
            pool.close();
            closed.store(true, Ordering::Release);
            // A plain drain lifts the stall; an abort, or a drain with a deadline that the
            // stalled jobs may well overrun, leaves it on.
            if ending == Ending::Drain {
                stall.store(false, Ordering::Release);
            }
            while Arc::strong_count(&pool) > 1 {
                std::thread::sleep(Duration::from_micros(10));
            }
            let pool = Arc::into_inner(pool).expect("the submitters have let go");
            let report = match ending {
                Ending::Drain => pool.shutdown(Stop::Drain, None),
                Ending::Abort => pool.shutdown(Stop::Abort, None),
                Ending::DrainWithin(limit) => pool.shutdown(Stop::Drain, Some(limit)),
            };
            (report, returned_before_close)
        })
    };
    let submitters: Vec<_> = (0..s.submitters)
        .map(|t| {
            let (pool, returned_calls, closed) = (
                Arc::clone(&pool),
                Arc::clone(&returned_calls),
                Arc::clone(&closed),
            );
            let ways = s.ways.clone();
            let stride = s.submitters;
            std::thread::spawn(move || {
                let mut seen: Vec<Attempt> = Vec::with_capacity(jobs / stride + 1);
                // Once an attempt has begun after the close (and been refused), the rest are
                // not offered: the submitter lets go of the pool at once, so the shutdown
                // meets a full queue.
                let mut skipped: Vec<usize> = Vec::new();
                for job in (t..jobs).step_by(stride) {
                    if seen.last().is_some_and(|a: &Attempt| a.2) {
                        skipped.push(job);
                        continue;
                    }
                    let after_close = closed.load(Ordering::Acquire);
                    let result = match ways[job] {
                        Way::Wait => pool.submit(job),
                        Way::Try => pool.try_submit(job),
                        Way::Timeout(limit) => pool.submit_timeout(job, limit),
                    };
                    let result = result.map_err(|rejected| (rejected.reason, rejected.job));
                    seen.push((job, result, after_close));
                    returned_calls.fetch_add(1, Ordering::Release);
                }
                (seen, skipped)
            })
        })
        .collect();
    drop(pool);
    let (mut attempts, mut skipped) = (Vec::<Attempt>::with_capacity(jobs), Vec::new());
    for submitter in submitters {
        let (seen, not_offered) = submitter.join().expect("a submitter does not panic");
        attempts.extend(seen);
        skipped.extend(not_offered);
    }
    let (report, returned_before_close) = closer.join().expect("the closer does not panic");
    // ANCHOR_END: round

    // ANCHOR: checks
    let m = &report.metrics;
    let aborted = s.ending == Ending::Abort || report.deadline_passed;
    assert_eq!(
        attempts.len() + skipped.len(),
        jobs,
        "every job was submitted once or, after the close, not offered; {round}"
    );
    for &job in &skipped {
        assert_eq!(
            runs[job].load(Ordering::Relaxed),
            0,
            "job {job} was never offered to the pool, yet it ran; {round}"
        );
    }
    let mut returned = vec![0u32; jobs];
    for &job in &report.returned {
        returned[job] += 1;
    }
    let mut by_kind = [0u64; 5];
    let mut refused = [0u64; 5];
    let mut ids = vec![false; jobs + 1];
    for &(job, result, after_close) in &attempts {
        let ran = runs[job].load(Ordering::Relaxed);
        match result {
            Err((reason, handed_back)) => {
                assert_eq!(
                    handed_back, job,
                    "a refused job comes back untouched; {round}"
                );
                refused[reason as usize] += 1;
                assert_eq!(
                    ran, 0,
                    "refused job {job} ({reason:?}) must never run; {round}"
                );
                assert_eq!(
                    returned[job], 0,
                    "refused job {job} is not in the report's returned jobs; {round}"
                );
                let allowed = match s.ways[job] {
                    Way::Wait => reason == Reason::Closed,
                    Way::Try => matches!(reason, Reason::Closed | Reason::Full),
                    Way::Timeout(_) => matches!(reason, Reason::Closed | Reason::Timeout),
                };
                assert!(
                    allowed,
                    "job {job} submitted as {:?} was refused with {reason:?}; {round}",
                    s.ways[job]
                );
            }
            Ok(id) => {
                assert!(
                    !after_close,
                    "job {job} was accepted after close() had returned; {round}"
                );
                let id = id as usize;
                assert!(
                    id >= 1 && id <= jobs && !ids[id],
                    "job {job} got id {id}, out of range or given twice; {round}"
                );
                ids[id] = true;
                let ended = ends[id].load(Ordering::Relaxed);
                assert_eq!(
                    ended, 1,
                    "accepted job {job} (id {id}) must end exactly once, ended {ended} times; {round}"
                );
                let kind = kinds[id].load(Ordering::Relaxed);
                by_kind[kind as usize] += 1;
                let expected_runs = u8::from(kind != CANCELLED);
                assert_eq!(
                    ran, expected_runs,
                    "job {job} ended as kind {kind} but ran {ran} times; {round}"
                );
                assert_eq!(
                    returned[job],
                    u32::from(kind == CANCELLED),
                    "job {job}: a cancelled job is handed back once, any other never; {round}"
                );
                let plan = plans[job];
                let fits = match kind {
                    CANCELLED => aborted,
                    COMPLETED => matches!(plan, Plan::Succeed | Plan::Slow | Plan::Watch),
                    FAILED => plan == Plan::Fail || (plan == Plan::Watch && aborted),
                    PANICKED => plan == Plan::Panic,
                    _ => false,
                };
                assert!(
                    fits,
                    "job {job} planned {plan:?} ended as kind {kind} (aborted: {aborted}); {round}"
                );
            }
        }
        if after_close {
            assert_eq!(
                result.map_err(|e| e.0),
                Err(Reason::Closed),
                "job {job} tried after close() returned must be refused as closed; {round}"
            );
        }
    }
    let closed_refusals = refused[Reason::Closed as usize];
    assert!(
        closed_refusals <= (jobs - returned_before_close) as u64,
        "{closed_refusals} jobs refused as closed, but only {} submissions were unfinished when \
         the pool closed; {round}",
        jobs - returned_before_close
    );
    let accepted = attempts.iter().filter(|a| a.1.is_ok()).count() as u64;
    assert_eq!(
        m.submitted, accepted,
        "metrics.submitted counts exactly the accepted jobs; {round}"
    );
    assert_eq!(
        (m.completed, m.failed, m.panicked, m.cancelled),
        (by_kind[1], by_kind[2], by_kind[3], by_kind[4]),
        "metrics (completed, failed, panicked, cancelled) agree with the endings the jobs saw; {round}"
    );
    for reason in Reason::ALL {
        assert_eq!(
            m.rejected(reason),
            refused[reason as usize],
            "refusals for {}; {round}",
            reason.name()
        );
    }
    assert_eq!(
        report.returned.len() as u64,
        m.cancelled,
        "every cancelled job is handed back; {round}"
    );
    assert_eq!(
        (m.in_flight, m.busy_workers),
        (0, 0),
        "nothing in flight after shutdown; {round}"
    );
    assert_eq!(
        m.latency.count,
        m.completed + m.failed + m.panicked,
        "one latency sample per job that ran; {round}"
    );
    if s.ending == Ending::Drain {
        assert_eq!(m.cancelled, 0, "a drain cancels nothing; {round}");
    }
    if let Err(left) = threads_settle(threads_before, Duration::from_secs(10)) {
        panic!(
            "{left} threads still running 10 s after shutdown, {threads_before} before the pool started: a worker or helper thread was not joined; {round}"
        );
    }
    // ANCHOR_END: checks

    tally.add("jobs", jobs as u64);
    tally.add("accepted", accepted);
    tally.add("not offered after the close", skipped.len() as u64);
    tally.add("completed", m.completed);
    tally.add("failed", m.failed);
    tally.add("panicked", m.panicked);
    tally.add("cancelled", m.cancelled);
    for reason in [Reason::Full, Reason::Timeout, Reason::Closed] {
        tally.add(
            match reason {
                Reason::Full => "refused full",
                Reason::Timeout => "refused timeout",
                _ => "refused closed",
            },
            m.rejected(reason),
        );
    }
    tally.add(
        match s.ending {
            Ending::Drain => "ending drain",
            Ending::Abort => "ending abort",
            Ending::DrainWithin(_) => "ending drain with deadline",
        },
        1,
    );
    tally.add("deadline passed", u64::from(report.deadline_passed));
    tally.add("rounds with a stall", u64::from(s.stall_ahead.is_some()));
}

#[test]
fn a_million_jobs_with_faults_and_a_random_shutdown_are_each_accounted_for_once() {
    quiet_planted_panics();
    let stress = Stress::from_env();
    let tally = run_rounds(
        "lesson 7",
        "a submitter or the shutdown is stuck: a queue nobody drains, or a worker never joined",
        &stress,
        run_round,
    );
    // A long run must have met every fault; a replay of one round need not.
    assert!(
        stress.rounds < 10
            || tally.get("panicked") > 0
                && tally.get("cancelled") > 0
                && tally.get("refused closed") > 0,
        "the run should exercise panics, cancellations and closed refusals: {tally}"
    );
}
