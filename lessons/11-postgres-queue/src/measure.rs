//! `cargo run --release -p lesson-11 -- measure`: how many jobs a second the queue moves end to
//! end, with 1, 2, 4 and 8 worker processes claiming 1, 10 and 100 jobs a turn, beside what the
//! same server does for `pgbench` with as many clients.
//!
//! Everything runs against one server: the one given with `--database-url`, or a throwaway one
//! started for the measurement. The rows:
//!
//! - `pgbench -N` (its built-in simple-update script: `BEGIN`, an `UPDATE` of one account, a
//!   `SELECT`, an `INSERT` into the history, `END`) with 1, 2, 4 and 8 clients, on a database
//!   made with `pgbench -i -s 1`: the server's rate for small write transactions, one client per
//!   connection, the yardstick for the queue's rows;
//! - end to end: a fresh database, N jobs that do no work enqueued beforehand (not timed), then
//!   worker processes (the `worker` command of this same binary) timed from the first start to
//!   the last exit. Afterwards every job must be completed, with one effect each.
//!
//! The rows take turns, round after round, so a moment when the machine is busy with something
//! else falls on every row alike; the table shows each row's middle round. Beside the rate, the
//! server's own counters say how many transactions it committed per job and how many times it
//! flushed its log to disk (`fsync`) per job: one flush can carry the commits of many clients
//! (group commit). The table ends with a bar picture and a verdict on each of the lesson's
//! targets, from this run's figures.
//!
//! As in lesson 10, this file holds the flags, the rows and the order they run in;
//! `measure/scenarios.rs` runs each measurement (pgbench, or worker processes on a fresh
//! queue), and `measure/table.rs` prints the table, the picture and the verdicts.

mod scenarios;
mod table;

use lesson_10::numbers::noun;
use scenarios::Bench;
use table::{picture, table, targets};

use clap::Args as ClapArgs;
use course_support::human;
use course_support::postgres::{self, Server};
use lesson_10::flags::count;
use lesson_11::store;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Why a measurement stopped: a database error, a program that failed, or worker processes that
/// did not do the work.
type Fail = Box<dyn std::error::Error>;

/// The measurement's flags.
#[derive(ClapArgs)]
pub struct Flags {
    /// Jobs in each end-to-end row (1 to 100000).
    #[arg(long, default_value = "10000", value_parser = |s: &str| count(s, 1, 100_000), allow_negative_numbers = true)]
    jobs: usize,
    /// Rounds of every row; the table shows each row's middle one (1 to 20).
    #[arg(long, default_value = "3", value_parser = |s: &str| count(s, 1, 20), allow_negative_numbers = true)]
    rounds: usize,
    /// How long each pgbench row runs, in seconds (1 to 60).
    #[arg(long, default_value = "5", value_parser = |s: &str| count(s, 1, 60), allow_negative_numbers = true)]
    pgbench_seconds: usize,
    /// A server to use instead of a throwaway one (postgresql://user@host:port/database); the
    /// measurement makes databases named lesson11_measure_* there and drops them.
    #[arg(long, value_name = "URL", env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
}

/// Worker processes in the end-to-end rows, and pgbench's client counts.
const CLIENTS: [usize; 4] = [1, 2, 4, 8];

/// Jobs a worker claims in one turn.
const BATCHES: [usize; 3] = [1, 10, 100];

/// Threads in an unbatched worker process: one job runs while the next is claimed. A batched
/// worker has as many threads as its batch, since it claims only what it has threads free for.
const UNBATCHED_THREADS: usize = 2;

/// pgbench's scale: 100 000 accounts, enough that 8 clients rarely update the same one.
const PGBENCH_SCALE: &str = "1";

/// The databases the measurement makes, next to the server's own.
const QUEUE_DB: &str = "lesson11_measure";
const PGBENCH_DB: &str = "lesson11_measure_pgbench";

/// One row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Spec {
    /// `pgbench -N` with this many clients.
    Pgbench(usize),
    /// This many worker processes, each claiming up to this many jobs a turn.
    EndToEnd(usize, usize),
}

impl Spec {
    fn label(self) -> String {
        match self {
            Spec::Pgbench(1) => "pgbench -N, 1 client".into(),
            Spec::Pgbench(c) => format!("pgbench -N, {c} clients"),
            Spec::EndToEnd(p, 1) => format!("end to end, {p} {}, unbatched", noun(p)),
            Spec::EndToEnd(p, b) => format!("end to end, {p} {}, batches of {b}", noun(p)),
        }
    }

    /// Connections doing the work: pgbench's clients, or the worker processes (each has one
    /// more, idle, that listens for notifications).
    fn clients(self) -> usize {
        match self {
            Spec::Pgbench(c) | Spec::EndToEnd(c, _) => c,
        }
    }
}

/// One measurement: jobs (or pgbench transactions) done, in how long, and what the server's
/// counters say it did meanwhile.
#[derive(Debug, Clone, Copy)]
struct Measured {
    count: u64,
    took: Duration,
    /// Transactions the server committed in the measured database, reads included.
    commits: Option<u64>,
    /// Times the server flushed its log to disk (the whole server).
    fsyncs: Option<u64>,
}

