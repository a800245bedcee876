//! `cargo run -p lesson-5`: the pool on tokio, with per-job timeouts, a deadline and Ctrl-C;
//! `--compare` weighs threads against tasks.

mod compare;

use clap::Parser;
use course_support::{cli, event_line, human, svg, timeline, workload};
use lesson_5::{Config, Outcome, Pool, Report, Status};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Lesson 5: the pool on tokio. Worker tasks, a bounded queue, per-job timeouts, a deadline
/// for the whole run, and Ctrl-C to cancel it.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// How many worker tasks take jobs from the queue (1 to 1024).
    #[arg(long, default_value = "4", value_parser = cli::workers, allow_negative_numbers = true)]
    workers: usize,
    /// How many jobs the queue holds before `submit` has to wait (1 to 1000000).
    #[arg(long, default_value = "4", value_parser = cli::capacity, allow_negative_numbers = true)]
    queue: usize,
    /// How many jobs to run (0 to 1000000).
    #[arg(long, default_value = "20", value_parser = cli::jobs, allow_negative_numbers = true)]
    jobs: usize,
    /// Mean pretend work per job in milliseconds (each job takes 50% to 150% of it; 0 to 60000).
    #[arg(long, default_value = "100", value_parser = cli::millis, allow_negative_numbers = true)]
    work_ms: Duration,
    /// Percentage of jobs that fail (0 to 100).
    #[arg(long, default_value = "10", value_parser = cli::percent, allow_negative_numbers = true)]
    fail_percent: u32,
    /// Percentage of jobs that hang (wait for an answer that never comes) until their timeout (0 to 100).
    #[arg(long, default_value = "10", value_parser = cli::percent, allow_negative_numbers = true)]
    hang_percent: u32,
    /// How long one job may run, in milliseconds (0 to 60000).
    #[arg(long, default_value = "300", value_parser = cli::millis, allow_negative_numbers = true)]
    job_timeout_ms: Duration,
    /// How long the whole run may take, in milliseconds; then it is cancelled (0 to 60000).
    #[arg(long, default_value = "10000", value_parser = cli::millis, allow_negative_numbers = true)]
    deadline_ms: Duration,
    /// Seed for job lengths, failures and hangs: the same seed replays the same jobs.
    #[arg(long, default_value = "7")]
    seed: u64,
    /// Instead of the demo, compare threads and tasks: time and memory for many sleeping jobs.
    #[arg(long)]
    compare: bool,
    /// Jobs in the comparison (each sleeps 10 ms; 0 to 1000000).
    #[arg(long, default_value = "100000", value_parser = cli::jobs, allow_negative_numbers = true)]
    compare_jobs: usize,
    /// How many of them run at once in the comparison: threads, tasks or permits (1 to 100000).
    #[arg(long, default_value = "10000", value_parser = compare::width, allow_negative_numbers = true)]
    compare_width: usize,
    /// Runs one side of the comparison in this process (the comparison starts itself with it).
    #[arg(long, hide = true, value_enum)]
    compare_one: Option<compare::Shape>,
    #[command(flatten)]
    picture: svg::SvgFlag,
}

/// What the demo submits: an id, how long to work, whether to fail, and whether to hang.
#[derive(Debug, Clone)]
struct Job {
    spec: workload::JobSpec,
    hangs: bool,
}

fn main() {
    cli::quiet_on_closed_stdout();
    let args: Args = cli::parse();
    if let Some(shape) = args.compare_one {
        compare::measure_one(shape, args.compare_jobs, args.compare_width);
    } else if args.compare {
        compare::run(args.compare_jobs, args.compare_width);
    } else {
        std::process::exit(demo(args));
    }
}

/// Runs the demo and returns the exit code.
#[tokio::main]
async fn demo(args: Args) -> i32 {
    let specs = workload::jobs(args.jobs, args.seed, args.work_ms, args.fail_percent);
    // A second draw from the same seed decides which jobs hang, so `--seed` replays those too.
    let hangs = workload::jobs(args.jobs, !args.seed, args.work_ms, args.hang_percent);
    let jobs: Vec<Job> = specs
        .into_iter()
        .zip(hangs)
        .map(|(spec, hang)| Job {
            spec,
            hangs: hang.fails,
        })
        .collect();

    println!("Lesson 5: the pool on tokio");
    println!(
        "{} worker tasks, a queue of {}, {} jobs of {} to {} (seed {}); {} of them hang.",
        args.workers,
        args.queue,
        args.jobs,
        human(args.work_ms / 2),
        human(args.work_ms * 3 / 2),
        args.seed,
        jobs.iter().filter(|j| j.hangs).count()
    );
    println!(
        "Each job may run for {}, the whole run for {}. Ctrl-C cancels the run.\n",
        human(args.job_timeout_ms),
        human(args.deadline_ms)
    );

    let config = Config {
        job_timeout: Some(args.job_timeout_ms),
        deadline: Some(args.deadline_ms),
        ..Config::new(args.workers, args.queue)
    };
    let limit = args.job_timeout_ms;
    let pool = Pool::new(
        config,
        |job: Job, _token| run_job(job),
        move |outcome| print_end(outcome, limit),
    );
    let ctrl_c = listen_for_ctrl_c(pool.cancel_token());

    let total = jobs.len();
    let mut stopped_at = None;
    for job in jobs {
        if let Err(rejected) = pool.submit(job).await {
            // The job comes back untouched; it was never accepted, so it is not in the report.
            stopped_at = Some(rejected.job.spec.id);
            break;
        }
    }
    let report = pool.shutdown().await;
    match stopped_at {
        None => println!(
            "\nAll {total} jobs submitted; shutdown() closed the queue and waited for the \
             workers to finish it."
        ),
        Some(id) => println!(
            "\nThe run was cancelled while job {id} waited for room in the queue: it and the \
             jobs after it were never submitted."
        ),
    }
    let by_ctrl_c = ctrl_c.load(Ordering::SeqCst);
    print_report(&report, args.workers, &args.picture);

    if report.cancelled() > 0 || report.lost() > 0 || stopped_at.is_some() {
        if by_ctrl_c {
            // The conventional code for "stopped by Ctrl-C" (128 + SIGINT).
            130
        } else {
            println!("The deadline of {} passed.", human(args.deadline_ms));
            1
        }
    } else {
        0
    }
}

