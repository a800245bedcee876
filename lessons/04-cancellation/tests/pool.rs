//! The promises lesson 4's pool keeps: cancellation reaches idle workers, running jobs and a
//! waiting `submit`, and every job ends in exactly one state however the pool ends.

use course_support::testing::{Gauge, RunCounts, within};
use lesson_4::{
    CancelToken, Cause, Config, Ctx, Interrupted, Job, JobError, Outcome, Pool, Reason, Report,
    Status, simulate,
};
use rand::{RngExt as _, SeedableRng as _, rngs::StdRng};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(10);
const HANG: &str = "does a worker (or submit) wait on the queue without also waiting on the token?";

fn jobs(n: u64) -> Vec<Job> {
    (1..=n)
        .map(|id| Job {
            id,
            work: Duration::ZERO,
            fails: false,
            stuck: false,
        })
        .collect()
}

fn config(workers: usize) -> Config {
    Config {
        workers,
        capacity: workers,
        ..Config::default()
    }
}

/// What a batch came to: the pool's report, and the jobs `submit` handed back.
struct Run {
    report: Report<Job>,
    refused: Vec<Job>,
}

/// Submits a batch one job at a time, as the demo does, then shuts the pool down; all within a
/// bound, so a pool that never finishes fails the test instead of hanging it.
fn run_within<F>(config: Config, jobs: Vec<Job>, handler: F) -> Run
where
    F: Fn(&Job, &Ctx) -> Result<(), JobError> + Send + Sync + 'static,
{
    within(LIMIT, "the batch", HANG, move || {
        let pool = Pool::new(config, move |_worker, job: &Job, ctx| handler(job, ctx));
        let mut refused = Vec::new();
        for job in jobs {
            if let Err(rejected) = pool.submit(job) {
                assert_eq!(rejected.reason, Reason::Cancelled);
                refused.push(rejected.into_inner());
            }
        }
        Run {
            report: pool.shutdown(),
            refused,
        }
    })
}

/// Every job id appears exactly once, in the report or among the refused, and the four counts
/// add up to the jobs the pool accepted.
fn assert_accounted(run: &Run, n: u64) {
    let report = &run.report;
    let mut ids: Vec<u64> = report.outcomes.iter().map(|o| o.job.id).collect();
    ids.extend(run.refused.iter().map(|job| job.id));
    ids.sort();
    assert_eq!(
        ids,
        (1..=n).collect::<Vec<_>>(),
        "each job should be reported or handed back exactly once"
    );
    assert_eq!(report.lost(), 0, "no job panicked, so none may be lost");
    assert_eq!(
        report.completed() + report.failed() + report.timed_out() + report.cancelled(),
        report.submitted,
        "the counts should add up to the number of jobs the pool accepted"
    );
}

/// The outcome of the job with this id.
fn outcome_of(report: &Report<Job>, id: u64) -> &Outcome<Job> {
    report
        .outcomes
        .iter()
        .find(|o| o.job.id == id)
        .unwrap_or_else(|| panic!("job {id} has no outcome"))
}

#[test]
fn every_job_runs_exactly_once() {
    let counts = Arc::new(RunCounts::new());
    let seen = Arc::clone(&counts);
    let run = run_within(config(4), jobs(300), move |job, _| {
        seen.ran(job.id);
        Ok(())
    });
    counts.assert_each_ran_once(1..=300);
    assert_eq!(run.report.completed(), 300);
    assert_eq!(run.report.cause, None);
    assert_accounted(&run, 300);
}

#[test]
fn no_more_than_workers_jobs_run_at_once_and_the_pool_gets_there() {
    for workers in [1, 3, 5] {
        let gauge = Arc::new(Gauge::new());
        let short = Arc::new(AtomicBool::new(false));
        let (inside, fell_short) = (Arc::clone(&gauge), Arc::clone(&short));
        run_within(config(workers), jobs(4 * workers as u64), move |_, _| {
            let _running = inside.enter();
            if !inside.wait_for_peak(workers, Duration::from_secs(5)) {
                fell_short.store(true, Ordering::SeqCst);
            }
            Ok(())
        });
        assert!(
            gauge.max() <= workers,
            "{} ran at once with {workers} workers",
            gauge.max()
        );
        assert!(
            !short.load(Ordering::SeqCst),
            "{workers} workers never ran {workers} jobs at once (peak {})",
            gauge.max()
        );
    }
}

