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

use clap::Args as ClapArgs;
use course_support::human;
use course_support::postgres::{self, Server};
use lesson_11::backoff::Backoff;
use lesson_11::job::{NewJob, State};
use lesson_11::store::{self, Store};
use lesson_11::work;
use std::path::PathBuf;
use std::process::{Command, Stdio};
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

fn count(s: &str, low: usize, high: usize) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if (low..=high).contains(&n) => Ok(n),
        _ => Err(format!("expected a whole number from {low} to {high}")),
    }
}

/// Worker processes in the end-to-end rows, and pgbench's client counts.
const CLIENTS: [usize; 4] = [1, 2, 4, 8];

/// Jobs a worker claims in one turn.
const BATCHES: [usize; 3] = [1, 10, 100];

/// Threads in an unbatched worker process: one job runs while the next is claimed. A batched
/// worker has as many threads as its batch, since it claims only what it has threads free for.
const UNBATCHED_THREADS: usize = 2;

/// How often a worker process with nothing to claim looks again. It matters only once the queue
/// is empty: the processes that run out first wait this long to see the others end.
const POLL_MS: &str = "5";

/// How often each worker runs the rescuer: the `worker` command's default.
const RESCUE_MS: &str = "500";

/// pgbench's scale: 100 000 accounts, enough that 8 clients rarely update the same one.
const PGBENCH_SCALE: &str = "1";

/// Jobs per transaction when filling the queue (not timed).
const FILL_BATCH: usize = 1000;

/// The lesson's targets on the course's 2-core machine: unbatched end to end at least this share
/// of pgbench's transactions a second with as many clients, batched end to end at least this
/// many jobs a second.
const UNBATCHED_SHARE: f64 = 0.5;
const BATCHED_RATE: f64 = 10_000.0;

/// The batch the batched target is judged on.
const TARGET_BATCH: usize = 100;

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

/// pgbench's rate with `clients` clients in this run.
fn pgbench_rate(rows: &[Row], clients: usize) -> f64 {
    rows.iter()
        .find(|r| r.spec == Spec::Pgbench(clients))
        .map_or(f64::NAN, |r| r.middle.per_second())
}

const WHAT: usize = 40;

// ANCHOR: table
fn table(rows: &[Row]) {
    println!(
        "  | {:<WHAT$} | {:>6} | {:>7} | {:>8} | {:>10} | {:>9} | {:>8} |",
        "what", "count", "time", "per s", "vs pgbench", "commits/j", "fsyncs/j"
    );
    println!(
        "  |{:-<w$}|{:-<8}|{:-<9}|{:-<10}|{:-<12}|{:-<11}|{:-<10}|",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        w = WHAT + 2
    );
    let per_job = |x: Option<u64>, count: u64| match x {
        Some(x) => format!("{:.3}", x as f64 / count.max(1) as f64),
        None => "-".into(),
    };
    for row in rows {
        let m = &row.middle;
        println!(
            "  | {:<WHAT$} | {:>6} | {:>7} | {:>8} | {:>9.2}× | {:>9} | {:>8} |",
            row.spec.label(),
            m.count,
            human(m.took),
            grouped(m.per_second()),
            m.per_second() / pgbench_rate(rows, row.spec.clients()),
            per_job(m.commits, m.count),
            per_job(m.fsyncs, m.count),
        );
    }
    println!(
        "  (per job: per pgbench transaction in its rows. commits/j counts every transaction \
         the server\n  committed in the measured database, reads included; fsyncs/j counts the \
         server's log flushes.)\n"
    );
}
// ANCHOR_END: table

