//! The tests for exercise 7. They run against your code in `exercises/07-first-error` and
//! against the finished version in `solutions/07-first-error`.

use course_support::testing::{Gauge, RunCounts, within};
use first_error::{CancelToken, Cause, Report, Status, run_until_first_error, worker};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(5);
const HANG: &str = "is a worker waiting on the queue without also waiting on token.done()? \
                    Is the queue closed (its sender dropped) once every job is in it? And did \
                    you drop your own results sender before collecting answers.iter()?";

/// Runs a batch with a bound: a pool that never finishes fails the test instead of hanging it.
fn run_within<F>(workers: usize, jobs: u64, work: F) -> Report
where
    F: Fn(u64, &CancelToken) -> Result<u64, String> + Send + Sync + 'static,
{
    within(LIMIT, "run_until_first_error", HANG, move || {
        run_until_first_error(workers, (1..=jobs).collect(), work)
    })
}

/// Every job appears exactly once in the report, in job order, and the counts add up.
fn assert_accounted(report: &Report, jobs: u64) {
    let ids: Vec<u64> = report.outcomes.iter().map(|(job, _)| *job).collect();
    let expected: Vec<u64> = (1..=jobs).collect();
    let missing: Vec<u64> = expected
        .iter()
        .copied()
        .filter(|j| !ids.contains(j))
        .collect();
    assert!(
        missing.is_empty(),
        "jobs {missing:?} are missing from the report: every job needs an outcome, also the ones \
         a worker took after the cancel and the ones still in the queue when the workers stopped \
         (drain the queue with try_iter() after the workers are done)"
    );
    assert_eq!(
        ids, expected,
        "the report should hold each job exactly once, sorted by job id"
    );
    assert_eq!(
        report.completed() + report.failed() + report.cancelled(),
        jobs as usize,
        "done + failed + cancelled should add up to the number of jobs"
    );
}

#[test]
fn the_worker_runs_every_job_and_stops_when_the_queue_closes() {
    let (queue, jobs) = crossbeam_channel::unbounded();
    let (results, answers) = crossbeam_channel::unbounded();
    for n in [1, 2, 3] {
        queue.send(n).unwrap();
    }
    drop(queue);
    within(
        LIMIT,
        "worker() on a closed queue",
        "does your loop end when the queue is closed and empty (recv returns Err)?",
        move || worker(jobs, &CancelToken::new(), &|n, _| Ok(n * 10), results),
    );
    let got: Vec<(u64, Status)> = answers.try_iter().collect();
    assert_eq!(
        got,
        [
            (1, Status::Completed(10)),
            (2, Status::Completed(20)),
            (3, Status::Completed(30))
        ],
        "one (job, Completed(answer)) per job, in queue order"
    );
}

#[test]
fn an_idle_worker_leaves_when_the_token_is_cancelled_although_the_queue_is_open() {
    for _ in 0..10 {
        // `queue` stays alive: the queue never closes, so only the token can end the worker.
        let (queue, jobs) = crossbeam_channel::unbounded();
        let (results, answers) = crossbeam_channel::unbounded();
        queue.send(1).unwrap();
        let token = CancelToken::new();
        let left = within(
            LIMIT,
            "an idle worker after the cancel",
            "a worker idle on an open queue must wake up when the token is cancelled: wait with \
             select! on both the queue and token.done(), not with a plain recv()",
            move || {
                std::thread::scope(|scope| {
                    let canceller = token.clone();
                    let running =
                        scope.spawn(move || worker(jobs, &token, &|n, _| Ok(n * 10), results));
                    // Once job 1 is reported, the worker is back waiting on an empty queue.
                    let first = answers.recv_timeout(LIMIT);
                    canceller.cancel(Cause::Requested);
                    if let Err(panic) = running.join() {
                        std::panic::resume_unwind(panic);
                    }
                    (first, answers.try_iter().count())
                })
            },
        );
        assert_eq!(
            left,
            (Ok((1, Status::Completed(10))), 0),
            "the worker should run job 1, then leave on the cancel with nothing more to report"
        );
        drop(queue);
    }
}

