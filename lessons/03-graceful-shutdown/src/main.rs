//! `cargo run -p lesson-3`: a pool that shuts down without losing a job, by itself or on Ctrl-C.

// Under `--cfg loom` only the stand-in `main` below is used.
#![cfg_attr(loom, allow(dead_code, unused_imports))]

use clap::Parser;
use course_support::{cli, human, svg, timeline, workload};
use crossbeam_channel::{Receiver, select};
use lesson_3::{Pool, Report, Status};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Lesson 3: graceful shutdown. Press Ctrl-C once to stop taking jobs and drain the queue,
/// twice to stop now.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// How many workers (threads) take jobs from the queue (1 to 1024).
    #[arg(long, default_value = "3", value_parser = cli::workers, allow_negative_numbers = true)]
    workers: usize,
    /// How many jobs the queue holds before `submit` has to wait (1 to 1000000).
    #[arg(long, default_value = "4", value_parser = cli::capacity, allow_negative_numbers = true)]
    queue: usize,
    /// How many jobs to submit before shutting down by itself (try 1000, then press Ctrl-C; 0 to 1000000).
    #[arg(long, default_value = "12", value_parser = cli::jobs, allow_negative_numbers = true)]
    jobs: usize,
    /// Mean pretend work per job in milliseconds (each job takes 50% to 150% of it; 0 to 60000).
    #[arg(long, default_value = "150", value_parser = cli::millis, allow_negative_numbers = true)]
    work_ms: Duration,
    /// Percentage of jobs that fail (0 to 100).
    #[arg(long, default_value = "10", value_parser = cli::percent, allow_negative_numbers = true)]
    fail_percent: u32,
    /// Seed for job lengths and failures: the same seed replays the same jobs.
    #[arg(long, default_value = "1")]
    seed: u64,
    #[command(flatten)]
    picture: svg::SvgFlag,
}

/// What the demo submits: an id, how long to work, whether to fail.
type Job = workload::JobSpec;

// A model-test build (`--cfg loom`) swaps the pool's channels for loom's, which the demo's
// crossbeam channels cannot be passed to; cargo still builds the binary for the tests, so it
// gets a stand-in `main` there.
#[cfg(loom)]
fn main() {
    eprintln!("lesson-3 was built with --cfg loom for its model tests; build it without to run it");
}

#[cfg(not(loom))]
fn main() {
    cli::quiet_on_closed_stdout();
    let args: Args = cli::parse();
    // Each Ctrl-C becomes a message, so the main thread can wait on it with `select!` beside
    // the queue. Installed before anything runs, so no Ctrl-C is missed.
    let (signal, ctrl_c) = crossbeam_channel::unbounded();
    if let Err(err) = ctrlc::set_handler(move || {
        let _ = signal.send(());
    }) {
        eprintln!("error: cannot listen for Ctrl-C: {err}");
        std::process::exit(1);
    }

    println!("Lesson 3: graceful shutdown");
    println!(
        "{} workers, a queue of {}, {} jobs of {} to {} (seed {}).",
        args.workers,
        args.queue,
        args.jobs,
        human(args.work_ms / 2),
        human(args.work_ms * 3 / 2),
        args.seed
    );
    println!("Ctrl-C once: stop taking jobs and finish the queued ones. Twice: stop now.\n");

    let clock = Instant::now();
    let finished = Arc::new(AtomicUsize::new(0));
    let pool = Pool::new(args.workers, args.queue, {
        let finished = Arc::clone(&finished);
        move |worker, job: &Job| run_job(worker, job, clock, &finished)
    });

    let jobs = workload::jobs(args.jobs, args.seed, args.work_ms, args.fail_percent);
    let mut interrupted = None;
    for job in jobs {
        if let Err(rejected) = pool.submit_or_stop(job, &ctrl_c) {
            // The rejected job was never accepted, so it is not part of the report.
            interrupted = Some((rejected.job.id - 1, finished.load(Ordering::SeqCst)));
            break;
        }
    }

    let report = match interrupted {
        None => {
            // Everything is submitted: accepting is over, so the first Ctrl-C from here on
            // only confirms the drain, and a second one stops now.
            let report = drain_unless_interrupted(pool, &ctrl_c, 2);
            println!(
                "\nAll {} jobs submitted; shutdown() closed the queue and waited for the \
                 workers.",
                args.jobs
            );
            report
        }
        Some((submitted, _)) => {
            println!(
                "\nCtrl-C: stopped taking jobs after {submitted}; finishing the {} queued and the \
                 ones running. Ctrl-C again to stop now.",
                pool.queued()
            );
            drain_unless_interrupted(pool, &ctrl_c, 1)
        }
    };

    print_report(
        &report,
        interrupted.map(|(_, finished)| finished),
        args.workers,
        &args.picture,
    );
    if report.cancelled() > 0 || report.lost() > 0 {
        // The conventional code for "stopped by Ctrl-C" (128 + SIGINT).
        std::process::exit(130);
    }
}

