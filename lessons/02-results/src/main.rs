//! `cargo run -p lesson-2`: seeded jobs of random length, some failing, and a report you can trust.

use clap::Parser;
use course_support::{cli, human, svg, timeline, workload};
use lesson_2::{Job, Outcome};
use std::time::Duration;

/// Lesson 2: results and errors. Jobs of seeded random length, some seeded to fail.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// How many workers (threads) take jobs from the queue (1 to 1024).
    #[arg(long, default_value = "4", value_parser = cli::workers, allow_negative_numbers = true)]
    workers: usize,
    /// How many jobs to run (0 to 1000000).
    #[arg(long, default_value = "20", value_parser = cli::jobs, allow_negative_numbers = true)]
    jobs: usize,
    /// Seed for job lengths and failures: the same seed replays the same jobs.
    #[arg(long, default_value = "7")]
    seed: u64,
    /// Mean pretend work per job in milliseconds (each job takes 50% to 150% of it; 0 to 60000).
    #[arg(long, default_value = "100", value_parser = cli::millis, allow_negative_numbers = true)]
    work_ms: Duration,
    /// Percentage of jobs that fail (0 to 100).
    #[arg(long, default_value = "15", value_parser = cli::percent, allow_negative_numbers = true)]
    fail_percent: u32,
    #[command(flatten)]
    picture: svg::SvgFlag,
}

fn main() {
    cli::quiet_on_closed_stdout();
    let args: Args = cli::parse();
    let specs = workload::jobs(args.jobs, args.seed, args.work_ms, args.fail_percent);
    let mean = workload::mean_work(&specs);
    let jobs: Vec<Job> = specs
        .into_iter()
        .map(|spec| Job {
            id: spec.id,
            input: spec.id,
            work: spec.work,
            fails: spec.fails,
        })
        .collect();

    println!("Lesson 2: results and errors");
    println!(
        "{} workers, {} jobs (seed {}): each job doubles its number after {} to {} of pretend \
         work; about {}% are seeded to fail.\n",
        args.workers,
        args.jobs,
        args.seed,
        human(args.work_ms / 2),
        human(args.work_ms * 3 / 2),
        args.fail_percent
    );

    let outcomes = lesson_2::run(args.workers, jobs, lesson_2::simulate, |o| {
        let at = o.started + o.took;
        match &o.result {
            Ok(answer) => course_support::event_line!(
                at,
                "worker {} finished job {} in {}: {} → {answer}",
                o.worker,
                o.job,
                human(o.took),
                o.job
            ),
            Err(err) => course_support::event_line!(
                at,
                "worker {} failed job {} after {}: {}",
                o.worker,
                o.job,
                human(o.took),
                err.reason
            ),
        }
    });

    report(&args, &outcomes, mean);
}

fn report(args: &Args, outcomes: &[Outcome], mean: Duration) {
    println!("\nResults in job order:");
    for o in outcomes {
        let what = match &o.result {
            Ok(answer) => format!("ok     {} → {answer}", o.job),
            Err(err) => format!("FAILED {}", err.reason),
        };
        println!(
            "  job {:>3}  {:<9}  took {:>7}  {what}",
            o.job,
            format!("worker {}", o.worker),
            human(o.took)
        );
    }

    let failures: Vec<&Outcome> = outcomes.iter().filter(|o| o.result.is_err()).collect();
    println!(
        "\n{} jobs: {} ok, {} failed.",
        outcomes.len(),
        outcomes.len() - failures.len(),
        failures.len()
    );
    if !failures.is_empty() {
        let ids: Vec<String> = failures.iter().map(|o| o.job.to_string()).collect();
        println!("Failed jobs: {}", ids.join(", "));
    }

    let total = outcomes
        .iter()
        .map(|o| o.started + o.took)
        .max()
        .unwrap_or_default();
    let rounds = outcomes.len().div_ceil(args.workers);
    println!(
        "The run took {}; the ideal is {rounds} rounds × {} mean job = {}.\n",
        human(total),
        human(mean),
        human(mean * rounds as u32)
    );

    let spans: Vec<timeline::Span> = outcomes
        .iter()
        .map(|o| timeline::Span {
            worker: o.worker,
            job: o.job,
            start: o.started,
            end: o.started + o.took,
            failed: o.result.is_err(),
        })
        .collect();
    println!("The run, one row per worker (each box is a job, failed jobs are filled with !):");
    print!(
        "{}",
        timeline::render(&spans, args.workers, timeline::Style::for_stdout())
    );
    let title = format!(
        "Lesson 2: {} workers, {} jobs (seed {}), failed jobs in red",
        args.workers,
        outcomes.len(),
        args.seed
    );
    args.picture.draw_workers(&spans, args.workers, &title);
}
