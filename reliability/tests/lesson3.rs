//! Lesson 3's pool under seeded faults: a million jobs in rounds, each round with its own seed,
//! pool size, failures, slow jobs and a few panics (each kills its worker: lesson 3 does not
//! catch them), submitted with `submit` and `submit_or_stop`, while another thread fires the
//! stop signal and stop-now at random moments, and the round ends with `shutdown` or
//! `shutdown_now`. Afterwards every job is accounted for exactly once and no thread is left.

use lesson_3::{Pool, Reason, Status};
use rand::RngExt as _;
use reliability::{
    PLANTED_PANIC, Round, Stress, Tally, quiet_planted_panics, run_rounds, threads_now,
    threads_settle,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// What a job will do when it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    Succeed,
    Fail,
    /// Spins a few microseconds, so the queue fills up.
    Slow,
    /// Panics, which kills the worker running it.
    Panic,
}

/// How a job is submitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Way {
    Submit,
    OrStop,
}

/// Everything random about a round, fixed up front from its seed.
struct Setup {
    workers: usize,
    capacity: usize,
    submitters: usize,
    plans: Vec<Plan>,
    ways: Vec<Way>,
    /// The stop signal (the stop channel disconnects) fires once this many submissions have
    /// returned; `None`: never.
    stop_after: Option<usize>,
    /// Stop-now fires from the stop handle once this many submissions have returned; `jobs`:
    /// while `shutdown` is waiting; `None`: never.
    stop_now_after: Option<usize>,
    /// End with `shutdown_now` instead of `shutdown`.
    end_now: bool,
}

fn setup(round: &Round) -> Setup {
    let mut rng = round.rng();
    let jobs = round.jobs;
    let workers = rng.random_range(1..=4);
    let fail_permille = rng.random_range(0..=200);
    let slow_permille = rng.random_range(0..=200);
    let mut plans: Vec<Plan> = (0..jobs)
        .map(|_| {
            let n = rng.random_range(0..1000);
            if n < slow_permille {
                Plan::Slow
            } else if n < slow_permille + fail_permille {
                Plan::Fail
            } else {
                Plan::Succeed
            }
        })
        .collect();
    // Fewer panics than workers, except in one round in eight, where every worker dies.
    let panics = if rng.random_ratio(1, 8) {
        workers
    } else {
        rng.random_range(0..workers)
    };
    for _ in 0..panics {
        plans[rng.random_range(0..jobs)] = Plan::Panic;
    }
    let ways = (0..jobs)
        .map(|_| {
            if rng.random_bool(0.5) {
                Way::Submit
            } else {
                Way::OrStop
            }
        })
        .collect();
    let moment = |rng: &mut rand::rngs::StdRng| match rng.random_range(0..4) {
        0 => None,
        1 => Some(jobs),
        _ => Some(rng.random_range(0..jobs)),
    };
    let stop_after = moment(&mut rng);
    let stop_now_after = moment(&mut rng);
    Setup {
        workers,
        capacity: rng.random_range(1..=64),
        submitters: rng.random_range(1..=3),
        plans,
        ways,
        stop_after,
        stop_now_after,
        end_now: rng.random_bool(0.3),
    }
}

fn spin(d: Duration) {
    let start = Instant::now();
    while start.elapsed() < d {
        std::hint::spin_loop();
    }
}

/// One submission: the job, `Ok` or the reason and the job handed back, and whether the stop
/// signal and stop-now had already fired when the attempt began.
type Attempt = (usize, Result<(), (Reason, usize)>, bool, bool);

/// Moments the controller thread marks, so the checks know what happened before what.
#[derive(Default)]
struct Marks {
    /// Submissions that have returned.
    returned: AtomicUsize,
    /// Set just before the stop signal fires, and just after.
    stopping: AtomicBool,
    stopped: AtomicBool,
    /// Set just before stop-now, and just after.
    stopping_now: AtomicBool,
    stopped_now: AtomicBool,
    /// Set when the test calls `shutdown`.
    shutting_down: AtomicBool,
}

impl Marks {
    /// Waits until `n` submissions have returned, or shutdown has begun.
    fn wait_for(&self, n: usize) {
        while self.returned.load(Ordering::Acquire) < n
            && !self.shutting_down.load(Ordering::Acquire)
        {
            std::thread::sleep(Duration::from_micros(10));
        }
    }
}

