//! `cargo run --release -p lesson-10 -- measure`: how many jobs a second the queue moves, beside
//! the most this disk allows, the same number of bare one-row transactions.
//!
//! Every measurement runs on a fresh file in a temporary folder, opened with the queue's own
//! settings, so the rows differ only in what each transaction does and how many jobs share one:
//!
//! - bare transactions: `BEGIN IMMEDIATE; INSERT one row; COMMIT`, the store's own limit;
//! - enqueue: one job per transaction, then a batch per transaction;
//! - claim and complete, in this process: each turn completes the jobs of the turn before and
//!   claims the next, one job per turn, then a batch per turn;
//! - end to end: 1, 2 and 4 worker processes drain jobs that do no work, timed from the first
//!   start to the last exit.
//!
//! The rows take turns, round after round, so a moment when the disk is slow (another program
//! writing) falls on every row alike; the table shows each row's middle round. It ends with a
//! bar picture and a verdict on each of the lesson's targets, from this run's figures.
//! `benches/queue.rs` measures the in-process rows again with criterion.
//!
//! This file holds the flags, the rows and the order they run in; `measure/scenarios.rs` runs
//! each measurement, and `measure/table.rs` prints the table, the picture and the verdicts.

mod scenarios;
mod table;

use lesson_10::numbers::noun;
use scenarios::{Bench, durability_flag, worker_process};
use table::{picture, table, targets};

use clap::Args as ClapArgs;
use course_support::{cli, human};
use lesson_10::store::Durability;
use lesson_10::throughput::Timed;
use std::path::PathBuf;
use std::time::Instant;

/// Why a measurement stopped: a database error, or worker processes that did not do the work.
type Fail = Box<dyn std::error::Error>;

/// The measurement's flags.
#[derive(ClapArgs)]
pub struct Flags {
    /// Jobs in each row of the table, and bare transactions in the first (1 to 100000).
    #[arg(long, default_value = "2000", value_parser = jobs, allow_negative_numbers = true)]
    jobs: usize,
    /// Jobs per transaction in the batched rows, and threads per batched worker process (2 to
    /// 1024).
    #[arg(long, default_value = "64", value_parser = batch, allow_negative_numbers = true)]
    batch: usize,
    /// Rounds of every row; the table shows each row's middle one (1 to 20).
    #[arg(long, default_value = "3", value_parser = rounds, allow_negative_numbers = true)]
    rounds: usize,
    /// How safe commits are from a power cut: full (the default) or normal.
    #[arg(long, default_value = "full", value_parser = super::durability)]
    synchronous: Durability,
    /// Where to put the temporary queue files (default: the system's temporary folder). The
    /// figures are that disk's.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Internal: be one worker process of an end-to-end row, on this queue file.
    #[arg(long, hide = true, value_name = "PATH")]
    worker_db: Option<PathBuf>,
    /// Internal: the most jobs that worker claims in one turn.
    #[arg(long, hide = true, default_value = "1", value_parser = cli::workers)]
    worker_claim: usize,
}

fn jobs(s: &str) -> Result<usize, String> {
    super::whole(s, 1, 100_000).map(|n| n as usize)
}

fn batch(s: &str) -> Result<usize, String> {
    super::whole(s, 2, 1024).map(|n| n as usize)
}

fn rounds(s: &str) -> Result<usize, String> {
    super::whole(s, 1, 20).map(|n| n as usize)
}

/// Worker processes in the end-to-end rows.
const PROCESSES: [usize; 3] = [1, 2, 4];

/// One measurement: what runs, and how many jobs share a transaction.
#[derive(Debug, Clone, Copy)]
enum Spec {
    /// Bare one-row transactions.
    Bare,
    /// Enqueue, this many jobs per transaction.
    Enqueue(usize),
    /// Claim and complete in this process, this many jobs per turn.
    Claim(usize),
    /// Worker processes, each claiming one job a turn (`None`) or up to a batch.
    EndToEnd(usize, Option<usize>),
}

impl Spec {
    fn label(self) -> String {
        match self {
            Spec::Bare => "bare transactions, one row each".into(),
            Spec::Enqueue(1) => "enqueue, 1 job per transaction".into(),
            Spec::Enqueue(b) => format!("enqueue, {b} jobs per transaction"),
            Spec::Claim(1) => "claim and complete, 1 job per turn".into(),
            Spec::Claim(b) => format!("claim and complete, {b} jobs per turn"),
            Spec::EndToEnd(p, None) => format!("end to end, {p} {}, unbatched", noun(p)),
            Spec::EndToEnd(p, Some(b)) => {
                format!("end to end, {p} {}, batches of {b}", noun(p))
            }
        }
    }
}

/// One row of the table: the middle round.
struct Row {
    spec: Spec,
    /// Jobs, or transactions for the bare row.
    count: usize,
    middle: Timed,
}

impl Row {
    fn per_second(&self) -> f64 {
        self.count as f64 / self.middle.took.as_secs_f64().max(1e-9)
    }
}

/// Runs every measurement and prints the table, the picture and the verdicts (or, with the
/// hidden `--worker-db`, is one worker process of an end-to-end row).
pub fn run(flags: &Flags) -> Result<(), Fail> {
    if let Some(db) = &flags.worker_db {
        return worker_process(db, flags.synchronous, flags.worker_claim);
    }
    let started = Instant::now();
    let folder = match &flags.dir {
        Some(dir) => tempfile::Builder::new()
            .prefix("lesson-10-measure")
            .tempdir_in(dir),
        None => tempfile::Builder::new()
            .prefix("lesson-10-measure")
            .tempdir(),
    }
    .map_err(|e| format!("cannot make a temporary folder: {e}"))?;
    let (n, b) = (flags.jobs, flags.batch);
    println!("Lesson 10: what a durable job costs");
    println!(
        "{n} jobs per row (jobs that do no work), WAL with synchronous={}, a fresh file for \
         every\nmeasurement in {}; the rows take turns for {} and the table shows \
         each row's middle one.",
        durability_flag(flags.synchronous).to_uppercase(),
        folder.path().parent().unwrap_or(folder.path()).display(),
        match flags.rounds {
            1 => "1 round".to_string(),
            r => format!("{r} rounds"),
        }
    );
    println!(
        "The first row is the disk's own limit: {n} transactions of BEGIN IMMEDIATE, one INSERT, \
         COMMIT.\n"
    );
    let mut specs = vec![
        Spec::Bare,
        Spec::Enqueue(1),
        Spec::Enqueue(b),
        Spec::Claim(1),
        Spec::Claim(b),
    ];
    specs.extend(PROCESSES.map(|p| Spec::EndToEnd(p, None)));
    specs.extend(PROCESSES.map(|p| Spec::EndToEnd(p, Some(b))));
    let bench = Bench {
        folder: folder.path().to_path_buf(),
        durability: flags.synchronous,
    };
    let mut results: Vec<Vec<Timed>> = vec![Vec::new(); specs.len()];
    for round in 0..flags.rounds {
        for (i, spec) in specs.iter().enumerate() {
            let file = format!("r{round}-{i}.db");
            results[i].push(bench.measure(*spec, n, &file)?);
        }
    }
    let rows: Vec<Row> = specs
        .iter()
        .zip(results)
        .map(|(spec, mut rounds)| {
            rounds.sort_by_key(|m| m.took);
            Row {
                spec: *spec,
                count: n,
                middle: rounds[rounds.len() / 2],
            }
        })
        .collect();
    table(&rows);
    picture(&rows);
    targets(&rows);
    println!("\nThe whole measurement took {}.", human(started.elapsed()));
    Ok(())
}