#[test]
fn a_worker_starts_no_job_once_the_token_is_cancelled() {
    // With a job queued and the token cancelled, select! picks either at random, drawing from a
    // generator that belongs to the thread. A fresh thread starts that generator afresh, so all
    // the rounds run on one thread: that way each round's choice differs.
    let rounds = within(
        LIMIT,
        "a worker with a cancelled token",
        "once the token is cancelled the worker must return, not wait for more jobs",
        || {
            let mut rounds = Vec::new();
            for _ in 0..64 {
                let (queue, jobs) = crossbeam_channel::unbounded();
                let (results, answers) = crossbeam_channel::unbounded();
                for n in 1..=3 {
                    queue.send(n).unwrap();
                }
                let token = CancelToken::new();
                token.cancel(Cause::Requested);
                let ran = AtomicUsize::new(0);
                let work = |n, _: &CancelToken| {
                    ran.fetch_add(1, Ordering::SeqCst);
                    Ok(n)
                };
                worker(jobs, &token, &work, results);
                let got: Vec<(u64, Status)> = answers.try_iter().collect();
                rounds.push((ran.load(Ordering::SeqCst), got));
                drop(queue);
            }
            rounds
        },
    );
    for (ran, got) in rounds {
        assert_eq!(
            ran, 0,
            "a job started although the token was already cancelled: select! picks at random when \
             the queue and token.done() are both ready, so check token.is_cancelled() before \
             starting the job it hands you"
        );
        assert!(
            got.is_empty() || got == [(1, Status::Cancelled)],
            "a job taken after the cancel is reported once, as Cancelled, and the worker stops \
             taking jobs; got {got:?}"
        );
    }
}

#[test]
fn every_job_runs_exactly_once_when_nothing_fails() {
    let counts = Arc::new(RunCounts::new());
    let seen = Arc::clone(&counts);
    let report = run_within(4, 200, move |n, _| {
        seen.ran(n);
        Ok(n * 2)
    });
    counts.assert_each_ran_once(1..=200);
    assert_accounted(&report, 200);
    assert_eq!(report.completed(), 200);
    assert!(
        report
            .outcomes
            .iter()
            .all(|(n, status)| *status == Status::Completed(n * 2)),
        "each outcome should be Completed(the job's answer)"
    );
    assert_eq!(report.cause, None, "nothing failed, so nothing cancelled");
}

#[test]
fn jobs_after_the_failure_are_reported_cancelled() {
    // One worker takes the jobs in order, so the outcome is exact. Repeated, because a worker
    // that trusts select! alone starts job 6 about half the time.
    for _ in 0..20 {
        let started = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&started);
        let report = run_within(1, 20, move |n, _| {
            log.lock().unwrap().push(n);
            if n == 5 {
                Err("job 5 failed".to_string())
            } else {
                Ok(n)
            }
        });
        let started = started.lock().unwrap().clone();
        assert!(
            started.len() < 20,
            "all 20 jobs ran although job 5 failed: does a failing job cancel the token \
             (token.cancel(Cause::FirstError {{ job }}))?"
        );
        assert_eq!(
            started,
            [1, 2, 3, 4, 5],
            "with one worker, jobs 1 to 5 run and nothing after the failure: select! may hand the \
             worker a job after the cancel, so check token.is_cancelled() before starting it"
        );
        assert_accounted(&report, 20);
        assert_eq!(
            report.cause,
            Some(Cause::FirstError { job: 5 }),
            "the report names the job that failed first (take it from token.cause())"
        );
        assert_eq!(
            report.outcomes[4],
            (5, Status::Failed("job 5 failed".into()))
        );
        assert!(
            report.outcomes[..4]
                .iter()
                .all(|(n, s)| *s == Status::Completed(*n)),
            "jobs 1 to 4 are done: {:?}",
            &report.outcomes[..4]
        );
        assert!(
            report.outcomes[5..]
                .iter()
                .all(|(_, s)| *s == Status::Cancelled),
            "jobs 6 to 20 never started, so each is Cancelled: {:?}",
            &report.outcomes[5..]
        );
    }
}

