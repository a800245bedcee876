//! `cargo run -p lesson-4`: stuck jobs time out, a deadline cancels the run, and the first error
//! can cancel the rest; every job still ends in exactly one state.

use clap::Parser;
use course_support::{cli, event_line, human, svg, timeline, workload};
use lesson_4::{Cause, Config, Job, Outcome, Pool, Report, Status};
use std::time::Duration;

/// Lesson 4: cancellation and deadlines.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// How many workers (threads) take jobs from the queue (1 to 1024).
    #[arg(long, default_value = "4", value_parser = cli::workers, allow_negative_numbers = true)]
    workers: usize,
    /// How many jobs to run (0 to 1000000).
    #[arg(long, default_value = "16", value_parser = cli::jobs, allow_negative_numbers = true)]
    jobs: usize,
    /// Mean work per job in milliseconds (each job takes 50% to 150% of it; 0 to 60000).
    #[arg(long, default_value = "100", value_parser = cli::millis, allow_negative_numbers = true)]
    work_ms: Duration,
    /// Each job's time limit in milliseconds; 0 means no limit (then stuck jobs never end
    /// unless a deadline or an error cancels the run; 0 to 60000).
    #[arg(long, default_value = "500", value_parser = cli::millis, allow_negative_numbers = true)]
    job_timeout_ms: Duration,
    /// The whole run's time limit in milliseconds; when it passes, the run is cancelled (0 to 60000).
    #[arg(long, value_parser = cli::millis, allow_negative_numbers = true)]
    deadline_ms: Option<Duration>,
    /// Cancel the run as soon as one job fails or times out.
    #[arg(long)]
    cancel_on_error: bool,
    /// Percentage of jobs that fail (0 to 100).
    #[arg(long, default_value = "10", value_parser = cli::percent, allow_negative_numbers = true)]
    fail_percent: u32,
    /// Percentage of jobs that get stuck and never finish by themselves (0 to 100).
    #[arg(long, default_value = "10", value_parser = cli::percent, allow_negative_numbers = true)]
    stuck_percent: u32,
    /// Seed for job lengths, failures and stuck jobs.
    #[arg(long, default_value = "4")]
    seed: u64,
    #[command(flatten)]
    picture: svg::SvgFlag,
}

fn main() {
    cli::quiet_on_closed_stdout();
    let args: Args = cli::parse();
    if args.job_timeout_ms.is_zero() && args.deadline_ms.is_none() && !args.cancel_on_error {
        eprintln!(
            "error: with --job-timeout-ms 0 and no --deadline-ms or --cancel-on-error, a stuck \
             job would run for ever (see --help)"
        );
        std::process::exit(2);
    }
    let specs = workload::jobs(args.jobs, args.seed, args.work_ms, args.fail_percent);
    let stuck = workload::pick(args.jobs, args.seed, args.stuck_percent);
    let jobs: Vec<Job> = specs
        .into_iter()
        .zip(stuck)
        .map(|(spec, stuck)| Job {
            id: spec.id,
            work: spec.work,
            // A stuck job never reaches the point where it would fail.
            fails: spec.fails && !stuck,
            stuck,
        })
        .collect();
    let config = Config {
        workers: args.workers,
        // As many waiting jobs as workers: enough to keep every worker busy.
        capacity: args.workers,
        job_timeout: Some(args.job_timeout_ms).filter(|t| !t.is_zero()),
        deadline: args.deadline_ms,
        cancel_on_error: args.cancel_on_error,
    };

    println!("Lesson 4: cancellation and deadlines");
    println!(
        "{} workers, {} jobs of {} to {} (seed {}): {} fail and {} get stuck.",
        args.workers,
        args.jobs,
        human(args.work_ms / 2),
        human(args.work_ms * 3 / 2),
        args.seed,
        jobs.iter().filter(|j| j.fails).count(),
        jobs.iter().filter(|j| j.stuck).count(),
    );
    println!(
        "Job timeout: {}. Run deadline: {}. Cancel on first error: {}.\n",
        config.job_timeout.map_or("none".into(), human),
        config.deadline.map_or("none".into(), human),
        if config.cancel_on_error { "on" } else { "off" }
    );

    // ANCHOR: submit_all
    let pool = Pool::observed(
        config.clone(),
        |_worker, job: &Job, ctx| lesson_4::simulate(job, ctx),
        print_event,
    );
    // One job at a time: `submit` waits for room, unless the pool is cancelled meanwhile.
    let mut refused = Vec::new();
    let mut jobs = jobs.into_iter();
    for job in jobs.by_ref() {
        if let Err(rejected) = pool.submit(job) {
            // Cancelled: this job and every one after it will never start.
            refused.push(rejected.into_inner());
            break;
        }
    }
    refused.extend(jobs);
    let report = pool.shutdown();
    // ANCHOR_END: submit_all
    print_report(&report, &refused, &config, &args.picture);
}