/// The work itself: wait, then succeed or fail as the seed decided; or wait for ever.
async fn run_job(job: Job) -> Result<(), String> {
    if job.hangs {
        // Like a request to a server that never answers: only the timeout ends it.
        std::future::pending::<()>().await;
    }
    // An `.await`, so the worker can stop this job here if it times out or is cancelled.
    tokio::time::sleep(job.spec.work).await;
    if job.spec.fails {
        Err("simulated failure".into())
    } else {
        Ok(())
    }
}

/// Prints the line for a job that has just ended, whichever way it ended.
fn print_end(o: &Outcome<Job>, limit: Duration) {
    let at = o.started + o.took;
    let worker = o.worker.expect("only workers report as jobs end");
    let id = o.job.spec.id;
    match &o.status {
        Status::Completed => event_line!(at, "worker {worker} finished job {id}"),
        Status::Failed(reason) => event_line!(at, "worker {worker} failed job {id}: {reason}"),
        Status::TimedOut => event_line!(
            at,
            "worker {worker} stopped job {id}: timed out after {}",
            human(limit)
        ),
        Status::Cancelled { started: true } => event_line!(
            at,
            "worker {worker} stopped job {id}: cancelled after {}",
            human(o.took)
        ),
        Status::Cancelled { started: false } => {
            event_line!(
                at,
                "worker {worker} skipped job {id}: cancelled before it started"
            )
        }
    }
}

/// Cancels the pool on Ctrl-C, and says whether that happened.
fn listen_for_ctrl_c(token: CancellationToken) -> Arc<AtomicBool> {
    let pressed = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&pressed);
    // Detached on purpose: it lives as long as the runtime, and ends with it.
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            flag.store(true, Ordering::SeqCst);
            println!("\nCtrl-C: cancelling the run; running jobs stop at their next .await.");
            token.cancel();
        }
    });
    pressed
}

fn print_report(report: &Report<Job>, workers: usize, picture: &svg::SvgFlag) {
    println!(
        "\nReport: {} submitted = {} done + {} failed + {} timed out + {} cancelled.",
        report.submitted,
        report.completed(),
        report.failed(),
        report.timed_out(),
        report.cancelled()
    );
    let mut by_id: Vec<&Outcome<Job>> = report.outcomes.iter().collect();
    by_id.sort_by_key(|o| o.job.spec.id);
    let list = |want: fn(&Outcome<Job>) -> bool| -> Option<String> {
        let ids: Vec<String> = by_id
            .iter()
            .filter(|o| want(o))
            .map(|o| o.job.spec.id.to_string())
            .collect();
        (!ids.is_empty()).then(|| ids.join(", "))
    };
    if let Some(ids) = list(|o| matches!(o.status, Status::Failed(_))) {
        println!("Failed: jobs {ids}");
    }
    if let Some(ids) = list(|o| o.status == Status::TimedOut) {
        println!("Timed out: jobs {ids}");
    }
    if let Some(ids) = list(|o| o.status == Status::Cancelled { started: true }) {
        println!("Stopped while running: jobs {ids}");
    }
    if let Some(ids) = list(|o| o.status == Status::Cancelled { started: false }) {
        println!("Never started: jobs {ids}");
    }
    if report.lost() > 0 {
        println!(
            "Lost: {} jobs, because {} workers panicked.",
            report.lost(),
            report.panicked
        );
    }
    let took = by_id.iter().map(|o| o.started + o.took).max();
    println!("The run took {}.", human(took.unwrap_or_default()));

    let spans: Vec<timeline::Span> = by_id
        .iter()
        .filter(|o| o.status != Status::Cancelled { started: false })
        .filter_map(|o| {
            Some(timeline::Span {
                worker: o.worker?,
                job: o.job.spec.id,
                start: o.started,
                end: o.started + o.took,
                failed: o.status != Status::Completed,
            })
        })
        .collect();
    println!(
        "\nThe run, one row per worker task (each box is a job; failed, timed-out and cancelled \
         jobs are filled with !):"
    );
    print!(
        "{}",
        timeline::render(&spans, workers, timeline::Style::for_stdout())
    );
    let title =
        format!("Lesson 5: {workers} tokio workers; red jobs did not finish with an answer");
    picture.draw_workers(&spans, workers, &title);
}