#[test]
fn a_worker_starts_no_job_after_it_observes_cancellation() {
    // One worker, and job 5 cancels the pool from inside: the worker must not start job 6.
    // (Repeated, because a worker that trusted `select!` alone would start job 6 about half the
    // time: with a job queued and the token cancelled, both branches are ready.)
    for _ in 0..20 {
        let started = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&started);
        let run = run_within(config(1), jobs(20), move |job, ctx| {
            log.lock().unwrap().push(job.id);
            if job.id == 5 {
                ctx.token.cancel(Cause::Requested);
            }
            Ok(())
        });
        assert_eq!(
            *started.lock().unwrap(),
            [1, 2, 3, 4, 5],
            "jobs started after the cancel"
        );
        assert_eq!(run.report.cancelled() + run.refused.len(), 15);
        for id in 6..=run.report.submitted as u64 {
            assert_eq!(
                outcome_of(&run.report, id).status,
                Status::Cancelled { started: false }
            );
        }
        assert_accounted(&run, 20);
    }
}

#[test]
fn with_several_workers_only_jobs_already_taken_can_start_after_a_cancel() {
    // Job 10 cancels the pool. The worker that ran it starts nothing more; each other worker
    // may have been between taking a job and starting it, so at most one more job each.
    for _ in 0..20 {
        let after_cancel = Arc::new(AtomicUsize::new(0));
        let cancelled = Arc::new(AtomicBool::new(false));
        let (late, flag) = (Arc::clone(&after_cancel), Arc::clone(&cancelled));
        let run = run_within(config(3), jobs(60), move |job, ctx| {
            if flag.load(Ordering::SeqCst) {
                late.fetch_add(1, Ordering::SeqCst);
            }
            if job.id == 10 {
                flag.store(true, Ordering::SeqCst);
                ctx.token.cancel(Cause::Requested);
            }
            Ok(())
        });
        let late = after_cancel.load(Ordering::SeqCst);
        assert!(
            late <= 2,
            "{late} jobs started after the cancel with 3 workers"
        );
        assert_accounted(&run, 60);
    }
}

#[test]
fn a_stuck_job_times_out_and_the_pool_goes_on() {
    let mut batch = jobs(6);
    batch[2].stuck = true;
    let config = Config {
        job_timeout: Some(Duration::from_millis(50)),
        ..config(2)
    };
    let run = run_within(config, batch, simulate);
    assert_eq!(outcome_of(&run.report, 3).status, Status::TimedOut);
    assert_eq!((run.report.completed(), run.report.timed_out()), (5, 1));
    assert_eq!(
        run.report.cause, None,
        "a timeout is the job's, not the pool's"
    );
}

#[test]
fn a_job_that_ignores_its_deadline_is_still_reported_timed_out() {
    // This job never looks at ctx: it cannot be interrupted, but its late answer is not
    // counted as done. (100 ms of sleep always exceeds a 10 ms limit.)
    let config = Config {
        job_timeout: Some(Duration::from_millis(10)),
        ..config(1)
    };
    let run = run_within(config, jobs(1), |_, _| {
        std::thread::sleep(Duration::from_millis(100));
        Ok(())
    });
    assert_eq!(run.report.outcomes[0].status, Status::TimedOut);
}

#[test]
fn the_deadline_cancels_running_and_waiting_jobs() {
    let batch: Vec<Job> = jobs(10)
        .into_iter()
        .map(|j| Job { stuck: true, ..j })
        .collect();
    let config = Config {
        deadline: Some(Duration::from_millis(50)),
        ..config(2)
    };
    let run = run_within(config, batch, simulate);
    let report = &run.report;
    assert_eq!(report.cause, Some(Cause::Deadline));
    let running = report
        .outcomes
        .iter()
        .filter(|o| o.status == Status::Cancelled { started: true })
        .count();
    assert_eq!(
        running, 2,
        "both workers were inside a stuck job when the deadline passed"
    );
    assert_eq!(report.cancelled() + run.refused.len(), 10);
    assert_accounted(&run, 10);
}

#[test]
fn the_first_error_cancels_the_rest() {
    let mut batch = jobs(30);
    batch[6].fails = true;
    let config = Config {
        cancel_on_error: true,
        ..config(1)
    };
    let run = run_within(config, batch, simulate);
    let report = &run.report;
    assert_eq!(report.cause, Some(Cause::FirstError { job: 7 }));
    assert_eq!(
        (
            report.completed(),
            report.failed(),
            report.cancelled() + run.refused.len()
        ),
        (6, 1, 23)
    );
    assert_accounted(&run, 30);
}

