//! `cargo run -p lesson-11`: the demo. A fresh queue on a PostgreSQL server, jobs enqueued in
//! the same transactions as the orders they belong to, one worker process killed with `SIGKILL`
//! in the middle of its jobs, the server restarted as a crash would, and more worker processes
//! that reconnect, rescue the killed worker's jobs and finish everything.
//!
//! The same binary is the queue's command line, lesson 10's with `--database-url URL` in place
//! of `--db PATH`: `enqueue`, `worker`, `status [--json]`, `retry` and `cancel`.

mod demo;
mod measure;

use clap::{Args as ClapArgs, Parser, Subcommand};
use course_support::cli;
use course_support::log::{Format, LogFlags};
use lesson_11::backoff::Backoff;
use lesson_11::job::{Job, NewJob, State};
use lesson_11::store::{Enqueued, Store, StoreError};
use lesson_11::work;
use lesson_11::worker::{self, Event};
use std::error::Error;
use std::io::Write as _;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, UNIX_EPOCH};

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
    /// Adds jobs that double numbers.
    Enqueue(EnqueueArgs),
    /// Runs jobs from the queue until stopped (SIGINT or SIGTERM finish what is running first).
    Worker(WorkerArgs),
    /// Counts jobs per state, and effects applied.
    Status(StatusArgs),
    /// Puts a discarded, cancelled or retryable job back to run now.
    Retry(JobArgs),
    /// Cancels a job that is waiting.
    Cancel(JobArgs),
    /// Measures the queue end to end beside pgbench (use --release).
    Measure(measure::Flags),
}

#[derive(ClapArgs)]
struct DbArg {
    /// The queue's server, as postgresql://user@host:port/database (or set DATABASE_URL).
    #[arg(long, value_name = "URL", env = "DATABASE_URL", hide_env_values = true)]
    database_url: String,
}

#[derive(ClapArgs)]
struct EnqueueArgs {
    #[command(flatten)]
    db: DbArg,
    /// Jobs to add (0 to 1000000).
    #[arg(long, default_value = "10", value_parser = cli::jobs, allow_negative_numbers = true)]
    jobs: usize,
    /// The first number to double; the jobs double it and the numbers after it.
    #[arg(long, default_value = "1", allow_negative_numbers = true)]
    first: i64,
    /// Mean work time of a job in milliseconds (0 to 60000).
    #[arg(long, default_value = "50", value_parser = cli::millis, allow_negative_numbers = true)]
    work_ms: Duration,
    /// Chance that an attempt fails on purpose, in percent (0 to 100).
    #[arg(long, default_value = "0", value_parser = cli::percent, allow_negative_numbers = true)]
    fail_percent: u32,
    /// Attempts a job is allowed before it is discarded (1 to 100).
    #[arg(long, default_value = "3", value_parser = max_attempts, allow_negative_numbers = true)]
    max_attempts: u32,
    /// Run the jobs no earlier than this many milliseconds from now (0 to 60000).
    #[arg(long, default_value = "0", value_parser = cli::millis, allow_negative_numbers = true)]
    delay_ms: Duration,
    /// Give job i the idempotency key PREFIX-i: enqueueing again adds nothing twice.
    #[arg(long, value_name = "PREFIX")]
    key_prefix: Option<String>,
    /// Jobs per transaction (1 to 10000).
    #[arg(long, default_value = "100", value_parser = batch, allow_negative_numbers = true)]
    batch: usize,
    /// Seed for work times and failures.
    #[arg(long, default_value = "10")]
    seed: u64,
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
    /// After SIGINT or SIGTERM, how long running jobs may take before they are handed back (1 to 60000).
    #[arg(long, default_value = "10000", value_parser = cli::positive_millis, allow_negative_numbers = true)]
    grace_ms: Duration,
    /// First backoff ceiling after a failure, in milliseconds (1 to 60000).
    #[arg(long, default_value = "100", value_parser = cli::positive_millis, allow_negative_numbers = true)]
    backoff_ms: Duration,
    /// Seed for the backoff's jitter.
    #[arg(long, default_value = "10")]
    seed: u64,
    /// Leave once no job is waiting or running anywhere.
    #[arg(long)]
    exit_when_idle: bool,
    /// Print nothing per job.
    #[arg(long)]
    quiet: bool,
    #[command(flatten)]
    log: LogFlags,
    /// Count printed times from this wall-clock instant (ms since the Unix epoch).
    #[arg(long, hide = true)]
    since_ms: Option<u64>,
}

