//! The promises lesson 4's pool keeps: cancellation reaches idle workers and running jobs, and
//! every job ends in exactly one state however the run ends.

use course_support::testing::{Gauge, RunCounts, within};
use lesson_4::{
    CancelToken, Cause, Config, Ctx, Interrupted, Job, JobError, Report, Status, run, run_queue,
    simulate,
};
use rand::{RngExt as _, SeedableRng as _, rngs::StdRng};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(10);
const HANG: &str = "does a worker wait on the queue without also waiting on the token?";

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
        ..Config::default()
    }
}

/// Runs a batch with a bound: a pool that never finishes fails the test instead of hanging it.
fn run_within<F>(config: Config, jobs: Vec<Job>, token: CancelToken, work: F) -> Report
where
    F: Fn(&Job, &Ctx) -> Result<u64, JobError> + Send + Sync + 'static,
{
    within(LIMIT, "the run", HANG, move || {
        run(&config, jobs, &token, work, |_| {})
    })
}

/// Every job id appears exactly once in the report, and the four counts add up.
fn assert_accounted(report: &Report, n: u64) {
    let ids: Vec<u64> = report.outcomes.iter().map(|o| o.job).collect();
    assert_eq!(
        ids,
        (1..=n).collect::<Vec<_>>(),
        "each job should be reported exactly once"
    );
    assert_eq!(
        report.completed() + report.failed() + report.timed_out() + report.cancelled(),
        n as usize,
        "the counts should add up to the number of jobs"
    );
}

#[test]
fn every_job_runs_exactly_once() {
    let counts = Arc::new(RunCounts::new());
    let seen = Arc::clone(&counts);
    let report = run_within(config(4), jobs(300), CancelToken::new(), move |job, _| {
        seen.ran(job.id);
        Ok(job.id)
    });
    counts.assert_each_ran_once(1..=300);
    assert_eq!(report.completed(), 300);
    assert_eq!(report.cause, None);
}