/// Jobs per second as bars on a doubling scale: each block is twice the rate of the block
/// before, so a few hundred and a few tens of thousands fit on one screen.
fn picture(rows: &[Row]) {
    println!(
        "  Jobs (or pgbench transactions) per second, longer is faster; a bar starts at 1 a \
         second and each █ doubles it:"
    );
    for row in rows {
        let rate = row.middle.per_second();
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
/// A line per target: met or MISSED. The unbatched target is judged at every client count (met
/// only if met at each), the batched one on the best of its rows; every row is shown.
fn targets(rows: &[Row]) {
    let end_to_end = |batch: usize| -> Vec<(usize, f64)> {
        rows.iter()
            .filter_map(|row| match row.spec {
                Spec::EndToEnd(p, b) if b == batch => Some((p, row.middle.per_second())),
                _ => None,
            })
            .collect()
    };
    let extreme = |list: &[(usize, f64)], best: bool| {
        list.iter()
            .copied()
            .reduce(|a, b| if (b.1 > a.1) == best { b } else { a })
            .unwrap_or((0, f64::NAN))
    };
    println!("Targets (set for the course's 2-core machine), judged on this run:");
    let shares: Vec<(usize, f64)> = end_to_end(1)
        .into_iter()
        .map(|(p, r)| (p, r / pgbench_rate(rows, p)))
        .collect();
    let met = shares.iter().filter(|(_, s)| *s >= UNBATCHED_SHARE).count();
    let (best_p, best) = extreme(&shares, true);
    let (worst_p, worst) = extreme(&shares, false);
    let by: Vec<String> = shares
        .iter()
        .map(|(p, s)| format!("{p}: {s:.2}× {}", verdict(*s >= UNBATCHED_SHARE)))
        .collect();
    println!(
        "  unbatched end to end at least {UNBATCHED_SHARE}× pgbench's transactions a second with \
         as many clients: {} (met at {met} of {} client counts; best {best:.2}× with {best_p} \
         {}, worst {worst:.2}× with {worst_p} {}; by processes {})",
        verdict(met == shares.len()),
        shares.len(),
        noun(best_p),
        noun(worst_p),
        by.join(", ")
    );
    let batched = end_to_end(TARGET_BATCH);
    let (best_p, best) = extreme(&batched, true);
    let (worst_p, worst) = extreme(&batched, false);
    let by: Vec<String> = batched
        .iter()
        .map(|(p, r)| format!("{p}: {}", grouped(*r)))
        .collect();
    println!(
        "  batched (batches of {TARGET_BATCH}) end to end at least {} jobs/s: {} (best {} with \
         {best_p} {}, worst {} with {worst_p} {}; by processes {})",
        grouped(BATCHED_RATE),
        verdict(best >= BATCHED_RATE),
        grouped(best),
        noun(best_p),
        grouped(worst),
        noun(worst_p),
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
    if !x.is_finite() {
        return "-".into();
    }
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

/// The server, the programs, and a connection that reads the server's counters.
struct Bench {
    server_url: String,
    pgbench: PathBuf,
    exe: PathBuf,
    /// Connected to the server's own database, never to a measured one, so its queries are
    /// not counted as the measured database's.
    stats: ::postgres::Client,
    jobs: usize,
    pgbench_seconds: usize,
}

/// The server's counters at one moment.
#[derive(Debug, Clone, Copy)]
struct Counters {
    commits: Option<u64>,
    fsyncs: Option<u64>,
}

impl Counters {
    fn since(self, before: Counters) -> (Option<u64>, Option<u64>) {
        let delta = |a: Option<u64>, b: Option<u64>| Some(a?.saturating_sub(b?));
        (
            delta(self.commits, before.commits),
            delta(self.fsyncs, before.fsyncs),
        )
    }
}

impl Bench {
    fn url(&self, database: &str) -> String {
        postgres::with_database(&self.server_url, database)
    }

    /// Drops `database` if it is there and makes it again, empty.
    fn fresh_database(&mut self, database: &str) -> Result<String, Fail> {
        self.drop_database(database)?;
        // A connection of its own, closed at once: it hands its counters in as it ends, so
        // they never land in a measurement.
        let mut admin = store::client(&self.server_url, Duration::from_secs(10))?;
        admin.batch_execute(&format!("CREATE DATABASE {database}"))?;
        Ok(self.url(database))
    }

    fn drop_database(&mut self, database: &str) -> Result<(), Fail> {
        let mut admin = store::client(&self.server_url, Duration::from_secs(10))?;
        admin.batch_execute(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"))?;
        Ok(())
    }

    /// Waits until no connection but this one is left on `database`, and a moment more: a
    /// server process hands in its counters as it ends, just after it leaves
    /// `pg_stat_activity`.
    fn settle(&mut self, database: &str) -> Result<(), Fail> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let others: i64 = self
                .stats
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity
                     WHERE datname = $1 AND pid <> pg_backend_pid()",
                    &[&database],
                )?
                .get(0);
            if others == 0 {
                break;
            }
            if Instant::now() > deadline {
                return Err(format!("{others} connections to {database} did not end").into());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        std::thread::sleep(Duration::from_millis(50));
        Ok(())
    }

    /// Commits in `database` and log flushes of the whole server, as the server counts them
    /// (`None` where this server does not count them: `pg_stat_wal` came with PostgreSQL 14).
    fn counters(&mut self, database: &str) -> Counters {
        let commits = self
            .stats
            .query_one(
                "SELECT coalesce(sum(xact_commit), 0)::bigint FROM pg_stat_database
                 WHERE datname = $1",
                &[&database],
            )
            .ok()
            .map(|r| r.get::<_, i64>(0) as u64);
        let fsyncs = self
            .stats
            .query_one("SELECT wal_sync FROM pg_stat_wal", &[])
            .ok()
            .map(|r| r.get::<_, i64>(0) as u64);
        Counters { commits, fsyncs }
    }

    fn measure(&mut self, spec: Spec) -> Result<Measured, Fail> {
        match spec {
            Spec::Pgbench(clients) => self.pgbench(clients),
            Spec::EndToEnd(processes, batch) => self.end_to_end(processes, batch),
        }
    }

    /// `pgbench -i -s 1` on a fresh database, once for the whole run.
    fn pgbench_init(&mut self) -> Result<(), Fail> {
        let url = self.fresh_database(PGBENCH_DB)?;
        let out = Command::new(&self.pgbench)
            .args(["-i", "-q", "-s", PGBENCH_SCALE])
            .env("PGDATABASE", &url)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run {}: {e}", self.pgbench.display()))?;
        if !out.status.success() {
            return Err(format!(
                "pgbench -i failed ({}): {}",
                out.status,
                last_line(&out.stderr)
            )
            .into());
        }
        Ok(())
    }

    // ANCHOR: pgbench
    /// `pgbench -n -N -c C -j C -T secs`: the simple-update script, no vacuum before it (its
    /// tables are never vacuumed by -N's run anyway), and its `tps` line read back.
    fn pgbench(&mut self, clients: usize) -> Result<Measured, Fail> {
        self.settle(PGBENCH_DB)?;
        let before = self.counters(PGBENCH_DB);
        let c = clients.to_string();
        let out = Command::new(&self.pgbench)
            .args(["-n", "-N", "-c", &c, "-j", &c, "-T"])
            .arg(self.pgbench_seconds.to_string())
            // The URL goes in the environment, where no other user can read a password in it.
            .env("PGDATABASE", self.url(PGBENCH_DB))
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run {}: {e}", self.pgbench.display()))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let field = |prefix: &str| -> Option<f64> {
            let line = stdout.lines().find(|l| l.starts_with(prefix))?;
            let value = line[prefix.len()..].split_whitespace().next()?;
            value.split('/').next()?.parse().ok()
        };
        let (Some(done), Some(tps)) = (
            field("number of transactions actually processed: "),
            field("tps = "),
        ) else {
            return Err(format!(
                "pgbench -N -c {clients} failed ({}): {}",
                out.status,
                last_line(&out.stderr)
            )
            .into());
        };
        self.settle(PGBENCH_DB)?;
        let (commits, fsyncs) = self.counters(PGBENCH_DB).since(before);
        Ok(Measured {
            count: done as u64,
            // pgbench's own rate leaves out connecting; so does this time.
            took: Duration::from_secs_f64(done / tps.max(1e-9)),
            commits,
            fsyncs,
        })
    }
    // ANCHOR_END: pgbench

    // ANCHOR: end_to_end
    /// A fresh queue with the jobs in it, then `processes` worker processes that claim up to
    /// `batch` jobs a turn, timed from the first start to the last exit, and checked after.
    fn end_to_end(&mut self, processes: usize, batch: usize) -> Result<Measured, Fail> {
        let label = Spec::EndToEnd(processes, batch).label();
        let url = self.fresh_database(QUEUE_DB)?;
        fill(&url, self.jobs)?;
        self.settle(QUEUE_DB)?;
        let before = self.counters(QUEUE_DB);
        let threads = if batch == 1 { UNBATCHED_THREADS } else { batch };
        let clock = Instant::now();
        let mut children = Vec::new();
        for p in 1..=processes {
            let child = Command::new(&self.exe)
                .arg("worker")
                .args(["--database-url", &url])
                .args(["--name", &format!("measure-{p}")])
                .args(["--threads", &threads.to_string()])
                .args(["--claim-batch", &batch.to_string()])
                .args(["--poll-ms", POLL_MS, "--rescue-ms", RESCUE_MS])
                .args(["--quiet", "--exit-when-idle"])
                .env_remove("DATABASE_URL")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
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
        for out in &outputs {
            if !out.status.success() {
                return Err(format!(
                    "{label}: a worker process failed ({}): {}",
                    out.status,
                    last_line(&out.stderr)
                )
                .into());
            }
        }
        self.settle(QUEUE_DB)?;
        let (commits, fsyncs) = self.counters(QUEUE_DB).since(before);
        check(&url, self.jobs, &label)?;
        self.drop_database(QUEUE_DB)?;
        Ok(Measured {
            count: self.jobs as u64,
            took,
            commits,
            fsyncs,
        })
    }
    // ANCHOR_END: end_to_end
}

/// Enqueues `n` jobs that do no work, a thousand to a transaction.
fn fill(url: &str, n: usize) -> Result<(), Fail> {
    let mut store = Store::connect(url, Backoff::default())?;
    let plan = work::plan(1, n, 0, 0, 11);
    for chunk in plan.chunks(FILL_BATCH) {
        let jobs: Vec<NewJob> = chunk.iter().map(|d| NewJob::new(d.to_payload())).collect();
        store.enqueue(&jobs)?;
    }
    Ok(())
}

/// Fails unless every one of the `n` jobs completed, with exactly one effect each.
fn check(url: &str, n: usize, what: &str) -> Result<(), Fail> {
    let counts = Store::connect(url, Backoff::default())?.counts()?;
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

/// The last line a program wrote, for an error message.
fn last_line(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no message")
        .trim()
        .to_string()
}
