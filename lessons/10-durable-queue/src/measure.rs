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

use clap::Args as ClapArgs;
use course_support::{cli, human};
use lesson_10::job::State;
use lesson_10::store::{Durability, Store};
use lesson_10::throughput::{self, Timed};
use lesson_10::work;
use lesson_10::worker;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

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

/// The lease of a worker process: the `worker` command's default, renewed every third of it.
const WORKER_LEASE: Duration = Duration::from_millis(2000);

/// Worker processes in the end-to-end rows.
const PROCESSES: [usize; 3] = [1, 2, 4];

/// Threads in an unbatched worker process: one job runs while the next is claimed.
const UNBATCHED_THREADS: usize = 2;

/// How often a worker process with nothing to claim looks again. It matters only once the
/// queue is empty: the processes that run out first wait this long to see the others end.
const POLL: Duration = Duration::from_millis(5);

/// The lesson's targets on the course's 2-core machine: unbatched end to end at least this
/// share of the bare transaction rate, batched end to end at least this many jobs a second.
const UNBATCHED_SHARE: f64 = 0.5;
const BATCHED_RATE: f64 = 20_000.0;

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

const WHAT: usize = 42;

// ANCHOR: table
fn table(rows: &[Row]) {
    let bare = rows[0].per_second();
    println!(
        "  | {:<WHAT$} | {:>6} | {:>8} | {:>9} | {:>7} | {:>6} |",
        "what", "count", "time", "per s", "vs bare", "tx/job"
    );
    println!(
        "  |{:-<w$}|{:-<8}|{:-<10}|{:-<11}|{:-<9}|{:-<8}|",
        "",
        "",
        "",
        "",
        "",
        "",
        w = WHAT + 2
    );
    for row in rows {
        println!(
            "  | {:<WHAT$} | {:>6} | {:>8} | {:>9} | {:>6.2}× | {:>6.3} |",
            row.spec.label(),
            row.count,
            human(row.middle.took),
            grouped(row.per_second()),
            row.per_second() / bare,
            row.middle.transactions as f64 / row.count as f64
        );
    }
    println!();
}
// ANCHOR_END: table

/// Jobs per second as bars on a doubling scale: each block is twice the rate of the block
/// before, so a few hundred and a few hundred thousand fit on one screen.
fn picture(rows: &[Row]) {
    println!(
        "  Jobs per second, longer is faster; a bar starts at 1 a second and each █ doubles it:"
    );
    for row in rows {
        let rate = row.per_second();
        let eighths = (rate.max(1.0).log2() * 8.0).round() as usize;
        let partial = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"][eighths % 8];
        println!(
            "  {:<WHAT$} │{}{partial} {}",
            row.spec.label(),
            "█".repeat(eighths / 8),
            grouped(rate)
        );
    }
    println!();
}

// ANCHOR: targets
/// A line per target: met or MISSED, judged on the best of the end-to-end rows of its kind,
/// with every one of them shown.
fn targets(rows: &[Row]) {
    let bare = rows[0].per_second();
    let end_to_end = |batched: bool| -> Vec<(usize, f64)> {
        rows.iter()
            .filter_map(|row| match row.spec {
                Spec::EndToEnd(p, b) if b.is_some() == batched => Some((p, row.per_second())),
                _ => None,
            })
            .collect()
    };
    let best = |list: &[(usize, f64)]| {
        list.iter().copied().fold(
            (0, 0.0),
            |best, (p, r)| if r > best.1 { (p, r) } else { best },
        )
    };
    println!("Targets (set for the course's 2-core machine), judged on this run:");
    let unbatched = end_to_end(false);
    let (p, rate) = best(&unbatched);
    let by: Vec<String> = unbatched
        .iter()
        .map(|(p, r)| format!("{p}: {:.2}×", r / bare))
        .collect();
    println!(
        "  unbatched end to end at least {UNBATCHED_SHARE}× the bare transaction rate: {} \
         (best {:.2}× with {p} {}; by processes {})",
        verdict(rate >= UNBATCHED_SHARE * bare),
        rate / bare,
        noun(p),
        by.join(", ")
    );
    let batched = end_to_end(true);
    let (p, rate) = best(&batched);
    let by: Vec<String> = batched
        .iter()
        .map(|(p, r)| format!("{p}: {}", grouped(*r)))
        .collect();
    println!(
        "  batched end to end at least {} jobs/s: {} (best {} with {p} {}; by processes {})",
        grouped(BATCHED_RATE),
        verdict(rate >= BATCHED_RATE),
        grouped(rate),
        noun(p),
        by.join(", ")
    );
}
// ANCHOR_END: targets

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "MISSED" }
}

fn noun(processes: usize) -> &'static str {
    if processes == 1 {
        "process"
    } else {
        "processes"
    }
}