#[test]
fn without_cancel_on_error_a_failure_is_only_that_jobs() {
    let mut batch = jobs(10);
    batch[3].fails = true;
    let run = run_within(config(2), batch, simulate);
    assert_eq!(
        (
            run.report.completed(),
            run.report.failed(),
            run.report.cause
        ),
        (9, 1, None)
    );
}

#[test]
fn counts_add_up_under_random_cancellation_points() {
    let mut rng = StdRng::seed_from_u64(2024);
    for round in 0..300 {
        let n: u64 = rng.random_range(0..40);
        let workers = rng.random_range(1..6);
        let cancel_in: u64 = rng.random_range(1..50); // may be past the last job: no cancel
        let batch: Vec<Job> = (1..=n)
            .map(|id| Job {
                id,
                work: Duration::from_micros(rng.random_range(0..300)),
                fails: rng.random_range(0..10) == 0,
                stuck: rng.random_range(0..20) == 0,
            })
            .collect();
        let config = Config {
            workers,
            capacity: rng.random_range(1..6),
            job_timeout: Some(Duration::from_millis(20)),
            deadline: None,
            cancel_on_error: rng.random_bool(0.3),
        };
        let run = run_within(config, batch, move |job, ctx| {
            if job.id == cancel_in {
                ctx.token.cancel(Cause::Requested);
            }
            simulate(job, ctx)
        });
        let mut ids: Vec<u64> = run.report.outcomes.iter().map(|o| o.job.id).collect();
        ids.extend(run.refused.iter().map(|job| job.id));
        ids.sort();
        assert_eq!(
            ids,
            (1..=n).collect::<Vec<_>>(),
            "round {round}: a job went missing or twice"
        );
        assert_accounted(&run, n);
    }
}

#[test]
fn a_job_can_check_for_cancellation_between_steps() {
    let token = CancelToken::new();
    let ctx = Ctx {
        token: &token,
        deadline: None,
    };
    assert_eq!(ctx.check(), Ok(()));
    token.cancel(Cause::Requested);
    assert_eq!(ctx.check(), Err(Interrupted::Cancelled));
    assert_eq!(
        ctx.sleep(Duration::from_secs(60)),
        Err(Interrupted::Cancelled),
        "sleep must not wait once cancelled"
    );
    assert!(!token.cancel(Cause::Deadline), "the first reason wins");
    assert_eq!(token.cause(), Some(Cause::Requested));
    let err: JobError = Interrupted::TimedOut.into();
    assert_eq!(err, JobError::Interrupted(Interrupted::TimedOut));
}

#[test]
fn a_panicking_job_cancels_the_pool_instead_of_hanging_it() {
    // One worker, a queue of one, and a submitter waiting for room: when the worker dies,
    // nobody is left to make room. Submit must give up, and shutdown must report the loss.
    std::panic::set_hook(Box::new(|_| {}));
    let (report, refused) = within(
        LIMIT,
        "a pool whose only worker panicked",
        "does a dying worker cancel the token, so that submit stops waiting for room?",
        || {
            let pool = Pool::new(config(1), |_, job: &u64, _| {
                if *job == 2 {
                    panic!("job 2 panics");
                }
                Ok(())
            });
            let refused: Vec<Reason> = (1..=50)
                .filter_map(|job| pool.submit(job).err().map(|r| r.reason))
                .collect();
            (pool.shutdown(), refused)
        },
    );
    let _ = std::panic::take_hook();
    assert_eq!(report.cause, Some(Cause::WorkerPanicked));
    assert_eq!(report.panicked_workers, 1);
    assert_eq!(report.lost(), 1, "job 2 was lost with its worker");
    assert!(
        !refused.is_empty() && refused.iter().all(|r| *r == Reason::NoWorkers),
        "jobs after the panic are handed back because no worker is left: {refused:?}"
    );
    assert_eq!(report.submitted + refused.len(), 50);
}