#[test]
fn with_several_workers_no_job_starts_after_the_failure() {
    // Jobs 1 and 2 hold their workers until the run is cancelled, so the third worker takes job
    // 3, which fails. Nobody is free before that, and nobody may start a job after it: exactly
    // jobs 1, 2 and 3 run, whatever the scheduler does.
    for _ in 0..20 {
        let started = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&started);
        let report = within(
            LIMIT,
            "a run whose jobs 1 and 2 wait for the cancel",
            "jobs 1 and 2 wait on token.done() until job 3's failure cancels the run: does a \
             failing job cancel the token, and does every job get the run's token?",
            move || {
                run_until_first_error(3, (1..=30).collect(), move |n, token| {
                    log.lock().unwrap().push(n);
                    match n {
                        1 | 2 => {
                            // Returns Err once the token is cancelled: the job's gate.
                            let _ = token.done().recv();
                            Ok(n)
                        }
                        3 => Err("job 3 failed".into()),
                        _ => Ok(n),
                    }
                })
            },
        );
        let mut started = started.lock().unwrap().clone();
        started.sort_unstable();
        assert_eq!(
            started,
            [1, 2, 3],
            "only jobs 1, 2 and 3 may start: the others were all taken after job 3 failed"
        );
        assert_accounted(&report, 30);
        assert_eq!(report.cause, Some(Cause::FirstError { job: 3 }));
        assert_eq!(
            (report.completed(), report.failed(), report.cancelled()),
            (2, 1, 27),
            "jobs 1 and 2 done, job 3 failed, the other 27 cancelled"
        );
    }
}

#[test]
fn the_report_names_the_first_error_not_a_later_one() {
    // Job 1 waits for the cancel and then fails too: job 2 failed first, and stays the cause.
    let report = run_within(2, 10, |n, token| match n {
        1 => {
            let _ = token.done().recv();
            Err("job 1 gave up after the cancel".into())
        }
        2 => Err("job 2 failed".into()),
        _ => Ok(n),
    });
    assert_eq!(
        report.cause,
        Some(Cause::FirstError { job: 2 }),
        "the cause is the first failure; a later one must not replace it"
    );
    assert_eq!(report.failed(), 2, "both failures are reported as failed");
    assert_accounted(&report, 10);

    // The same with the ids the other way round: job 10 is taken first and fails late, job 1
    // fails first. The cause is whichever failed first in time, not the lowest or highest id.
    let report = within(
        LIMIT,
        "a run whose job 10 waits for the cancel",
        HANG,
        || {
            run_until_first_error(2, vec![10, 1, 2, 3], |n, token| match n {
                10 => {
                    let _ = token.done().recv();
                    Err("job 10 gave up after the cancel".into())
                }
                1 => Err("job 1 failed".into()),
                _ => Ok(n),
            })
        },
    );
    assert_eq!(
        report.cause,
        Some(Cause::FirstError { job: 1 }),
        "job 1 failed first and job 10 only after the cancel: the cause is the failure that \
         came first in time (token.cause() keeps it), not the first or last in the report"
    );
    assert_eq!(
        report.outcomes.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        [1, 2, 3, 10],
        "the report is sorted by job id, whatever order the jobs came in"
    );
}

#[test]
fn a_job_that_panics_is_not_lost() {
    // Job 3 panics. The run may pass the panic on to its caller, or report job 3 as failed;
    // it must not hang, and must not return a report that leaves job 3 out.
    let outcome = within(
        LIMIT,
        "a run whose job 3 panics",
        "a worker that panics drops its results sender; does the run still end (collect with \
         answers.iter(), and let std::thread::scope pass the panic on)?",
        || {
            std::panic::catch_unwind(|| {
                run_until_first_error(2, (1..=6).collect(), |n, _| {
                    if n == 3 {
                        panic!("job 3 panics");
                    }
                    Ok(n)
                })
            })
        },
    );
    if let Ok(report) = outcome {
        assert!(
            report
                .outcomes
                .iter()
                .any(|(n, s)| *n == 3 && matches!(s, Status::Failed(_))),
            "job 3 panicked, yet the run returned a report without job 3 as failed: {report:?}. \
             Don't swallow a worker's panic: let std::thread::scope pass it on (or report the \
             job as Failed)"
        );
        assert_accounted(&report, 6);
    }
}

