//! The demo: worker processes, standing for machines, share one queue on a PostgreSQL server;
//! the first is killed mid-job, and the server is restarted as a crash would restart it.
//!
//! As in lesson 10, this file is the script; `demo/workers.rs` starts the worker processes and
//! reads their lines, and `demo/report.rs` prints the queue at the end and checks that nothing
//! was lost.

mod report;
mod workers;

use report::report;
use workers::spawn;

use clap::Args as ClapArgs;
use course_support::postgres::{self, Server};
use course_support::svg;
use lesson_10::flags::count;
use lesson_10::watch;
use lesson_11::backoff::Backoff;
use lesson_11::job::NewJob;
use lesson_11::store::{self, Store};
use lesson_11::work;
use std::process::{Child, ExitCode};
use std::sync::mpsc;
use std::time::Duration;

/// Why the demo stopped: a database error or a worker process that misbehaved.
type Fail = Box<dyn std::error::Error>;

/// What is probably wrong when no worker says anything for a minute.
const STUCK: &str = "is one stuck waiting for the server?";

/// The demo's flags.
#[derive(ClapArgs)]
pub struct Flags {
    /// A server to use instead of a throwaway one (postgresql://user@host:port/database); the
    /// demo makes a database `lesson11_demo` there and does not restart the server.
    #[arg(long, value_name = "URL", env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Worker processes ("machines") started after the first one is killed (1 to 8).
    #[arg(long, default_value = "2", value_parser = |s: &str| count(s, 1, 8), allow_negative_numbers = true)]
    workers: usize,
    /// Threads in each worker process's pool (1 to 8).
    #[arg(long, default_value = "2", value_parser = |s: &str| count(s, 1, 8), allow_negative_numbers = true)]
    threads: usize,
    /// Jobs to enqueue, each with its order, at least as many as --threads (1 to 1000).
    #[arg(long, default_value = "12", value_parser = |s: &str| count(s, 1, 1000), allow_negative_numbers = true)]
    jobs: usize,
    /// Mean work time of a job in milliseconds; the killed worker's jobs take six times as long (10 to 2000).
    #[arg(long, default_value = "100", value_parser = |s: &str| count(s, 10, 2000), allow_negative_numbers = true)]
    work_ms: usize,
    /// How long a claim lasts unless renewed, in milliseconds; longer than the server takes to restart (1000 to 10000).
    #[arg(long, default_value = "4000", value_parser = |s: &str| count(s, 1000, 10_000), allow_negative_numbers = true)]
    lease_ms: usize,
    /// Chance that an attempt fails on purpose, in percent (0 to 100).
    #[arg(long, default_value = "20", value_parser = course_support::cli::percent, allow_negative_numbers = true)]
    fail_percent: u32,
    /// Attempts a job is allowed before it is discarded (1 to 100).
    #[arg(long, default_value = "3", value_parser = |s: &str| count(s, 1, 100), allow_negative_numbers = true)]
    max_attempts: usize,
    /// Seed for work times, failures and backoff.
    #[arg(long, default_value = "13")]
    seed: u64,
    #[command(flatten)]
    picture: svg::SvgFlag,
}