/// A whole number with its thousands apart: `23 456`.
fn grouped(x: f64) -> String {
    let digits = format!("{:.0}", x.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// The `--synchronous` value for `durability`.
fn durability_flag(durability: Durability) -> &'static str {
    match durability {
        Durability::Full => "full",
        Durability::Normal => "normal",
    }
}

/// Where the measurements put their files, and how they open them.
struct Bench {
    folder: PathBuf,
    durability: Durability,
}

impl Bench {
    /// Runs `spec` on `n` jobs in a fresh file called `file`, and removes the file after.
    fn measure(&self, spec: Spec, n: usize, file: &str) -> Result<Timed, Fail> {
        let path = self.folder.join(file);
        let mut store = throughput::open(&path, self.durability)?;
        let measured = match spec {
            Spec::Bare => throughput::bare(&mut store, n)?,
            Spec::Enqueue(per) => {
                let timed = throughput::enqueue(&mut store, &throughput::jobs(1, n), per)?;
                let waiting = store.counts()?.of(State::Available);
                if waiting != n as u64 {
                    return Err(format!("{}: {waiting} of {n} jobs stored", spec.label()).into());
                }
                timed
            }
            Spec::Claim(per) => {
                throughput::fill(&mut store, n)?;
                let timed = throughput::claim_and_complete(&mut store, per)?;
                check(&store, n, &spec.label())?;
                timed
            }
            Spec::EndToEnd(processes, batch) => {
                throughput::fill(&mut store, n)?;
                let timed = end_to_end(&path, self.durability, processes, batch.unwrap_or(1))?;
                check(&store, n, &spec.label())?;
                timed
            }
        };
        drop(store);
        // The last connection to close removes the log files; the database goes here.
        let _ = std::fs::remove_file(&path);
        Ok(measured)
    }
}

// ANCHOR: end_to_end
/// `processes` worker processes drain the queue at `db`, each claiming up to `claim` jobs a
/// turn; timed from the first start to the last exit.
fn end_to_end(
    db: &Path,
    durability: Durability,
    processes: usize,
    claim: usize,
) -> Result<Timed, Fail> {
    let exe = std::env::current_exe()?;
    let clock = Instant::now();
    let mut children = Vec::new();
    for _ in 0..processes {
        let child = Command::new(&exe)
            .arg("measure")
            .arg("--worker-db")
            .arg(db)
            .args(["--worker-claim", &claim.to_string()])
            .args(["--synchronous", durability_flag(durability)])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start a worker process: {e}"))?;
        children.push(child);
    }
    let outputs: Vec<_> = children
        .into_iter()
        .map(|child| child.wait_with_output())
        .collect::<Result<_, _>>()?;
    let took = clock.elapsed();
    let mut transactions = 0;
    for out in outputs {
        let line = String::from_utf8_lossy(&out.stdout);
        let turns = line
            .trim()
            .strip_prefix("ok ")
            .and_then(|t| t.parse::<u64>().ok());
        match turns {
            Some(turns) if out.status.success() => transactions += turns,
            _ => {
                let stderr = String::from_utf8_lossy(&out.stderr);
                return Err(format!(
                    "a worker process failed ({}): {}",
                    out.status,
                    stderr.lines().next().unwrap_or("no message")
                )
                .into());
            }
        }
    }
    Ok(Timed { took, transactions })
}
// ANCHOR_END: end_to_end

// ANCHOR: worker_process
/// One worker process of an end-to-end row: the `worker` command's loop with its defaults and
/// no output per job, leaving once the queue is empty, then one line for the parent:
/// `ok TRANSACTIONS`. (`worker --quiet` runs the same loop but keeps its count to itself.)
fn worker_process(db: &Path, durability: Durability, claim: usize) -> Result<(), Fail> {
    let store = throughput::open(db, durability)?;
    let threads = if claim == 1 { UNBATCHED_THREADS } else { claim };
    let config = worker::Config {
        name: format!("p{}", std::process::id()),
        threads,
        lease: WORKER_LEASE,
        claim_batch: claim,
        poll: POLL,
        exit_when_idle: true,
        grace: Duration::from_secs(10),
    };
    let stop = AtomicBool::new(false);
    let summary = worker::run(store, &config, work::run, &stop, |_| {})?;
    println!("ok {}", summary.turns);
    Ok(())
}
// ANCHOR_END: worker_process

/// Fails unless every one of the `n` jobs completed with exactly one effect.
fn check(store: &Store, n: usize, what: &str) -> Result<(), Fail> {
    let counts = store.counts()?;
    let completed = counts.of(State::Completed);
    if completed != n as u64 || counts.effects != n as u64 || counts.doubled != 0 {
        return Err(format!(
            "{what}: {completed} of {n} jobs completed with {} effects ({} jobs with more than \
             one); every job should complete exactly once",
            counts.effects, counts.doubled
        )
        .into());
    }
    Ok(())
}