#[test]
fn submit_waiting_for_room_wakes_on_cancel_and_hands_the_job_back() {
    // One worker stuck in job 1, job 2 filling the queue of one: submitting job 3 waits for
    // room that never comes, until the deadline cancels the pool.
    let config = Config {
        deadline: Some(Duration::from_millis(50)),
        ..config(1)
    };
    let (rejected, report) = within(
        LIMIT,
        "a submit waiting for room in a cancelled pool",
        "does submit select! on token.done() as well as on the queue?",
        move || {
            let pool = Pool::new(config, |_, job: &Job, ctx| simulate(job, ctx));
            let stuck = |id| Job {
                stuck: true,
                ..jobs(id).pop().unwrap()
            };
            pool.submit(stuck(1)).expect("the queue has room");
            pool.submit(stuck(2)).expect("the worker takes job 1");
            let rejected = pool.submit(stuck(3)).expect_err("the pool is cancelled");
            (rejected, pool.shutdown())
        },
    );
    assert_eq!(rejected.reason, Reason::Cancelled);
    assert_eq!(rejected.into_inner().id, 3, "the job comes back untouched");
    assert_eq!(report.cause, Some(Cause::Deadline));
    assert_eq!(
        outcome_of(&report, 1).status,
        Status::Cancelled { started: true }
    );
    assert_eq!(
        outcome_of(&report, 2).status,
        Status::Cancelled { started: false }
    );
    assert_eq!(report.submitted, 2);
}

/// Starts a one-worker pool whose job 1 runs until cancelled, with jobs 2 to 5 queued behind it,
/// and returns once job 1 is running.
fn pool_with_a_running_job_and_four_queued() -> Pool<Job> {
    let (running, started) = crossbeam_channel::unbounded();
    let config = Config {
        capacity: 8,
        ..config(1)
    };
    let pool = Pool::new(config, move |_, job: &Job, ctx| {
        let _ = running.send(job.id);
        ctx.sleep(Duration::from_secs(3600))?;
        Ok(())
    });
    for job in jobs(5) {
        pool.submit(job).expect("the queue has room for all five");
    }
    assert_eq!(
        started.recv_timeout(LIMIT),
        Ok(1),
        "the worker never started job 1"
    );
    pool
}

/// Job 1 was stopped while running; jobs 2 to 5 never started, and at most one of them was
/// taken by the worker (the one `select!` may hand it after the cancel).
fn assert_one_stopped_four_never_started(report: &Report<Job>) {
    assert_eq!(
        outcome_of(report, 1).status,
        Status::Cancelled { started: true }
    );
    assert_eq!(outcome_of(report, 1).worker, Some(1));
    for id in 2..=5 {
        assert_eq!(
            outcome_of(report, id).status,
            Status::Cancelled { started: false },
            "job {id} was queued when the pool was cancelled"
        );
    }
    let taken = report
        .outcomes
        .iter()
        .filter(|o| o.worker.is_some())
        .count();
    assert!(taken <= 2, "the worker took {taken} jobs after the cancel");
    assert_eq!((report.submitted, report.outcomes.len()), (5, 5));
}

#[test]
fn shutdown_after_a_cancel_reports_queued_jobs_as_cancelled_never_started() {
    let report = within(
        LIMIT,
        "shutting down a cancelled pool",
        "does the worker's job wait through ctx.sleep, and does the worker leave on the cancel?",
        || {
            let pool = pool_with_a_running_job_and_four_queued();
            pool.token().cancel(Cause::Requested);
            pool.shutdown()
        },
    );
    assert_eq!(report.cause, Some(Cause::Requested));
    assert_one_stopped_four_never_started(&report);
}

#[test]
fn shutdown_now_cancels_the_running_job_and_reports_the_queued_ones() {
    let report = within(
        LIMIT,
        "shutdown_now",
        "does shutdown_now cancel the token before it waits for the workers?",
        || pool_with_a_running_job_and_four_queued().shutdown_now(),
    );
    assert_eq!(report.cause, Some(Cause::Requested));
    assert_one_stopped_four_never_started(&report);
}

#[test]
fn the_observer_hears_of_every_job_a_worker_took_as_it_ends() {
    let heard = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&heard);
    let report = within(LIMIT, "an observed pool", HANG, move || {
        let observe = move |o: &Outcome<u64>| log.lock().unwrap().push((o.job, o.status.clone()));
        let pool = Pool::observed(config(3), |_, _: &u64, _| Ok(()), observe);
        for job in 1..=40 {
            pool.submit(job).expect("nothing cancels this pool");
        }
        pool.shutdown()
    });
    let mut heard = heard.lock().unwrap().clone();
    heard.sort_by_key(|(job, _)| *job);
    let mut reported: Vec<(u64, Status)> = report
        .outcomes
        .iter()
        .map(|o| (o.job, o.status.clone()))
        .collect();
    reported.sort_by_key(|(job, _)| *job);
    assert_eq!(heard, reported, "the observer heard each outcome once");
}
