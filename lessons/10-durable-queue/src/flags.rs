//! The command line that lesson 11 reuses as it is: the queue's commands and their flags (through
//! `#[command(flatten)]`), and what the `enqueue` command does with them. Only where a queue
//! lives (`--db PATH` here, `--database-url URL` there) and a few of the worker's flags differ
//! between the two lessons, so the commands are generic over those.

use crate::job::{Job, NewJob, State};
use crate::store::{Counts, Enqueued};
use crate::work;
use clap::{Args, Subcommand};
use course_support::cli;
use course_support::log::LogFlags;
use std::io::Write as _;
use std::time::Duration;

/// The queue's commands: the queue is reached through the flags `Db`, and a worker runs with
/// the flags `Worker`. Lesson 11 reuses them with its own `Db` and `Worker`.
#[derive(Subcommand, Debug, Clone)]
pub enum QueueCommand<Db: Args, Worker: Args> {
    /// Adds jobs that double numbers.
    Enqueue(EnqueueArgs<Db>),
    /// Runs jobs from the queue until stopped (SIGINT or SIGTERM finish what is running first).
    Worker(Worker),
    /// Counts jobs per state, and effects applied.
    Status(StatusArgs<Db>),
    /// Puts a discarded, cancelled or retryable job back to run now.
    Retry(JobArgs<Db>),
    /// Cancels a job that is waiting.
    Cancel(JobArgs<Db>),
}

/// `enqueue`: where the queue is, then what to add.
#[derive(Args, Debug, Clone)]
pub struct EnqueueArgs<Db: Args> {
    /// Where the queue is.
    #[command(flatten)]
    pub db: Db,
    /// What to add.
    #[command(flatten)]
    pub flags: EnqueueFlags,
}

/// `status`: where the queue is, and in which form to answer.
#[derive(Args, Debug, Clone)]
pub struct StatusArgs<Db: Args> {
    /// Where the queue is.
    #[command(flatten)]
    pub db: Db,
    /// One JSON object: a key per state, and effects_applied.
    #[arg(long)]
    pub json: bool,
}

/// `retry` and `cancel`: where the queue is, and which job.
#[derive(Args, Debug, Clone)]
pub struct JobArgs<Db: Args> {
    /// Where the queue is.
    #[command(flatten)]
    pub db: Db,
    /// The job's id.
    #[arg(value_name = "JOB_ID", value_parser = clap::value_parser!(i64).range(1..))]
    pub id: i64,
}

/// `enqueue`'s flags, after the queue's address. Lesson 11 reuses them.
#[derive(Args, Debug, Clone)]
pub struct EnqueueFlags {
    /// Jobs to add (0 to 1000000).
    #[arg(long, default_value = "10", value_parser = cli::jobs, allow_negative_numbers = true)]
    pub jobs: usize,
    /// The first number to double; the jobs double it and the numbers after it.
    #[arg(long, default_value = "1", allow_negative_numbers = true)]
    pub first: i64,
    /// Mean work time of a job in milliseconds (0 to 60000).
    #[arg(long, default_value = "50", value_parser = cli::millis, allow_negative_numbers = true)]
    pub work_ms: Duration,
    /// Chance that an attempt fails on purpose, in percent (0 to 100).
    #[arg(long, default_value = "0", value_parser = cli::percent, allow_negative_numbers = true)]
    pub fail_percent: u32,
    /// Attempts a job is allowed before it is discarded (1 to 100).
    #[arg(long, default_value = "3", value_parser = max_attempts, allow_negative_numbers = true)]
    pub max_attempts: u32,
    /// Run the jobs no earlier than this many milliseconds from now (0 to 60000).
    #[arg(long, default_value = "0", value_parser = cli::millis, allow_negative_numbers = true)]
    pub delay_ms: Duration,
    /// Give job i the idempotency key PREFIX-i: enqueueing again adds nothing twice.
    #[arg(long, value_name = "PREFIX")]
    pub key_prefix: Option<String>,
    /// Jobs per transaction (1 to 10000).
    #[arg(long, default_value = "100", value_parser = batch, allow_negative_numbers = true)]
    pub batch: usize,
    /// Seed for work times and failures.
    #[arg(long, default_value = "10")]
    pub seed: u64,
}

