//! `cargo run -p lesson-10`: the demo. A fresh queue in a temporary folder, jobs that double
//! numbers, one worker process that is killed with `SIGKILL` in the middle of its jobs, and
//! more worker processes that take the jobs back when the lease runs out and finish them.
//!
//! The same binary is the queue's command line, which the demo and the crash tests drive:
//! `enqueue`, `worker`, `status [--json]`, `retry` and `cancel`, each with `--db PATH`.
//!
//! This file holds the flags and sends each command to its file under `cmd/`; `demo.rs` is the
//! demo and `measure.rs` the measurement.

mod cmd;
mod demo;
mod measure;

use clap::{Args as ClapArgs, Parser, Subcommand};
use course_support::cli;
use lesson_10::flags::{self, QueueCommand, WorkerFlags, whole};
use lesson_10::store::Durability;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Lesson 10: a job queue that survives a crash.
///
/// With no command, the demo runs. The commands work on a queue file that several processes
/// may share.
#[derive(Parser)]
#[command(version, about, args_conflicts_with_subcommands = true)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    demo: demo::Flags,
}

#[derive(Subcommand)]
enum Command {
    #[command(flatten)]
    Queue(QueueCommand<DbArg, WorkerArgs>),
    /// Measures the queue: jobs per second beside bare transactions (use --release).
    Measure(measure::Flags),
}

type EnqueueArgs = flags::EnqueueArgs<DbArg>;
type StatusArgs = flags::StatusArgs<DbArg>;
type JobArgs = flags::JobArgs<DbArg>;

#[derive(ClapArgs)]
struct DbArg {
    /// The queue's file (created if it does not exist).
    #[arg(long, value_name = "PATH")]
    db: PathBuf,
    /// How safe commits are from a power cut: full (the default) or normal.
    #[arg(long, default_value = "full", value_parser = durability)]
    synchronous: Durability,
}

#[derive(ClapArgs)]
struct WorkerArgs {
    #[command(flatten)]
    db: DbArg,
    /// The worker's name in the queue and its output.
    #[arg(long, default_value = "1")]
    name: String,
    /// Threads in its pool, the most jobs it holds at once (1 to 1024).
    #[arg(long, default_value = "2", value_parser = cli::workers, allow_negative_numbers = true)]
    threads: usize,
    /// How long a claim lasts unless renewed, in milliseconds (30 to 600000).
    #[arg(long, default_value = "2000", value_parser = lease_ms, allow_negative_numbers = true)]
    lease_ms: Duration,
    /// The most jobs one transaction claims (1 to 1024); 1 claims one at a time.
    #[arg(long, value_parser = cli::workers, allow_negative_numbers = true)]
    claim_batch: Option<usize>,
    /// How often to look for jobs when there were none, in milliseconds (1 to 60000).
    #[arg(long, default_value = "50", value_parser = cli::positive_millis, allow_negative_numbers = true)]
    poll_ms: Duration,
    #[command(flatten)]
    run: WorkerFlags,
}

fn durability(s: &str) -> Result<Durability, String> {
    match s {
        "full" => Ok(Durability::Full),
        "normal" => Ok(Durability::Normal),
        _ => Err("expected full or normal".into()),
    }
}

pub(crate) fn lease_ms(s: &str) -> Result<Duration, String> {
    whole(s, 30, 600_000).map(Duration::from_millis)
}

fn main() -> ExitCode {
    cli::quiet_on_closed_stdout();
    let args: Args = cli::parse();
    let result = match args.command {
        None => demo::run(&args.demo).map_err(|e| e.to_string()),
        Some(Command::Queue(QueueCommand::Enqueue(a))) => {
            cmd::enqueue(&a).map_err(|e| e.to_string())
        }
        Some(Command::Queue(QueueCommand::Worker(a))) => {
            cmd::run_worker(&a).map_err(|e| e.to_string())
        }
        Some(Command::Queue(QueueCommand::Status(a))) => cmd::status(&a).map_err(|e| e.to_string()),
        Some(Command::Queue(QueueCommand::Retry(a))) => cmd::retry(&a).map_err(|e| e.to_string()),
        Some(Command::Queue(QueueCommand::Cancel(a))) => cmd::cancel(&a).map_err(|e| e.to_string()),
        Some(Command::Measure(a)) => measure::run(&a).map_err(|e| e.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
