//! Lesson 5's pool on tokio under seeded faults: a million jobs in rounds, each round with its
//! own seed, runtime, pool size, failures, jobs that yield, jobs that hang until their time-out,
//! a few panics (each ends its worker task: lesson 5 does not catch them), and a cancel from
//! another thread at a random moment (or the pool's own deadline). Afterwards every job is
//! accounted for exactly once and the runtime's threads are gone.

use lesson_5::{Config, Pool, Status};
use rand::RngExt as _;
use reliability::{
    PLANTED_PANIC, Round, Stress, Tally, quiet_planted_panics, run_rounds, threads_now,
    threads_settle,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::time::Duration;

/// A job's own time limit, in the rounds that have one. Long enough that a job that does not
/// hang almost never reaches it, even on a loaded machine; one that does is still accepted as
/// timed out if it really ran that long.
const JOB_TIMEOUT: Duration = Duration::from_millis(20);

/// What a job will do when it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    Succeed,
    Fail,
    /// Yields to the runtime once, so a cancel can catch it running.
    Yield,
    /// Never finishes: only its time-out or a cancel ends it.
    Hang,
    /// Panics, which ends its worker task.
    Panic,
}

/// Everything random about a round, fixed up front from its seed.
struct Setup {
    config: Config,
    submitters: usize,
    plans: Vec<Plan>,
    /// The pool is cancelled from another thread once this many submissions have returned;
    /// `None`: never (the pool drains, unless its deadline passes).
    cancel_after: Option<usize>,
}

fn setup(round: &Round) -> Setup {
    let mut rng = round.rng();
    let jobs = round.jobs;
    let workers = rng.random_range(1..=8);
    let mut config = Config::new(workers, rng.random_range(1..=64));
    if rng.random_ratio(3, 4) {
        config.job_timeout = Some(JOB_TIMEOUT);
    }
    if rng.random_ratio(1, 5) {
        config.deadline = Some(Duration::from_millis(rng.random_range(1..=50)));
    }
    let fail_permille = rng.random_range(0..=200);
    let yield_permille = rng.random_range(0..=300);
    let mut plans: Vec<Plan> = (0..jobs)
        .map(|_| {
            let n = rng.random_range(0..1000);
            if n < yield_permille {
                Plan::Yield
            } else if n < yield_permille + fail_permille {
                Plan::Fail
            } else {
                Plan::Succeed
            }
        })
        .collect();
    // Hanging jobs only where something will end them: a time-out.
    if config.job_timeout.is_some() {
        for _ in 0..rng.random_range(0..=10) {
            plans[rng.random_range(0..jobs)] = Plan::Hang;
        }
    }
    // Fewer panics than workers, so the round's jobs still get run: once every worker task is
    // gone, `submit` hands jobs back (lesson 5's `workers_gone`), and lesson 5's own test
    // `once_every_worker_has_panicked_submit_hands_jobs_back_instead_of_waiting` checks that.
    for _ in 0..rng.random_range(0..workers) {
        plans[rng.random_range(0..jobs)] = Plan::Panic;
    }
    Setup {
        config,
        submitters: rng.random_range(1..=3),
        plans,
        cancel_after: match rng.random_range(0..3) {
            0 => None,
            _ => Some(rng.random_range(0..jobs)),
        },
    }
}

/// One submission: the job, `Ok` or the job handed back, and whether the pool had been
/// cancelled when the attempt began.
type Attempt = (usize, Result<(), usize>, bool);

