//! `cargo run -p lesson-11`: the demo. A fresh queue on a PostgreSQL server, jobs enqueued in
//! the same transactions as the orders they belong to, one worker process killed with `SIGKILL`
//! in the middle of its jobs, the server restarted as a crash would, and more worker processes
//! that reconnect, rescue the killed worker's jobs and finish everything.
//!
//! The same binary is the queue's command line, lesson 10's with `--database-url URL` in place
//! of `--db PATH`: `enqueue`, `worker`, `status [--json]`, `retry` and `cancel`. The flags they
//! share with lesson 10, and `enqueue`'s loop, are lesson 10's (`lesson_10::flags`).
//!
//! As in lesson 10, this file holds the flags and sends each command to its file under `cmd/`;
//! `demo.rs` is the demo and `measure.rs` the measurement.

mod cmd;
mod demo;
mod measure;

use clap::{Args as ClapArgs, Parser, Subcommand};
use course_support::cli;
use lesson_10::flags::{self, QueueCommand, WorkerFlags, whole};
use std::process::ExitCode;
use std::time::Duration;

/// Lesson 11: many machines, one queue, on PostgreSQL.
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
    /// New: the commands are lesson 10's, with this lesson's `DbArg` and `WorkerArgs`.
    #[command(flatten)]
    Queue(QueueCommand<DbArg, WorkerArgs>),
    /// Measures the queue end to end beside pgbench (use --release).
    Measure(measure::Flags),
}

type EnqueueArgs = flags::EnqueueArgs<DbArg>;
type StatusArgs = flags::StatusArgs<DbArg>;
type JobArgs = flags::JobArgs<DbArg>;

#[derive(ClapArgs)]
struct DbArg {
    /// The queue's server, as postgresql://user@host:port/database (or set DATABASE_URL).
    #[arg(long, value_name = "URL", env = "DATABASE_URL", hide_env_values = true)]
    database_url: String,
}

#[derive(ClapArgs)]
struct WorkerArgs {
    #[command(flatten)]
    db: DbArg,
    /// The worker's name in the queue and its output; unique among workers (default: host-pid).
    #[arg(long)]
    name: Option<String>,
    /// Threads in its pool, the most jobs it holds at once (1 to 1024).
    #[arg(long, default_value = "2", value_parser = cli::workers, allow_negative_numbers = true)]
    threads: usize,
    /// How long a claim lasts unless renewed, in milliseconds (100 to 600000).
    #[arg(long, default_value = "2000", value_parser = lease_ms, allow_negative_numbers = true)]
    lease_ms: Duration,
    /// The most jobs one transaction claims (1 to 1024); 1 claims one at a time.
    #[arg(long, value_parser = cli::workers, allow_negative_numbers = true)]
    claim_batch: Option<usize>,
    /// How often to look for jobs when no notification came, in milliseconds (1 to 60000).
    #[arg(long, default_value = "1000", value_parser = cli::positive_millis, allow_negative_numbers = true)]
    poll_ms: Duration,
    /// How often this worker runs the rescuer, in milliseconds (1 to 60000).
    #[arg(long, default_value = "500", value_parser = cli::positive_millis, allow_negative_numbers = true)]
    rescue_ms: Duration,
    /// Give up after the server has been out of reach this long, in milliseconds (1 to 600000).
    #[arg(long, default_value = "60000", value_parser = give_up_ms, allow_negative_numbers = true)]
    give_up_ms: Duration,
    #[command(flatten)]
    run: WorkerFlags,
}

pub(crate) fn lease_ms(s: &str) -> Result<Duration, String> {
    whole(s, 100, 600_000).map(Duration::from_millis)
}

fn give_up_ms(s: &str) -> Result<Duration, String> {
    whole(s, 1, 600_000).map(Duration::from_millis)
}

fn main() -> ExitCode {
    cli::quiet_on_closed_stdout();
    let args: Args = cli::parse();
    let result = match args.command {
        None => return demo::main(&args.demo),
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
