//! `cargo run -p lesson-1`: three workers double the numbers 1 to 5, and you watch them do it.

use clap::Parser;
use course_support::{cli, human, plural, svg, timeline};
use lesson_1::Log;
use std::time::Duration;

/// Lesson 1: a basic worker pool. Workers take the numbers 1 to N from one queue and double them.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// How many workers (threads) take jobs from the queue (1 to 1024).
    #[arg(long, default_value = "3", value_parser = cli::workers, allow_negative_numbers = true)]
    workers: usize,
    /// How many jobs: the numbers 1 to N (0 to 1000000).
    #[arg(long, default_value = "5", value_parser = cli::jobs, allow_negative_numbers = true)]
    jobs: usize,
    /// Pretend work per job in milliseconds, so you can watch the workers overlap (0 to 60000).
    #[arg(long, default_value = "100", value_parser = cli::millis, allow_negative_numbers = true)]
    work_ms: Duration,
    /// Instead of one run, time the same jobs with 1, 2, 3, 4, 6 and 12 workers and print a
    /// table (try `--sweep --jobs 12`).
    #[arg(long)]
    sweep: bool,
    #[command(flatten)]
    picture: svg::SvgFlag,
}

fn main() {
    cli::quiet_on_closed_stdout();
    let args: Args = cli::parse();
    if args.sweep {
        sweep(&args);
        return;
    }
    let work = args.work_ms;
    println!("Lesson 1: a basic worker pool");
    println!(
        "{} {} the numbers 1 to {}; each job takes {} of pretend work.\n",
        plural(args.workers, "worker"),
        if args.workers == 1 {
            "doubles"
        } else {
            "double"
        },
        args.jobs,
        human(work)
    );

    let numbers: Vec<u64> = (1..=args.jobs as u64).collect();
    let mut answers = lesson_1::run(
        args.workers,
        numbers,
        move |n| lesson_1::double_slowly(n, work),
        Log::Events,
    );

    let elapsed = answers.iter().map(|d| d.finished).max().unwrap_or_default();
    answers.sort_by_key(|d| d.job);
    let listed: Vec<String> = answers
        .iter()
        .map(|d| format!("{}→{}", d.job, d.answer))
        .collect();
    println!("\nResults, sorted by job: {}", listed.join("  "));
    println!(
        "{} on {} took {}; one worker alone would need about {}.\n",
        plural(args.jobs, "job"),
        plural(args.workers, "worker"),
        human(elapsed),
        human(work * args.jobs as u32)
    );

    let spans: Vec<timeline::Span> = answers
        .iter()
        .map(|d| timeline::Span {
            worker: d.worker,
            job: d.job,
            start: d.started,
            end: d.finished,
            failed: false,
        })
        .collect();
    println!("The run, one row per worker (each box is a job):");
    print!(
        "{}",
        timeline::render(&spans, args.workers, timeline::Style::for_stdout())
    );
    let title = format!(
        "Lesson 1: {} double the numbers 1 to {}",
        plural(args.workers, "worker"),
        args.jobs
    );
    args.picture.draw_workers(&spans, args.workers, &title);
}

/// The Go article's "add workers and watch the speed", as a table: the same jobs, timed with
/// more and more workers, beside the ideal `ceil(jobs / workers) × work`.
fn sweep(args: &Args) {
    let work = args.work_ms;
    println!(
        "Lesson 1, the experiment: {} of {} each, with more and more workers.\n",
        plural(args.jobs, "job"),
        human(work)
    );
    println!("  workers   measured   ideal (rounds × work)");
    for workers in [1, 2, 3, 4, 6, 12] {
        let numbers: Vec<u64> = (1..=args.jobs as u64).collect();
        let answers = lesson_1::run(
            workers,
            numbers,
            move |n| lesson_1::double_slowly(n, work),
            Log::Quiet,
        );
        let measured = answers.iter().map(|d| d.finished).max().unwrap_or_default();
        let rounds = args.jobs.div_ceil(workers);
        println!(
            "  {workers:>7}   {:>8}   {rounds} × {} = {}",
            human(measured),
            human(work),
            human(work * rounds as u32)
        );
    }
    println!(
        "\nMore workers help until every job has one; after that they only wait. These jobs sleep,\n\
         so they overlap on any number of cores. Jobs that compute would stop speeding up at the\n\
         number of cores this machine has: {}.",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
}