/// The last of `worker`'s flags: how it stops, backs off and prints. Lesson 11 reuses them.
#[derive(Args, Debug, Clone)]
pub struct WorkerFlags {
    /// After SIGINT or SIGTERM, how long running jobs may take before they are handed back (1 to 60000).
    #[arg(long, default_value = "10000", value_parser = cli::positive_millis, allow_negative_numbers = true)]
    pub grace_ms: Duration,
    /// First backoff ceiling after a failure, in milliseconds (1 to 60000).
    #[arg(long, default_value = "100", value_parser = cli::positive_millis, allow_negative_numbers = true)]
    pub backoff_ms: Duration,
    /// Seed for the backoff's jitter.
    #[arg(long, default_value = "10")]
    pub seed: u64,
    /// Leave once no job is waiting or running anywhere.
    #[arg(long)]
    pub exit_when_idle: bool,
    /// Print nothing per job.
    #[arg(long)]
    pub quiet: bool,
    /// `--log-format`: readable lines or JSON.
    #[command(flatten)]
    pub log: LogFlags,
    /// Count printed times from this wall-clock instant (ms since the Unix epoch).
    #[arg(long, hide = true)]
    pub since_ms: Option<u64>,
}

// ANCHOR: enqueue_cmd
/// `enqueue`: adds the jobs the flags ask for, a batch per transaction, through `enqueue` (the
/// store's own; lesson 11 passes its server's), and says what it stored.
pub fn enqueue<E>(
    a: &EnqueueFlags,
    mut enqueue: impl FnMut(&[NewJob]) -> Result<Vec<Enqueued>, E>,
) -> Result<(), E> {
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
        let ids = enqueue(&jobs)?;
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

/// `status`: the counts per state and the effects applied, as one JSON object or as a table
/// headed by the queue's `place` (its file, or its server).
pub fn print_status(place: &str, counts: &Counts, json: bool) {
    if json {
        let mut map = serde_json::Map::new();
        for state in State::ALL {
            map.insert(state.as_str().into(), counts.of(state).into());
        }
        map.insert("effects_applied".into(), counts.effects.into());
        println!("{}", serde_json::Value::Object(map));
        return;
    }
    println!("{place}: {} jobs", counts.total());
    for state in State::ALL {
        println!("  {:<10} {:>7}", state.as_str(), counts.of(state));
    }
    println!("  effects applied {:>7}", counts.effects);
}

/// `retry` and `cancel`: the job a person moved (`verb`: `retried`, `cancelled`), as it is now.
pub fn print_moved<E>(verb: &str, moved: Result<Job, E>) -> Result<(), E> {
    let job = moved?;
    println!(
        "{verb} job {}: now {}, {} of {} attempts used",
        job.id, job.state, job.attempts, job.max_attempts
    );
    Ok(())
}

/// A whole number from `low` to `high`, or the error clap prints.
pub fn whole(s: &str, low: u64, high: u64) -> Result<u64, String> {
    match s.trim().parse::<u64>() {
        Ok(n) if (low..=high).contains(&n) => Ok(n),
        _ => Err(format!("expected a whole number from {low} to {high}")),
    }
}

/// As [`whole`], for a count.
pub fn count(s: &str, low: usize, high: usize) -> Result<usize, String> {
    whole(s, low as u64, high as u64).map(|n| n as usize)
}

fn max_attempts(s: &str) -> Result<u32, String> {
    whole(s, 1, 100).map(|n| n as u32)
}

fn batch(s: &str) -> Result<usize, String> {
    whole(s, 1, 10_000).map(|n| n as usize)
}
