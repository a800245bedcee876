//! Lesson 7's `submit_all` under seeded faults: rounds in which one to three submitters hand
//! the pool chunks of random size (from one job to several batches), failures, panics and slow
//! jobs mixed in, and a close from another thread at a random moment, often in the middle of a
//! chunk, followed by a drain or an abort. Afterwards every chunk was accepted up to some job
//! and handed back from it on, in order; every accepted job ran once or came back once; the
//! metrics agree with the test's own counts; and no thread is left running.

use lesson_7::{Pool, Reason, Stop};
use rand::RngExt as _;
use reliability::{
    PLANTED_PANIC, ROUND_LIMIT, Round, Stress, Tally, quiet_planted_panics, run_rounds,
    threads_now, threads_settle,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// What a job will do when it runs, drawn from the round's seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    Succeed,
    Fail,
    Panic,
    /// Spins for a few microseconds, so the queue fills and `submit_all` waits for room.
    Slow,
}

/// One `submit_all` call: the jobs it was given, and how many it accepted or what came back.
type Call = (Vec<usize>, Result<usize, (Reason, Vec<usize>)>);

fn spin(d: Duration) {
    let start = Instant::now();
    while start.elapsed() < d {
        std::hint::spin_loop();
    }
}

fn run_round(round: Round, tally: &mut Tally) {
    let mut rng = round.rng();
    let jobs = round.jobs;
    let workers = rng.random_range(1..=4);
    let queue = rng.random_range(1..=8);
    let submitters = rng.random_range(1..=3);
    let fail_permille = rng.random_range(0..=200);
    let slow_permille = rng.random_range(0..=300);
    let plans: Vec<Plan> = (0..jobs)
        .map(|_| match rng.random_range(0..1000) {
            0..5 => Plan::Panic,
            n if n < 5 + slow_permille => Plan::Slow,
            n if n < 5 + slow_permille + fail_permille => Plan::Fail,
            _ => Plan::Succeed,
        })
        .collect();
    // Each submitter's jobs, cut into chunks from one job to a little over two batches.
    let chunks: Vec<Vec<Vec<usize>>> = (0..submitters)
        .map(|t| {
            let mine: Vec<usize> = (t..jobs).step_by(submitters).collect();
            let mut cut = Vec::new();
            let mut rest = &mine[..];
            while !rest.is_empty() {
                let size = rng.random_range(1..=600).min(rest.len());
                cut.push(rest[..size].to_vec());
                rest = &rest[size..];
            }
            cut
        })
        .collect();
    // The pool closes once this many jobs have been handed to `submit_all` calls that returned.
    let close_after = if rng.random_ratio(1, 8) {
        jobs
    } else {
        rng.random_range(0..jobs)
    };
    let abort = rng.random_bool(0.5);

    let threads_before = threads_now();
    let plans = Arc::new(plans);
    let runs: Arc<Vec<AtomicU8>> = Arc::new((0..jobs).map(|_| AtomicU8::new(0)).collect());
    let pool = {
        let (plans, runs) = (Arc::clone(&plans), Arc::clone(&runs));
        Pool::builder()
            .workers(workers)
            .queue(queue)
            .build(move |job: &usize, _| {
                runs[*job].fetch_add(1, Ordering::Relaxed);
                match plans[*job] {
                    Plan::Succeed => Ok(()),
                    Plan::Fail => Err("planned failure".into()),
                    Plan::Panic => panic!("{}", PLANTED_PANIC),
                    Plan::Slow => {
                        spin(Duration::from_micros(5 + (*job % 20) as u64));
                        Ok(())
                    }
                }
            })
            .expect("the round's configuration is valid")
    };
    let pool = Arc::new(pool);
    let handed = Arc::new(AtomicUsize::new(0));

    let closer = {
        let (pool, handed) = (Arc::clone(&pool), Arc::clone(&handed));
        std::thread::spawn(move || {
            let give_up = Instant::now() + ROUND_LIMIT;
            while handed.load(Ordering::Acquire) < close_after
                && Arc::strong_count(&pool) > 1
                && Instant::now() < give_up
            {
                std::thread::sleep(Duration::from_micros(10));
            }
            pool.close();
            while Arc::strong_count(&pool) > 1 {
                std::thread::sleep(Duration::from_micros(10));
            }
            let pool = Arc::into_inner(pool).expect("the submitters have let go");
            pool.shutdown(if abort { Stop::Abort } else { Stop::Drain }, None)
        })
    };
    let calls: Vec<Call> = std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|mine| {
                let (pool, handed) = (Arc::clone(&pool), Arc::clone(&handed));
                scope.spawn(move || {
                    let mut seen = Vec::with_capacity(mine.len());
                    for chunk in mine {
                        let result = pool
                            .submit_all(chunk.iter().copied())
                            .map_err(|rejected| (rejected.reason, rejected.job));
                        handed.fetch_add(chunk.len(), Ordering::Release);
                        seen.push((chunk, result));
                    }
                    seen
                })
            })
            .collect();
        drop(pool);
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a submitter does not panic"))
            .collect()
    });
    let report = closer.join().expect("the closer does not panic");

    let m = &report.metrics;
    let mut returned = vec![0u32; jobs];
    for &job in &report.returned {
        returned[job] += 1;
    }
    let (mut accepted, mut refused, mut ran) = (0u64, 0u64, [0u64; 4]);
    let mut offered = vec![false; jobs];
    for (chunk, result) in &calls {
        let taken = match result {
            Ok(n) => {
                assert_eq!(
                    *n,
                    chunk.len(),
                    "an Ok from submit_all must count every job it was given; {round}"
                );
                *n
            }
            Err((reason, back)) => {
                assert_eq!(
                    *reason,
                    Reason::Closed,
                    "with no breaker, only a close refuses; {round}"
                );
                assert!(
                    !back.is_empty() && back[..] == chunk[chunk.len() - back.len()..],
                    "what comes back must be the chunk's tail, in order: {} jobs came back \
                     ({:?} to {:?}) from a chunk of {} ({:?} to {:?}); {round}",
                    back.len(),
                    back.first(),
                    back.last(),
                    chunk.len(),
                    chunk.first(),
                    chunk.last()
                );
                refused += back.len() as u64;
                chunk.len() - back.len()
            }
        };
        for (i, &job) in chunk.iter().enumerate() {
            offered[job] = true;
            let (runs, back) = (runs[job].load(Ordering::Relaxed), returned[job]);
            if i < taken {
                accepted += 1;
                assert!(
                    (runs, back) == (1, 0) || (abort && (runs, back) == (0, 1)),
                    "accepted job {job} ran {runs} times and came back {back} times: it must \
                     run once, or, after an abort, come back once unstarted; {round}"
                );
                if runs == 1 {
                    ran[plans[job] as usize] += 1;
                }
            } else {
                assert_eq!(
                    (runs, back),
                    (0, 0),
                    "refused job {job} must neither run nor come back in the report; {round}"
                );
            }
        }
    }
    assert!(
        offered.iter().all(|&o| o),
        "every job was offered once; {round}"
    );
    assert_eq!(
        m.submitted, accepted,
        "submitted counts accepted jobs; {round}"
    );
    assert_eq!(
        m.rejected(Reason::Closed),
        refused,
        "each refused job is counted once, as closed; {round}"
    );
    assert_eq!(
        (m.completed, m.failed, m.panicked),
        (
            ran[Plan::Succeed as usize] + ran[Plan::Slow as usize],
            ran[Plan::Fail as usize],
            ran[Plan::Panic as usize]
        ),
        "the metrics agree with what the jobs that ran were planned to do; {round}"
    );
    assert_eq!(
        m.cancelled,
        report.returned.len() as u64,
        "every cancelled job is handed back; {round}"
    );
    assert_eq!(
        m.submitted,
        m.completed + m.failed + m.panicked + m.cancelled,
        "every accepted job ended exactly one way; {round}"
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
    if !abort {
        assert_eq!(m.cancelled, 0, "a drain cancels nothing; {round}");
    }
    if let Err(left) = threads_settle(threads_before, Duration::from_secs(10)) {
        panic!(
            "{left} threads still running 10 s after shutdown, {threads_before} before the pool \
             started: a worker was not joined; {round}"
        );
    }

    tally.add("jobs", jobs as u64);
    tally.add("submit_all calls", calls.len() as u64);
    tally.add("accepted", accepted);
    tally.add("refused closed", refused);
    tally.add(
        "calls cut short by the close",
        calls
            .iter()
            .filter(|(chunk, r)| r.as_ref().is_err_and(|(_, b)| b.len() < chunk.len()))
            .count() as u64,
    );
    tally.add("panicked", m.panicked);
    tally.add("cancelled", m.cancelled);
    tally.add(
        if abort {
            "ending abort"
        } else {
            "ending drain"
        },
        1,
    );
}

#[test]
fn submit_all_under_faults_and_a_random_close_accounts_for_every_job_once() {
    quiet_planted_panics();
    let stress = Stress::from_env();
    let tally = run_rounds(
        "lesson 7, submit_all",
        "submit_all or the shutdown is stuck: a batch sent to a queue nobody drains, or a worker \
         never joined",
        &stress,
        run_round,
    );
    assert!(
        stress.rounds < 10
            || tally.get("panicked") > 0
                && tally.get("cancelled") > 0
                && tally.get("calls cut short by the close") > 0,
        "the run should exercise panics, cancellations and calls cut short by a close: {tally}"
    );
}