/// The observer: called on the worker's thread as each job it took ends.
fn print_event(o: &Outcome<Job>) {
    let at = o.started + o.took;
    let (worker, job) = (
        o.worker.expect("workers report only jobs they took"),
        o.job.id,
    );
    match &o.status {
        Status::Completed => event_line!(at, "worker {worker} finished job {job}"),
        Status::Failed(reason) => event_line!(at, "worker {worker} failed job {job}: {reason}"),
        Status::TimedOut => event_line!(
            at,
            "worker {worker} stopped job {job}: timed out after {}",
            human(o.took)
        ),
        Status::Cancelled { started: true } => event_line!(
            at,
            "worker {worker} stopped job {job}: cancelled after {}",
            human(o.took)
        ),
        Status::Cancelled { started: false } => {
            event_line!(
                at,
                "worker {worker} skipped job {job}: cancelled before it started"
            )
        }
    }
}

/// The report, with the jobs `submit` handed back counted as cancelled before they started.
fn print_report(report: &Report<Job>, refused: &[Job], config: &Config, picture: &svg::SvgFlag) {
    let mut by_id: Vec<(u64, &Status)> = report
        .outcomes
        .iter()
        .map(|o| (o.job.id, &o.status))
        .collect();
    let never_started = Status::Cancelled { started: false };
    by_id.extend(refused.iter().map(|job| (job.id, &never_started)));
    by_id.sort_by_key(|(id, _)| *id);
    println!(
        "\nReport: {} jobs = {} done + {} failed + {} timed out + {} cancelled.",
        by_id.len(),
        report.completed(),
        report.failed(),
        report.timed_out(),
        report.cancelled() + refused.len()
    );
    match report.cause {
        None => println!("The run was not cancelled."),
        Some(Cause::Deadline) => println!(
            "The run was cancelled: its deadline ({}) passed.",
            human(config.deadline.unwrap_or_default())
        ),
        Some(Cause::FirstError { job }) => {
            println!("The run was cancelled: job {job} failed first.")
        }
        Some(Cause::Requested) => println!("The run was cancelled on request."),
        Some(Cause::WorkerPanicked) => println!("The run was cancelled: a job panicked."),
    }
    let list = |want: fn(&Status) -> bool| -> String {
        let ids: Vec<String> = by_id
            .iter()
            .filter(|(_, status)| want(status))
            .map(|(id, _)| id.to_string())
            .collect();
        ids.join(", ")
    };
    for (label, want) in [
        (
            "Failed",
            (|s| matches!(s, Status::Failed(_))) as fn(&Status) -> bool,
        ),
        ("Timed out", |s| *s == Status::TimedOut),
        ("Stopped while running", |s| {
            *s == Status::Cancelled { started: true }
        }),
        ("Never started", |s| {
            *s == Status::Cancelled { started: false }
        }),
    ] {
        let ids = list(want);
        if !ids.is_empty() {
            println!("{label}: jobs {ids}");
        }
    }
    let total = report
        .outcomes
        .iter()
        .map(|o| o.started + o.took)
        .max()
        .unwrap_or_default();
    println!("The run took {}.\n", human(total));

    let spans: Vec<timeline::Span> = report
        .outcomes
        .iter()
        .filter(|o| !o.took.is_zero())
        .filter_map(|o| {
            Some(timeline::Span {
                worker: o.worker?,
                job: o.job.id,
                start: o.started,
                end: o.started + o.took,
                failed: o.status != Status::Completed,
            })
        })
        .collect();
    println!(
        "The run, one row per worker (each box is a job; failed, timed out and cancelled jobs \
         are filled with !):"
    );
    print!(
        "{}",
        timeline::render(&spans, config.workers, timeline::Style::for_stdout())
    );
    let title = format!(
        "Lesson 4: {} workers; red jobs failed, timed out or were cancelled",
        config.workers
    );
    picture.draw_workers(&spans, config.workers, &title);
}