// ANCHOR: round
fn run_round(round: Round, tally: &mut Tally) {
    let s = setup(&round);
    let jobs = round.jobs;
    let threads_before = threads_now();
    let plans = Arc::new(s.plans);
    let runs: Arc<Vec<AtomicU8>> = Arc::new((0..jobs).map(|_| AtomicU8::new(0)).collect());
    let seen: Arc<Vec<AtomicU8>> = Arc::new((0..jobs).map(|_| AtomicU8::new(0)).collect());
    let returned = Arc::new(AtomicUsize::new(0));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime starts");
    let (report, attempts, cancelled) = runtime.block_on(async {
        let pool = {
            let (plans, runs, seen) = (Arc::clone(&plans), Arc::clone(&runs), Arc::clone(&seen));
            Pool::new(
                s.config,
                move |job: usize, _token| {
                    let (plan, runs) = (plans[job], Arc::clone(&runs));
                    async move {
                        runs[job].fetch_add(1, Ordering::Relaxed);
                        match plan {
                            Plan::Succeed => Ok(()),
                            Plan::Fail => Err("planned failure".to_string()),
                            Plan::Yield => {
                                tokio::task::yield_now().await;
                                Ok(())
                            }
                            Plan::Hang => std::future::pending().await,
                            Plan::Panic => panic!("{}", PLANTED_PANIC),
                        }
                    }
                },
                move |outcome| {
                    seen[outcome.job].fetch_add(1, Ordering::Relaxed);
                },
            )
        };
        let token = pool.cancel_token();
        // The canceller: another thread, not a task, that cancels the pool at its moment.
        let canceller = s.cancel_after.map(|after| {
            let (token, returned) = (token.clone(), Arc::clone(&returned));
            std::thread::spawn(move || {
                while returned.load(Ordering::Acquire) < after && !token.is_cancelled() {
                    std::thread::sleep(Duration::from_micros(10));
                }
                token.cancel();
            })
        });
        let pool = Arc::new(pool);
        let submitters: Vec<_> = (0..s.submitters)
            .map(|t| {
                let (pool, token, returned) =
                    (Arc::clone(&pool), token.clone(), Arc::clone(&returned));
                let stride = s.submitters;
                tokio::spawn(async move {
                    let mut tried: Vec<Attempt> = Vec::with_capacity(jobs / stride + 1);
                    for job in (t..jobs).step_by(stride) {
                        let cancelled_before = token.is_cancelled();
                        let result = pool.submit(job).await.map_err(|r| r.job);
                        tried.push((job, result, cancelled_before));
                        returned.fetch_add(1, Ordering::Release);
                    }
                    tried
                })
            })
            .collect();
        let mut attempts: Vec<Attempt> = Vec::with_capacity(jobs);
        for submitter in submitters {
            attempts.extend(submitter.await.expect("a submitter does not panic"));
        }
        let pool = Arc::into_inner(pool).expect("the submitters are done with the pool");
        let report = pool.shutdown().await;
        // Read before the clean-up below cancels the token for its own reasons.
        let cancelled = token.is_cancelled();
        if let Some(canceller) = canceller {
            // It may still be waiting for a moment that never came, if the deadline cancelled
            // the pool first; cancelling ends its wait.
            token.cancel();
            canceller.join().expect("the canceller does not panic");
        }
        (report, attempts, cancelled)
    });
    // Dropping the runtime stops its threads; the check below waits for them to be gone.
    drop(runtime);
    // ANCHOR_END: round

    // ANCHOR: checks
    let cancel_possible = s.cancel_after.is_some() || s.config.deadline.is_some();
    let mut outcomes = vec![0u32; jobs];
    let mut status_of: Vec<Option<(Status, Duration, bool)>> = vec![None; jobs];
    for o in &report.outcomes {
        outcomes[o.job] += 1;
        status_of[o.job] = Some((o.status.clone(), o.took, o.worker.is_some()));
    }
    let ran = |job: usize| runs[job].load(Ordering::Relaxed);
    let panicked = (0..jobs)
        .filter(|&j| plans[j] == Plan::Panic && ran(j) == 1)
        .count();
    assert_eq!(
        report.panicked, panicked,
        "each job that panicked ended its worker task, and only those; {round}"
    );
    assert_eq!(
        attempts.len(),
        jobs,
        "every job was submitted once; {round}"
    );
    let (mut accepted, mut lost, mut refused) = (0, 0, 0u64);
    let mut endings = [0u64; 6];
    for &(job, result, cancelled_before) in &attempts {
        match result {
            Err(handed_back) => {
                refused += 1;
                assert_eq!(
                    handed_back, job,
                    "a refused job comes back untouched; {round}"
                );
                assert!(
                    cancelled,
                    "job {job} refused although the pool was never cancelled; {round}"
                );
                assert_eq!(
                    (ran(job), outcomes[job]),
                    (0, 0),
                    "refused job {job} never runs and has no outcome; {round}"
                );
            }
            Ok(()) => {
                accepted += 1;
                assert!(
                    !cancelled_before,
                    "job {job} was accepted after the pool was cancelled; {round}"
                );
                match (outcomes[job], &status_of[job]) {
                    (1, Some((status, took, by_worker))) => {
                        let plan = plans[job];
                        let (kind, fits) = match status {
                            Status::Completed => (
                                0,
                                matches!(plan, Plan::Succeed | Plan::Yield) && ran(job) == 1,
                            ),
                            Status::Failed(_) => (1, plan == Plan::Fail && ran(job) == 1),
                            // A hanging job, or one that really ran past its limit (a loaded
                            // machine can stall a thread that long): its late result is discarded.
                            Status::TimedOut => (
                                2,
                                s.config
                                    .job_timeout
                                    .is_some_and(|t| plan == Plan::Hang || *took > t)
                                    && ran(job) == 1,
                            ),
                            Status::Cancelled { started: true } => (3, cancelled && ran(job) == 1),
                            Status::Cancelled { started: false } => (4, cancelled && ran(job) == 0),
                        };
                        endings[kind] += 1;
                        assert!(
                            fits,
                            "job {job} planned {plan:?} ran {} times and ended {status:?} after {took:?} (cancelled: {cancelled}); {round}",
                            ran(job)
                        );
                        let callbacks = seen[job].load(Ordering::Relaxed);
                        assert_eq!(
                            callbacks,
                            u8::from(*by_worker),
                            "job {job}: on_outcome runs once for each outcome a worker reports, and only then; {round}"
                        );
                    }
                    (0, _) => {
                        lost += 1;
                        endings[5] += 1;
                        assert!(
                            plans[job] == Plan::Panic && ran(job) == 1,
                            "accepted job {job} planned {:?} ran {} times and has no outcome; {round}",
                            plans[job],
                            ran(job)
                        );
                    }
                    (n, _) => panic!("job {job} has {n} outcomes; {round}"),
                }
            }
        }
    }
    assert_eq!(
        report.submitted, accepted,
        "report.submitted counts exactly the accepted jobs; {round}"
    );
    assert_eq!(
        report.lost(),
        lost,
        "report.lost() counts exactly the accepted jobs with no outcome; {round}"
    );
    assert_eq!(lost, panicked, "only the panicking jobs are lost; {round}");
    assert!(
        cancel_possible || !cancelled,
        "nothing cancelled the pool, yet its token is cancelled; {round}"
    );
    if let Err(left) = threads_settle(threads_before, Duration::from_secs(10)) {
        panic!(
            "{left} threads still running 10 s after the runtime was dropped, {threads_before} before it started; {round}"
        );
    }
    // ANCHOR_END: checks

    tally.add("jobs", jobs as u64);
    tally.add("accepted", accepted as u64);
    tally.add("done", endings[0]);
    tally.add("failed", endings[1]);
    tally.add("timed out", endings[2]);
    tally.add("cancelled while running", endings[3]);
    tally.add("cancelled before starting", endings[4]);
    tally.add("panicked (worker task ended)", endings[5]);
    tally.add("refused after cancel", refused);
    tally.add("rounds cancelled", u64::from(cancelled));
    tally.add(
        "rounds with a deadline",
        u64::from(s.config.deadline.is_some()),
    );
}

#[test]
fn a_million_async_jobs_with_faults_and_a_cancel_at_a_random_moment_are_each_accounted_for_once() {
    quiet_planted_panics();
    let stress = Stress::from_env();
    let tally = run_rounds(
        "lesson 5",
        "a submitter or the shutdown is stuck: a full queue with no worker task left, or a job nothing stops",
        &stress,
        run_round,
    );
    // A long run must have met every fault; a replay of one round need not.
    assert!(
        stress.rounds < 10
            || [
                "timed out",
                "cancelled while running",
                "cancelled before starting",
                "panicked (worker task ended)",
                "refused after cancel"
            ]
            .iter()
            .all(|k| tally.get(k) > 0),
        "the run should exercise time-outs, cancels and panics: {tally}"
    );
}