/// The work itself: sleep, then succeed or fail as the seed decided.
fn run_job(worker: usize, job: &Job, clock: Instant, finished: &AtomicUsize) -> Result<(), String> {
    course_support::event_line!(clock.elapsed(), "worker {worker} took job {}", job.id);
    std::thread::sleep(job.work);
    finished.fetch_add(1, Ordering::SeqCst);
    if job.fails {
        course_support::event_line!(clock.elapsed(), "worker {worker} failed job {}", job.id);
        Err("simulated failure".into())
    } else {
        course_support::event_line!(clock.elapsed(), "worker {worker} finished job {}", job.id);
        Ok(())
    }
}

// ANCHOR: second_ctrl_c
/// Drains the pool, but switches to stop-now if Ctrl-C is pressed `presses` more times while
/// it drains.
fn drain_unless_interrupted(pool: Pool<Job>, ctrl_c: &Receiver<()>, presses: usize) -> Report<Job> {
    let stop = pool.stop_handle();
    let (drained, done) = crossbeam_channel::bounded::<()>(0);
    let ctrl_c = ctrl_c.clone();
    let watcher = std::thread::spawn(move || {
        for press in 1..=presses {
            select! {
                recv(ctrl_c) -> _ => {
                    if press < presses {
                        println!(
                            "\nCtrl-C: every job is already submitted, so the queue is \
                             draining. Ctrl-C again to stop now."
                        );
                        continue;
                    }
                    println!("\nCtrl-C again: stopping now; queued jobs will not start.");
                    stop.stop_now();
                }
                // Disconnected when `drained` is dropped below: the drain finished first.
                recv(done) -> _ => return,
            }
        }
    });
    let report = pool.shutdown();
    drop(drained);
    watcher.join().expect("the watcher thread does not panic");
    report
}
// ANCHOR_END: second_ctrl_c

fn print_report(
    report: &Report<Job>,
    finished_before_ctrl_c: Option<usize>,
    workers: usize,
    picture: &svg::SvgFlag,
) {
    println!(
        "\nReport: {} submitted = {} done + {} failed + {} cancelled.",
        report.submitted,
        report.completed(),
        report.failed(),
        report.cancelled()
    );
    if let Some(before) = finished_before_ctrl_c {
        let ran = report.completed() + report.failed();
        println!(
            "Drained after Ctrl-C: {} jobs finished.",
            ran.saturating_sub(before)
        );
    }
    let mut by_id: Vec<_> = report.outcomes.iter().collect();
    by_id.sort_by_key(|o| o.job.id);
    let list = |want: fn(&Status) -> bool| -> String {
        let ids: Vec<String> = by_id
            .iter()
            .filter(|o| want(&o.status))
            .map(|o| o.job.id.to_string())
            .collect();
        ids.join(", ")
    };
    if report.failed() > 0 {
        println!("Failed: jobs {}", list(|s| matches!(s, Status::Failed(_))));
    }
    if report.cancelled() > 0 {
        println!(
            "Cancelled (never started): jobs {}",
            list(|s| *s == Status::Cancelled)
        );
    }
    if report.lost() > 0 {
        println!(
            "Lost: {} jobs, because {} workers panicked.",
            report.lost(),
            report.panicked_workers
        );
    }

    let spans: Vec<timeline::Span> = by_id
        .iter()
        .filter(|o| o.status != Status::Cancelled)
        .map(|o| timeline::Span {
            worker: o.worker,
            job: o.job.id,
            start: o.started,
            end: o.started + o.took,
            failed: o.status != Status::Completed,
        })
        .collect();
    println!("\nThe run, one row per worker (each box is a job, failed jobs are filled with !):");
    print!(
        "{}",
        timeline::render(&spans, workers, timeline::Style::for_stdout())
    );
    let title = format!("Lesson 3: {workers} workers, then a graceful shutdown");
    picture.draw_workers(&spans, workers, &title);
}