#[derive(ClapArgs)]
struct StatusArgs {
    #[command(flatten)]
    db: DbArg,
    /// One JSON object: a key per state, and effects_applied.
    #[arg(long)]
    json: bool,
}

#[derive(ClapArgs)]
struct JobArgs {
    #[command(flatten)]
    db: DbArg,
    /// The job's id.
    #[arg(value_name = "JOB_ID", value_parser = clap::value_parser!(i64).range(1..))]
    id: i64,
}

fn whole(s: &str, low: u64, high: u64) -> Result<u64, String> {
    match s.trim().parse::<u64>() {
        Ok(n) if (low..=high).contains(&n) => Ok(n),
        _ => Err(format!("expected a whole number from {low} to {high}")),
    }
}

fn max_attempts(s: &str) -> Result<u32, String> {
    whole(s, 1, 100).map(|n| n as u32)
}

fn batch(s: &str) -> Result<usize, String> {
    whole(s, 1, 10_000).map(|n| n as usize)
}

pub(crate) fn lease_ms(s: &str) -> Result<Duration, String> {
    whole(s, 100, 600_000).map(Duration::from_millis)
}

fn main() -> ExitCode {
    let args: Args = cli::parse();
    let result = match args.command {
        None => return demo::main(&args.demo),
        Some(Command::Enqueue(a)) => enqueue(&a).map_err(|e| e.to_string()),
        Some(Command::Worker(a)) => run_worker(&a).map_err(|e| e.to_string()),
        Some(Command::Status(a)) => status(&a).map_err(|e| e.to_string()),
        Some(Command::Retry(a)) => retry(&a).map_err(|e| e.to_string()),
        Some(Command::Cancel(a)) => cancel(&a).map_err(|e| e.to_string()),
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

fn open(db: &DbArg, backoff: Backoff) -> Result<Store, StoreError> {
    Store::connect(&db.database_url, backoff)
}

fn give_up_ms(s: &str) -> Result<Duration, String> {
    whole(s, 1, 600_000).map(Duration::from_millis)
}

fn now() -> Duration {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
}

/// A name no other worker has: this machine's name and this process's id.
fn default_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "host".into());
    format!("{host}-{}", std::process::id())
}

// ANCHOR: enqueue_cmd
fn enqueue(a: &EnqueueArgs) -> Result<(), StoreError> {
    let mut store = open(&a.db, Backoff::default())?;
    let plan = work::plan(
        a.first,
        a.jobs,
        a.work_ms.as_millis() as u64,
        a.fail_percent,
        a.seed,
    );
    let (mut new, mut existing) = (0, 0);
    for (chunk_no, chunk) in plan.chunks(a.batch).enumerate() {
        let jobs: Vec<NewJob> = chunk
            .iter()
            .enumerate()
            .map(|(i, d)| NewJob {
                payload: d.to_payload(),
                max_attempts: a.max_attempts,
                delay_ms: a.delay_ms.as_millis() as u64,
                key: a
                    .key_prefix
                    .as_ref()
                    .map(|p| format!("{p}-{}", chunk_no * a.batch + i + 1)),
            })
            .collect();
        let ids = store.enqueue(&jobs)?;
        new += ids.iter().filter(|e| matches!(e, Enqueued::New(_))).count();
        existing += ids.len() - ids.iter().filter(|e| matches!(e, Enqueued::New(_))).count();
        // Printed only after the commit: a line here is a promise that these jobs are stored.
        println!(
            "committed {} jobs (ids {}..={})",
            ids.len(),
            ids.first().map_or(0, |e| e.id()),
            ids.last().map_or(0, |e| e.id())
        );
        let _ = std::io::stdout().flush();
    }
    println!("Enqueued {new} new jobs ({existing} were already there, by key).");
    Ok(())
}
// ANCHOR_END: enqueue_cmd