impl Measured {
    fn per_second(&self) -> f64 {
        self.count as f64 / self.took.as_secs_f64().max(1e-9)
    }
}

/// A row of the table: the middle round.
struct Row {
    spec: Spec,
    middle: Measured,
}

/// Finds or starts the server, checks that pgbench is here, runs every measurement and prints
/// the table, the picture and the verdicts. Without PostgreSQL's programs it says what to
/// install on one line and exits with code 2, as for a bad flag.
pub fn run(flags: &Flags) -> Result<(), Fail> {
    let given = flags
        .database_url
        .as_ref()
        .filter(|url| !url.trim().is_empty());
    if given.is_none() && postgres::bin_dir().is_none() {
        missing(postgres::HOW_TO_INSTALL);
    }
    let Some(pgbench) = pgbench_program() else {
        missing(
            "pgbench is not installed: it comes with PostgreSQL's programs (Debian/Ubuntu: \
             `apt install postgresql`, macOS: `brew install postgresql`)",
        );
    };
    let server: Option<Server> = match given {
        Some(_) => None,
        None => match postgres::find_or_start() {
            Ok(server) => Some(server),
            Err(why) => missing(&why),
        },
    };
    let server_url = match (given, &server) {
        (Some(url), _) => url.clone(),
        (None, Some(s)) => s.url().to_string(),
        (None, None) => unreachable!("either a URL or a server"),
    };
    let bench = Bench {
        server_url: server_url.clone(),
        pgbench,
        exe: std::env::current_exe()?,
        stats: store::client(&server_url, Duration::from_secs(10))?,
        jobs: flags.jobs,
        pgbench_seconds: flags.pgbench_seconds,
    };
    measure(flags, bench, server.is_some())
}

/// Says why there is nothing to measure with, on one line, and exits with code 2.
fn missing(why: &str) -> ! {
    eprintln!("error: {why}");
    std::process::exit(2)
}

/// Where `pgbench` is: beside the server's programs, or on `PATH`.
fn pgbench_program() -> Option<PathBuf> {
    if let Some(dir) = postgres::bin_dir() {
        if dir.join("pgbench").is_file() {
            return Some(dir.join("pgbench"));
        }
    }
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|d| d.join("pgbench"))
            .find(|p| p.is_file())
    })
}

fn measure(flags: &Flags, mut bench: Bench, throwaway: bool) -> Result<(), Fail> {
    let started = Instant::now();
    let n = flags.jobs;
    let settings = bench.stats.query_one(
        "SELECT current_setting('server_version'), current_setting('fsync'),
                current_setting('synchronous_commit'), current_setting('wal_sync_method'),
                current_setting('shared_buffers')",
        &[],
    )?;
    let setting = |i: usize| -> String { settings.get(i) };
    println!("Lesson 11: the queue on PostgreSQL, end to end, beside pgbench");
    println!(
        "PostgreSQL {} ({}), fsync={}, synchronous_commit={}, wal_sync_method={}, \
         shared_buffers={};\nthis machine has {} cores, shared by the server, the worker \
         processes and pgbench.",
        setting(0),
        if throwaway {
            "a throwaway server started in a temporary folder"
        } else {
            "the server given by --database-url"
        },
        setting(1),
        setting(2),
        setting(3),
        setting(4),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "pgbench: its simple-update script (-N) for {} s per row, on a database made with \
         pgbench -i -s {PGBENCH_SCALE},\nas many clients (-c, -j) as the queue's rows have \
         worker processes.",
        flags.pgbench_seconds
    );
    println!(
        "End to end: {n} jobs that do no work per row, enqueued beforehand in a fresh database; \
         worker\nprocesses with --claim-batch B and B threads ({UNBATCHED_THREADS} when \
         unbatched), timed from the first start to\nthe last exit. The rows take turns for {} \
         and the table shows each row's middle one.\n",
        match flags.rounds {
            1 => "1 round".to_string(),
            r => format!("{r} rounds"),
        }
    );
    let mut specs: Vec<Spec> = CLIENTS.iter().map(|c| Spec::Pgbench(*c)).collect();
    for batch in BATCHES {
        specs.extend(CLIENTS.map(|p| Spec::EndToEnd(p, batch)));
    }
    bench.pgbench_init()?;
    let mut results: Vec<Vec<Measured>> = vec![Vec::new(); specs.len()];
    for _ in 0..flags.rounds {
        for (i, spec) in specs.iter().enumerate() {
            results[i].push(bench.measure(*spec)?);
        }
    }
    bench.drop_database(PGBENCH_DB)?;
    let rows: Vec<Row> = specs
        .iter()
        .zip(results)
        .map(|(spec, mut rounds)| {
            rounds.sort_by(|a, b| a.per_second().total_cmp(&b.per_second()));
            Row {
                spec: *spec,
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