// ANCHOR: round
fn run_round(round: Round, tally: &mut Tally) {
    let s = setup(&round);
    let jobs = round.jobs;
    let threads_before = threads_now();
    let plans = Arc::new(s.plans);
    let runs: Arc<Vec<AtomicU8>> = Arc::new((0..jobs).map(|_| AtomicU8::new(0)).collect());
    let pool = {
        let (plans, runs) = (Arc::clone(&plans), Arc::clone(&runs));
        Pool::new(s.workers, s.capacity, move |_worker, job: &usize| {
            runs[*job].fetch_add(1, Ordering::Relaxed);
            match plans[*job] {
                Plan::Succeed => Ok(()),
                Plan::Fail => Err("planned failure".into()),
                Plan::Slow => {
                    spin(Duration::from_micros(5 + (*job % 20) as u64));
                    Ok(())
                }
                Plan::Panic => panic!("{}", PLANTED_PANIC),
            }
        })
    };
    let marks = Arc::new(Marks::default());
    let (stop_tx, stop_rx) = crossbeam_channel::bounded::<()>(0);

    // The controller: another thread that fires the stop signal and stop-now at their moments.
    let controller = {
        let (marks, handle) = (Arc::clone(&marks), pool.stop_handle());
        let (stop_after, stop_now_after) = (s.stop_after, s.stop_now_after);
        std::thread::spawn(move || {
            let mut stop_tx = Some(stop_tx);
            let mut events: Vec<(usize, bool)> = Vec::new();
            events.extend(stop_after.map(|n| (n, false)));
            events.extend(stop_now_after.map(|n| (n, true)));
            events.sort();
            for (at, now) in events {
                marks.wait_for(at);
                if now {
                    marks.stopping_now.store(true, Ordering::Release);
                    handle.stop_now();
                    marks.stopped_now.store(true, Ordering::Release);
                } else {
                    marks.stopping.store(true, Ordering::Release);
                    // The stop signal: the channel disconnects, which every waiting and every
                    // later `submit_or_stop` sees.
                    drop(stop_tx.take());
                    marks.stopped.store(true, Ordering::Release);
                }
            }
            // Handed back unfired, so that it does not disconnect when this thread ends.
            stop_tx
        })
    };
    let attempts: Vec<Attempt> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..s.submitters)
            .map(|t| {
                let (pool, marks, stop_rx, ways) = (&pool, &*marks, &stop_rx, &s.ways);
                scope.spawn(move || {
                    let mut seen = Vec::with_capacity(jobs / s.submitters + 1);
                    for job in (t..jobs).step_by(s.submitters) {
                        let stopped = marks.stopped.load(Ordering::Acquire);
                        let stopped_now = marks.stopped_now.load(Ordering::Acquire);
                        let result = match ways[job] {
                            Way::Submit => pool.submit(job),
                            Way::OrStop => pool.submit_or_stop(job, stop_rx),
                        };
                        let result = result.map_err(|r| (r.reason, r.job));
                        seen.push((job, result, stopped, stopped_now));
                        marks.returned.fetch_add(1, Ordering::Release);
                    }
                    seen
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a submitter does not panic"))
            .collect()
    });
    marks.shutting_down.store(true, Ordering::Release);
    let report = if s.end_now {
        pool.shutdown_now()
    } else {
        pool.shutdown()
    };
    drop(controller.join().expect("the controller does not panic"));
    // ANCHOR_END: round

    // ANCHOR: checks
    let stop_now_fired = s.end_now || marks.stopping_now.load(Ordering::Acquire);
    let mut outcomes = vec![0u32; jobs];
    let mut status_of: Vec<Option<Status>> = vec![None; jobs];
    for outcome in &report.outcomes {
        outcomes[outcome.job] += 1;
        status_of[outcome.job] = Some(outcome.status.clone());
    }
    let ran = |job: usize| runs[job].load(Ordering::Relaxed);
    let panicked: usize = (0..jobs)
        .filter(|&j| plans[j] == Plan::Panic && ran(j) == 1)
        .count();
    let all_died = panicked == s.workers;
    assert_eq!(
        report.panicked_workers, panicked,
        "each job that panicked killed its worker, and only those; {round}"
    );
    assert_eq!(
        attempts.len(),
        jobs,
        "every job was submitted once; {round}"
    );
    let (mut accepted, mut lost, mut stopped_refusals, mut no_workers) = (0, 0, 0, 0);
    for &(job, result, stopped_before, stopped_now_before) in &attempts {
        match result {
            Err((reason, handed_back)) => {
                assert_eq!(
                    handed_back, job,
                    "a refused job comes back untouched; {round}"
                );
                assert_eq!(
                    ran(job),
                    0,
                    "refused job {job} ({reason:?}) must never run; {round}"
                );
                assert_eq!(
                    outcomes[job], 0,
                    "refused job {job} has no outcome; {round}"
                );
                match reason {
                    Reason::Stopped => {
                        stopped_refusals += 1;
                        assert!(
                            s.ways[job] == Way::OrStop && marks.stopping.load(Ordering::Acquire),
                            "job {job} refused as stopped, but it used {:?} or no stop had fired; {round}",
                            s.ways[job]
                        );
                    }
                    Reason::NoWorkers => {
                        no_workers += 1;
                        assert!(
                            all_died,
                            "job {job} refused for no workers while {} of {} live; {round}",
                            s.workers - panicked,
                            s.workers
                        );
                    }
                }
            }
            Ok(()) => {
                accepted += 1;
                assert!(
                    !(stopped_before && s.ways[job] == Way::OrStop),
                    "job {job} got in through submit_or_stop after the stop signal had fired; {round}"
                );
                match (outcomes[job], &status_of[job]) {
                    (1, Some(status)) => {
                        let fits = match status {
                            Status::Completed => {
                                matches!(plans[job], Plan::Succeed | Plan::Slow) && ran(job) == 1
                            }
                            Status::Failed(_) => plans[job] == Plan::Fail && ran(job) == 1,
                            Status::Cancelled => stop_now_fired && ran(job) == 0,
                        };
                        assert!(
                            fits,
                            "job {job} planned {:?} ran {} times and ended {status:?} (stop-now fired: {stop_now_fired}); {round}",
                            plans[job],
                            ran(job)
                        );
                        if stopped_now_before {
                            assert_eq!(
                                *status,
                                Status::Cancelled,
                                "job {job} was accepted after stop-now, so it must not run; {round}"
                            );
                        }
                    }
                    (0, _) => {
                        lost += 1;
                        // Its worker died running it, or every worker died and it was left in
                        // the queue (lesson 3 does not catch panics; lesson 7 does).
                        let explained = (plans[job] == Plan::Panic && ran(job) == 1)
                            || (all_died && ran(job) == 0);
                        assert!(
                            explained,
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
    if !all_died {
        assert_eq!(
            lost, panicked,
            "with a worker left, only the panicking jobs are lost; {round}"
        );
    }
    if !stop_now_fired {
        assert_eq!(
            report.cancelled(),
            0,
            "nothing is cancelled without stop-now; {round}"
        );
    }
    assert_eq!(
        report.completed() + report.failed() + report.cancelled() + lost,
        accepted,
        "every accepted job ended one way; {round}"
    );
    if let Err(left) = threads_settle(threads_before, Duration::from_secs(10)) {
        panic!(
            "{left} threads still running 10 s after shutdown, {threads_before} before the pool started: a worker or helper thread was not joined; {round}"
        );
    }
    // ANCHOR_END: checks

    tally.add("jobs", jobs as u64);
    tally.add("accepted", accepted as u64);
    tally.add("done", report.completed() as u64);
    tally.add("failed", report.failed() as u64);
    tally.add("cancelled", report.cancelled() as u64);
    tally.add("panicked (worker died)", panicked as u64);
    tally.add(
        "lost in queue when every worker died",
        (lost - panicked) as u64,
    );
    tally.add("refused stopped", stopped_refusals);
    tally.add("refused no workers", no_workers);
    tally.add("rounds where every worker died", u64::from(all_died));
    tally.add(
        "stop signals",
        u64::from(marks.stopping.load(Ordering::Acquire)),
    );
    tally.add(
        "stop-now from the handle",
        u64::from(marks.stopping_now.load(Ordering::Acquire)),
    );
    tally.add("ended with shutdown_now", u64::from(s.end_now));
}

#[test]
fn a_million_jobs_with_faults_and_stops_at_random_moments_are_each_accounted_for_once() {
    quiet_planted_panics();
    let stress = Stress::from_env();
    let tally = run_rounds(
        "lesson 3",
        "a submitter or the shutdown is stuck: a queue nobody drains, or a worker never joined",
        &stress,
        run_round,
    );
    // A long run must have met every fault; a replay of one round need not.
    assert!(
        stress.rounds < 10
            || (tally.get("cancelled") > 0
                && tally.get("refused stopped") > 0
                && tally.get("panicked (worker died)") > 0),
        "the run should exercise stop-now, the stop signal and panics: {tally}"
    );
}