fn run_worker(a: &WorkerArgs) -> Result<(), Box<dyn Error>> {
    let backoff = Backoff {
        base: a.backoff_ms,
        cap: Duration::from_secs(30),
        seed: a.seed,
    };
    let store = open(&a.db, backoff)?;
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    // SIGINT and SIGTERM both mean: claim nothing more, finish what is running, leave.
    let _ = ctrlc::set_handler(move || flag.store(true, Ordering::Release));
    let name = a.name.clone().unwrap_or_else(default_name);
    let config = worker::Config {
        url: a.db.database_url.clone(),
        name: name.clone(),
        threads: a.threads,
        lease: a.lease_ms,
        claim_batch: a.claim_batch.unwrap_or(a.threads),
        poll: a.poll_ms,
        rescue_every: a.rescue_ms,
        exit_when_idle: a.exit_when_idle,
        grace: a.grace_ms,
        give_up_after: a.give_up_ms,
        backoff,
    };
    let since = a.since_ms.map_or_else(now, Duration::from_millis);
    if !a.quiet {
        a.log.init(UNIX_EPOCH + since)?;
    }
    let label = name.clone();
    let on_event = move |event: Event| {
        if let Event::Disconnected(why) = &event {
            // The cause goes to stderr: it varies with how the connection broke.
            eprintln!("worker {label}: lost the server: {why}");
        }
    };
    let s = worker::run(store, &config, work::run, &stop, on_event)?;
    let counts = format!(
        "claimed {}, completed {}, failed {}, rescued {}, in {} transactions; \
         woken {} times by a notification, reconnected {} times.",
        s.claimed, s.completed, s.failed, s.rescued, s.turns, s.woken, s.reconnects
    );
    match a.log.format {
        _ if a.quiet => {}
        Format::Readable => println!("worker {name}: {counts}"),
        Format::Json => tracing::info!(
            worker = name.as_str(),
            claimed = s.claimed,
            completed = s.completed,
            failed = s.failed,
            rescued = s.rescued,
            transactions = s.turns,
            woken = s.woken,
            reconnects = s.reconnects,
            "leaving: {counts}"
        ),
    }
    Ok(())
}

fn status(a: &StatusArgs) -> Result<(), StoreError> {
    let mut store = open(&a.db, Backoff::default())?;
    let counts = store.counts()?;
    if a.json {
        let mut map = serde_json::Map::new();
        for state in State::ALL {
            map.insert(state.as_str().into(), counts.of(state).into());
        }
        map.insert("effects_applied".into(), counts.effects.into());
        println!("{}", serde_json::Value::Object(map));
        return Ok(());
    }
    println!("{}: {} jobs", store.server(), counts.total());
    for state in State::ALL {
        println!("  {:<10} {:>7}", state.as_str(), counts.of(state));
    }
    println!("  effects applied {:>7}", counts.effects);
    Ok(())
}

fn retry(a: &JobArgs) -> Result<(), StoreError> {
    let job = open(&a.db, Backoff::default())?.retry(a.id)?;
    println!("{}", job_line("retried", &job));
    Ok(())
}

fn cancel(a: &JobArgs) -> Result<(), StoreError> {
    let job = open(&a.db, Backoff::default())?.cancel(a.id)?;
    println!("{}", job_line("cancelled", &job));
    Ok(())
}

fn job_line(verb: &str, job: &Job) -> String {
    format!(
        "{verb} job {}: now {}, {} of {} attempts used",
        job.id, job.state, job.attempts, job.max_attempts
    )
}