#[test]
fn no_more_than_workers_jobs_run_at_once_and_the_pool_gets_there() {
    for workers in [1, 3, 5] {
        let gauge = Arc::new(Gauge::new());
        let short = Arc::new(AtomicBool::new(false));
        let (inside, fell_short) = (Arc::clone(&gauge), Arc::clone(&short));
        run_within(
            config(workers),
            jobs(4 * workers as u64),
            CancelToken::new(),
            move |job, _| {
                let _running = inside.enter();
                if !inside.wait_for_peak(workers, Duration::from_secs(5)) {
                    fell_short.store(true, Ordering::SeqCst);
                }
                Ok(job.id)
            },
        );
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
fn cancellation_wakes_workers_blocked_on_an_empty_queue() {
    // The sender stays alive, so the queue never closes: only the token can end this run.
    let (queue, taken) = crossbeam_channel::bounded::<Job>(4);
    let token = CancelToken::new();
    let canceller = token.clone();
    let outcomes = within(
        LIMIT,
        "a cancelled pool of idle workers",
        "an idle worker must select! on token.done() as well as on the queue",
        move || {
            let handle =
                std::thread::spawn(move || run_queue(&config(4), taken, &token, simulate, |_| {}));
            canceller.cancel(Cause::Requested);
            handle.join().unwrap()
        },
    );
    assert!(outcomes.is_empty(), "no job was ever queued");
    drop(queue);
}

#[test]
fn a_worker_starts_no_job_after_it_observes_cancellation() {
    // One worker, and job 5 cancels the run from inside: the worker must not start job 6.
    // (Repeated, because a worker that trusted `select!` alone would start job 6 about half the
    // time: with a job queued and the token cancelled, both branches are ready.)
    for _ in 0..20 {
        let started = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&started);
        let report = run_within(config(1), jobs(20), CancelToken::new(), move |job, ctx| {
            log.lock().unwrap().push(job.id);
            if job.id == 5 {
                ctx.token.cancel(Cause::Requested);
            }
            Ok(job.id)
        });
        assert_eq!(
            *started.lock().unwrap(),
            [1, 2, 3, 4, 5],
            "jobs started after the cancel"
        );
        assert_eq!(report.cancelled(), 15);
        assert!(
            report.outcomes[5..]
                .iter()
                .all(|o| o.status == Status::Cancelled { started: false })
        );
        assert_accounted(&report, 20);
    }
}

#[test]
fn with_several_workers_only_jobs_already_taken_can_start_after_a_cancel() {
    // Job 10 cancels the run. The worker that ran it starts nothing more; each other worker may
    // have been between taking a job and starting it, so at most one more job each.
    for _ in 0..20 {
        let after_cancel = Arc::new(AtomicUsize::new(0));
        let cancelled = Arc::new(AtomicBool::new(false));
        let (late, flag) = (Arc::clone(&after_cancel), Arc::clone(&cancelled));
        let report = run_within(config(3), jobs(60), CancelToken::new(), move |job, ctx| {
            if flag.load(Ordering::SeqCst) {
                late.fetch_add(1, Ordering::SeqCst);
            }
            if job.id == 10 {
                flag.store(true, Ordering::SeqCst);
                ctx.token.cancel(Cause::Requested);
            }
            Ok(job.id)
        });
        let late = after_cancel.load(Ordering::SeqCst);
        assert!(
            late <= 2,
            "{late} jobs started after the cancel with 3 workers"
        );
        assert_accounted(&report, 60);
    }
}

#[test]
fn a_stuck_job_times_out_and_the_run_goes_on() {
    let mut batch = jobs(6);
    batch[2].stuck = true;
    let config = Config {
        workers: 2,
        job_timeout: Some(Duration::from_millis(50)),
        ..Config::default()
    };
    let report = run_within(config, batch, CancelToken::new(), simulate);
    assert_eq!(report.outcomes[2].status, Status::TimedOut);
    assert_eq!((report.completed(), report.timed_out()), (5, 1));
    assert_eq!(report.cause, None, "a timeout is the job's, not the run's");
}

#[test]
fn a_job_that_ignores_its_deadline_is_still_reported_timed_out() {
    // This job never looks at ctx: it cannot be interrupted, but its late answer is not
    // counted as done. (100 ms of sleep always exceeds a 10 ms limit.)
    let config = Config {
        workers: 1,
        job_timeout: Some(Duration::from_millis(10)),
        ..Config::default()
    };
    let report = run_within(config, jobs(1), CancelToken::new(), |job, _| {
        std::thread::sleep(Duration::from_millis(100));
        Ok(job.id)
    });
    assert_eq!(report.outcomes[0].status, Status::TimedOut);
}

#[test]
fn the_deadline_cancels_running_and_waiting_jobs() {
    let batch: Vec<Job> = jobs(10)
        .into_iter()
        .map(|j| Job { stuck: true, ..j })
        .collect();
    let config = Config {
        workers: 2,
        deadline: Some(Duration::from_millis(50)),
        ..Config::default()
    };
    let report = run_within(config, batch, CancelToken::new(), simulate);
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
    assert_eq!(report.cancelled(), 10);
    assert_accounted(&report, 10);
}

#[test]
fn the_first_error_cancels_the_rest() {
    let mut batch = jobs(30);
    batch[6].fails = true;
    let config = Config {
        workers: 1,
        cancel_on_error: true,
        ..Config::default()
    };
    let report = run_within(config, batch, CancelToken::new(), simulate);
    assert_eq!(report.cause, Some(Cause::FirstError { job: 7 }));
    assert_eq!(
        (report.completed(), report.failed(), report.cancelled()),
        (6, 1, 23)
    );
    assert_accounted(&report, 30);
}

#[test]
fn without_cancel_on_error_a_failure_is_only_that_jobs() {
    let mut batch = jobs(10);
    batch[3].fails = true;
    let report = run_within(config(2), batch, CancelToken::new(), simulate);
    assert_eq!(
        (report.completed(), report.failed(), report.cause),
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
            job_timeout: Some(Duration::from_millis(20)),
            deadline: None,
            cancel_on_error: rng.random_bool(0.3),
        };
        let report = run_within(config, batch, CancelToken::new(), move |job, ctx| {
            if job.id == cancel_in {
                ctx.token.cancel(Cause::Requested);
            }
            simulate(job, ctx)
        });
        let ids: Vec<u64> = report.outcomes.iter().map(|o| o.job).collect();
        assert_eq!(
            ids,
            (1..=n).collect::<Vec<_>>(),
            "round {round}: a job went missing or twice"
        );
        assert_accounted(&report, n);
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
fn a_panicking_job_stops_the_run_instead_of_hanging_it() {
    // One worker, a full queue and a producer waiting to send more: when the worker dies,
    // nobody is left to make room. The run must end, with the panic, not wait for ever.
    std::panic::set_hook(Box::new(|_| {}));
    let outcome = within(
        LIMIT,
        "a run whose only worker panicked",
        "does a dying worker cancel the token, so the producer stops waiting to send?",
        || {
            std::panic::catch_unwind(|| {
                run(
                    &config(1),
                    jobs(50),
                    &CancelToken::new(),
                    |job, _| {
                        if job.id == 2 {
                            panic!("job 2 panics");
                        }
                        Ok(job.id)
                    },
                    |_| {},
                )
            })
        },
    );
    let _ = std::panic::take_hook();
    assert!(outcome.is_err(), "the job's panic should reach the caller");
}