#[test]
fn zero_workers_is_refused() {
    let outcome = within(
        LIMIT,
        "run_until_first_error with 0 workers",
        "with 0 workers nobody takes a job: refuse it with assert!(workers > 0, ...) first",
        || std::panic::catch_unwind(|| run_until_first_error(0, vec![1, 2], |n, _| Ok(n))),
    );
    assert!(
        outcome.is_err(),
        "run_until_first_error(0, ..) returned {:?}: a pool of 0 workers should panic \
         (assert!(workers > 0, ...)), as its documentation says",
        outcome.ok()
    );
}

#[test]
fn counts_add_up_wherever_the_first_failure_comes() {
    // A small seeded generator, so a failing round can be replayed.
    let mut state: u64 = 7;
    let mut next = move |below: u64| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) % below
    };
    for round in 0..100 {
        let jobs = next(40);
        let workers = 1 + next(4) as usize;
        let failing: Vec<u64> = (1..=jobs).filter(|_| next(8) == 0).collect();
        let started = Arc::new(Mutex::new(Vec::new()));
        let late = Arc::new(AtomicUsize::new(0));
        let (log, late_starts, fails) = (Arc::clone(&started), Arc::clone(&late), failing.clone());
        let report = run_within(workers, jobs, move |n, token| {
            log.lock().unwrap().push(n);
            // The worker checked the token just before calling: only a cancel landing in
            // between (by another worker) can make this true.
            if token.is_cancelled() {
                late_starts.fetch_add(1, Ordering::SeqCst);
            }
            if fails.contains(&n) {
                Err(format!("job {n} failed"))
            } else {
                Ok(n)
            }
        });
        assert_accounted(&report, jobs);
        let ran: Vec<u64> = report
            .outcomes
            .iter()
            .filter(|(_, s)| *s != Status::Cancelled)
            .map(|(n, _)| *n)
            .collect();
        let mut started = started.lock().unwrap().clone();
        started.sort_unstable();
        assert_eq!(
            started, ran,
            "round {round}: the jobs that started should be exactly the ones reported done or \
             failed, each once; every other job is Cancelled and never starts"
        );
        let late = late.load(Ordering::SeqCst);
        assert!(
            late < workers,
            "round {round}: {late} jobs started after the cancel with {workers} workers: check \
             token.is_cancelled() after taking a job and before starting it"
        );
        match report.cause {
            None => assert!(
                failing.is_empty() && report.completed() == jobs as usize,
                "round {round}: no cause given, yet jobs {failing:?} fail: {report:?}"
            ),
            Some(Cause::FirstError { job }) => assert!(
                report
                    .outcomes
                    .contains(&(job, Status::Failed(format!("job {job} failed")))),
                "round {round}: the reason names job {job}, which did not fail: {report:?}"
            ),
            Some(other) => panic!(
                "round {round}: the reason should be Cause::FirstError {{ job }} naming the job \
                 that failed first, not {other:?}"
            ),
        }
    }
}

#[test]
fn the_workers_run_side_by_side() {
    for workers in [1, 3] {
        let gauge = Arc::new(Gauge::new());
        let short = Arc::new(AtomicBool::new(false));
        let (inside, fell_short) = (Arc::clone(&gauge), Arc::clone(&short));
        run_within(workers, 4 * workers as u64, move |n, _| {
            let _running = inside.enter();
            if !fell_short.load(Ordering::SeqCst) && !inside.wait_for_peak(workers, LIMIT / 2) {
                fell_short.store(true, Ordering::SeqCst);
            }
            Ok(n)
        });
        assert!(
            gauge.max() <= workers,
            "{} jobs ran at once with {workers} workers: start `workers` threads, not one per job",
            gauge.max()
        );
        assert!(
            !short.load(Ordering::SeqCst),
            "with {workers} workers only {} jobs ever ran at once: do all the workers run at the \
             same time, taking from one shared queue?",
            gauge.max()
        );
    }
}

#[test]
fn no_jobs_means_an_empty_report() {
    let report = run_within(2, 0, |n, _| Ok(n));
    assert!(report.outcomes.is_empty());
    assert_eq!(report.cause, None);
}
