//! The demo: worker processes share one queue file; the first is killed mid-job.
//!
//! This file is the script; `demo/workers.rs` starts the worker processes and reads their lines,
//! and `demo/report.rs` prints the queue at the end and checks that nothing was lost.

mod report;
mod workers;

use report::report;
use workers::spawn;

use clap::Args as ClapArgs;
use course_support::svg;
use lesson_10::backoff::Backoff;
use lesson_10::clock::{Clock, WallClock};
use lesson_10::flags::count;
use lesson_10::job::NewJob;
use lesson_10::store::{Durability, Store};
use lesson_10::watch;

/// Why the demo stopped: a database error or a worker process that misbehaved.
type Fail = Box<dyn std::error::Error>;
use lesson_10::work;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

/// What is probably wrong when no worker says anything for a minute.
const STUCK: &str = "is one stuck waiting for a lock?";

/// The demo's flags.
#[derive(ClapArgs)]
pub struct Flags {
    /// Worker processes started after the first one is killed (1 to 8).
    #[arg(long, default_value = "2", value_parser = |s: &str| count(s, 1, 8), allow_negative_numbers = true)]
    workers: usize,
    /// Threads in each worker process's pool (1 to 8).
    #[arg(long, default_value = "2", value_parser = |s: &str| count(s, 1, 8), allow_negative_numbers = true)]
    threads: usize,
    /// Jobs to enqueue, at least as many as --threads (1 to 1000).
    #[arg(long, default_value = "12", value_parser = |s: &str| count(s, 1, 1000), allow_negative_numbers = true)]
    jobs: usize,
    /// Mean work time of a job in milliseconds; the killed worker's jobs take six times as long (10 to 2000).
    #[arg(long, default_value = "100", value_parser = |s: &str| count(s, 10, 2000), allow_negative_numbers = true)]
    work_ms: usize,
    /// How long a claim lasts unless renewed, in milliseconds (100 to 10000).
    #[arg(long, default_value = "400", value_parser = |s: &str| count(s, 100, 10_000), allow_negative_numbers = true)]
    lease_ms: usize,
    /// Chance that an attempt fails on purpose, in percent (0 to 100).
    #[arg(long, default_value = "20", value_parser = course_support::cli::percent, allow_negative_numbers = true)]
    fail_percent: u32,
    /// Attempts a job is allowed before it is discarded (1 to 100).
    #[arg(long, default_value = "3", value_parser = |s: &str| count(s, 1, 100), allow_negative_numbers = true)]
    max_attempts: usize,
    /// Seed for work times, failures and backoff.
    #[arg(long, default_value = "10")]
    seed: u64,
    #[command(flatten)]
    picture: svg::SvgFlag,
}

pub fn run(f: &Flags) -> Result<(), Fail> {
    let threads = f.threads.min(f.jobs);
    let dir = tempfile::tempdir().map_err(|e| format!("cannot make a temporary folder: {e}"))?;
    let db = db_in(dir.path());
    let t0 = WallClock.now();
    let mut store = Store::open(
        &db,
        Durability::Full,
        Arc::new(WallClock),
        Backoff::default(),
    )?;
    println!("Lesson 10: a job queue that survives a crash");
    println!(
        "A fresh queue in a temporary folder (SQLite, WAL journal, synchronous=FULL); \
         leases of {} ms, up to {} attempts a job.",
        f.lease_ms, f.max_attempts
    );

    // ANCHOR: demo_plan
    let mut plan = work::plan(1, f.jobs, f.work_ms as u64, f.fail_percent, f.seed);
    // The first worker's jobs are long, so it is surely in the middle of them when it is killed.
    for job in plan.iter_mut().take(threads) {
        job.work_ms = f.work_ms as u64 * 6;
    }
    // ANCHOR_END: demo_plan
    let jobs: Vec<NewJob> = plan
        .iter()
        .map(|d| NewJob {
            payload: d.to_payload(),
            max_attempts: f.max_attempts as u32,
            delay_ms: 0,
            key: Some(format!("double-{}", d.n)),
        })
        .collect();
    let enqueued = store.enqueue(&jobs)?.len();
    println!(
        "Enqueued {enqueued} jobs that double 1..={}. Jobs 1..={threads} take {} ms; \
         the others about {} ms. Attempts fail on purpose for jobs {}.",
        f.jobs,
        f.work_ms * 6,
        f.work_ms,
        work::failing(&plan)
    );
    println!();

    let (tx, lines) = mpsc::channel();
    println!("1. Worker 1 starts alone, with {threads} threads, and claims what it has room for.");
    let mut first = spawn(&db, "1", threads, f, t0, &tx)?;
    watch::until_it_took(&lines, threads, STUCK)?;
    // A third of the way into its long jobs: well inside them, however slow the machine.
    std::thread::sleep(Duration::from_millis(f.work_ms as u64 * 2));
    // ANCHOR: kill
    // SIGKILL: no signal handler runs, no destructor, no rollback. What worker 1 committed is
    // in the file; what it was doing is not.
    first
        .kill()
        .map_err(|e| demo_error(&format!("could not kill worker 1: {e}")))?;
    let _ = first.wait();
    // ANCHOR_END: kill
    let killed_at = WallClock.now();
    println!(
        "   Killed it with SIGKILL a third of the way into jobs 1..={threads}. The file still says \
         they are running, leased to it, until the lease runs out."
    );
    println!();
    println!(
        "2. Workers 2..={} start, {threads} threads each. They take the other jobs now, and \
         jobs 1..={threads} once the killed worker's lease has run out.",
        f.workers + 1
    );
    let mut children: Vec<Child> = Vec::new();
    for w in 2..=f.workers + 1 {
        children.push(spawn(&db, &w.to_string(), threads, f, t0, &tx)?);
    }
    drop(tx);
    // Worker 1's output, which ended when it was killed, counts among them.
    watch::until_all_left(&lines, f.workers + 1, &mut children, STUCK, |_, _| Ok(()))?;
    println!("   Every worker has left: no job is waiting or running.");
    println!();

    report(&store, enqueued, f, threads, t0, killed_at)
}

fn demo_error(message: &str) -> Fail {
    message.into()
}

/// Where the demo keeps its database: named so a person can find it while the demo runs.
fn db_in(dir: &Path) -> PathBuf {
    dir.join("queue.db")
}
