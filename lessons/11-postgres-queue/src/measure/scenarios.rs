//! Each measurement: pgbench on its own database, or worker processes on a fresh queue, with
//! the server's counters read before and after.

use super::{Fail, Measured, PGBENCH_DB, PGBENCH_SCALE, QUEUE_DB, Spec, UNBATCHED_THREADS};
use course_support::postgres;
use lesson_11::backoff::Backoff;
use lesson_11::job::{NewJob, State};
use lesson_11::store::{self, Store};
use lesson_11::work;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How often a worker process with nothing to claim looks again. It matters only once the queue
/// is empty: the processes that run out first wait this long to see the others end.
const POLL_MS: &str = "5";

/// How often each worker runs the rescuer: the `worker` command's default.
const RESCUE_MS: &str = "500";

/// Jobs per transaction when filling the queue (not timed).
const FILL_BATCH: usize = 1000;

/// The server, the programs, and a connection that reads the server's counters.
pub(super) struct Bench {
    pub(super) server_url: String,
    pub(super) pgbench: PathBuf,
    pub(super) exe: PathBuf,
    /// Connected to the server's own database, never to a measured one, so its queries are
    /// not counted as the measured database's.
    pub(super) stats: ::postgres::Client,
    pub(super) jobs: usize,
    pub(super) pgbench_seconds: usize,
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

    pub(super) fn drop_database(&mut self, database: &str) -> Result<(), Fail> {
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

    pub(super) fn measure(&mut self, spec: Spec) -> Result<Measured, Fail> {
        match spec {
            Spec::Pgbench(clients) => self.pgbench(clients),
            Spec::EndToEnd(processes, batch) => self.end_to_end(processes, batch),
        }
    }

    /// `pgbench -i -s 1` on a fresh database, once for the whole run.
    pub(super) fn pgbench_init(&mut self) -> Result<(), Fail> {
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