/// Finds or starts the server, runs the demo, and turns the outcome into an exit code: 2 with
/// one line when there is no server to use, as for a bad flag.
pub fn main(f: &Flags) -> ExitCode {
    let server = match &f.database_url {
        Some(url) if !url.trim().is_empty() => Ok(None),
        _ => postgres::start().map(Some),
    };
    let server = match server {
        Ok(server) => server,
        Err(why) => {
            eprintln!("error: {why}");
            return ExitCode::from(2);
        }
    };
    let url = match (&server, &f.database_url) {
        (Some(s), _) => s.url().to_string(),
        (None, Some(url)) => url.clone(),
        (None, None) => unreachable!("either a URL or a server"),
    };
    match run(f, &url, server.as_ref()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn now() -> Duration {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
}

fn run(f: &Flags, server_url: &str, server: Option<&Server>) -> Result<(), Fail> {
    let threads = f.threads.min(f.jobs);
    // A database of the demo's own, made afresh, so the queue starts empty.
    let mut admin = store::client(server_url, Duration::from_secs(10))?;
    admin.batch_execute("DROP DATABASE IF EXISTS lesson11_demo WITH (FORCE)")?;
    admin.batch_execute("CREATE DATABASE lesson11_demo")?;
    drop(admin);
    let url = postgres::with_database(server_url, "lesson11_demo");
    let t0 = now();
    let mut store = Store::connect(&url, Backoff::default())?;
    println!("Lesson 11: many machines, one queue");
    println!(
        "A PostgreSQL server{}; leases of {} ms on the server's clock, up to {} attempts a job.",
        if server.is_some() {
            " started for this demo in a temporary folder"
        } else {
            " given by --database-url"
        },
        f.lease_ms,
        f.max_attempts
    );
    println!();

    // ANCHOR: transactional_enqueue
    // The application's own table: an order, and the job that will process it.
    store
        .client()
        .batch_execute("CREATE TABLE orders (id BIGINT PRIMARY KEY, amount BIGINT NOT NULL)")?;
    let mut plan = work::plan(1, f.jobs, f.work_ms as u64, f.fail_percent, f.seed);
    for job in plan.iter_mut().take(threads) {
        job.work_ms = f.work_ms as u64 * 6;
    }
    for d in &plan {
        let job = NewJob {
            payload: d.to_payload(),
            max_attempts: f.max_attempts as u32,
            delay_ms: 0,
            key: Some(format!("order-{}", d.n)),
        };
        // One transaction: the order and its job are both stored, or neither is.
        let mut tx = store.client().transaction()?;
        tx.execute(
            "INSERT INTO orders (id, amount) VALUES ($1, $2)",
            &[&d.n, &d.n],
        )?;
        store::enqueue_in(&mut tx, &[job], 0)?;
        tx.commit()?;
    }
    // An order that fails after its job was enqueued: the rollback takes the job with it.
    let refused = f.jobs as i64 + 1;
    let mut tx = store.client().transaction()?;
    tx.execute(
        "INSERT INTO orders (id, amount) VALUES ($1, $2)",
        &[&refused, &-1i64],
    )?;
    let job = NewJob::new(format!(
        "{{\"n\":{refused},\"work_ms\":0,\"fail_first\":0}}"
    ));
    store::enqueue_in(&mut tx, &[job], 0)?;
    tx.rollback()?;
    // ANCHOR_END: transactional_enqueue
    let orders: i64 = store
        .client()
        .query_one("SELECT count(*) FROM orders", &[])?
        .get(0);
    let enqueued = store.counts()?.total() as usize;
    println!(
        "1. {} orders, each stored with its job in one transaction: {orders} orders, {enqueued} \
         jobs. Order {refused} was rolled back after its job was enqueued: neither is there.",
        f.jobs + 1
    );
    println!(
        "   The jobs double 1..={}. Jobs 1..={threads} take {} ms, the others about {} ms. \
         Attempts fail on purpose for jobs {}.",
        f.jobs,
        f.work_ms * 6,
        f.work_ms,
        work::failing(&plan)
    );
    println!();

    let (tx, lines) = mpsc::channel();
    println!("2. Worker 1 starts alone, with {threads} threads, and claims what it has room for.");
    let mut first = spawn(&url, "1", threads, f, t0, &tx)?;
    watch::until_it_took(&lines, threads, STUCK)?;
    std::thread::sleep(Duration::from_millis(f.work_ms as u64 * 2));
    first.kill()?;
    let _ = first.wait();
    let killed_at = now();
    println!(
        "   Killed it with SIGKILL a third of the way into jobs 1..={threads}. The server still \
         says they are running, leased to it, until the lease runs out."
    );
    println!();
    println!(
        "3. Workers 2..={} start, {threads} threads each, as if on other machines. {}",
        f.workers + 1,
        if server.is_some() {
            "A few jobs in, the server is restarted as a crash would restart it (an immediate \
             stop, then crash recovery); the workers reconnect. Then the rescuer finds the \
             killed worker's jobs."
        } else {
            "The rescuer finds the killed worker's jobs once their lease runs out. (The server \
             is yours, so the demo does not restart it.)"
        }
    );
    let mut children: Vec<Child> = Vec::new();
    for w in 2..=f.workers + 1 {
        children.push(spawn(&url, &w.to_string(), threads, f, t0, &tx)?);
    }
    drop(tx);
    let mut finished = 0;
    let mut restarted = false;
    // Worker 1's output, which ended when it was killed, counts among them.
    watch::until_all_left(
        &lines,
        f.workers + 1,
        &mut children,
        STUCK,
        |line, printed| {
            finished += usize::from(line.contains(" finished job "));
            // ANCHOR: restart
            if let (Some(server), false, 4..) = (server, restarted, finished) {
                let at = now().saturating_sub(t0).as_millis();
                server.restart_immediate()?;
                restarted = true;
                printed.push(format!(
                    "  [{at:>5} ms] the server: stopped at once (pg_ctl stop -m immediate), \
                 started again, recovered from its log"
                ));
            }
            // ANCHOR_END: restart
            Ok(())
        },
    )?;
    println!("   Every worker has left: no job is waiting or running.");
    println!();
    // The demo's own connection did not survive the restart: a new one for the report.
    drop(store);
    let mut store = Store::connect(&url, Backoff::default())?;
    report(&mut store, enqueued, orders, f, threads, t0, killed_at)
}
