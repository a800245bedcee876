//! Each measurement, on a fresh file: in this process, or in worker processes started for it.

use super::{Fail, Spec};
use lesson_10::job::State;
use lesson_10::store::{Durability, Store};
use lesson_10::throughput::{self, Timed};
use lesson_10::work;
use lesson_10::worker;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

/// The lease of a worker process: the `worker` command's default, renewed every third of it.
const WORKER_LEASE: Duration = Duration::from_millis(2000);

/// Threads in an unbatched worker process: one job runs while the next is claimed.
const UNBATCHED_THREADS: usize = 2;

/// How often a worker process with nothing to claim looks again. It matters only once the
/// queue is empty: the processes that run out first wait this long to see the others end.
const POLL: Duration = Duration::from_millis(5);

/// The `--synchronous` value for `durability`.
pub(super) fn durability_flag(durability: Durability) -> &'static str {
    match durability {
        Durability::Full => "full",
        Durability::Normal => "normal",
    }
}

/// Where the measurements put their files, and how they open them.
pub(super) struct Bench {
    pub(super) folder: PathBuf,
    pub(super) durability: Durability,
}

impl Bench {
    /// Runs `spec` on `n` jobs in a fresh file called `file`, and removes the file after.
    pub(super) fn measure(&self, spec: Spec, n: usize, file: &str) -> Result<Timed, Fail> {
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
pub(super) fn worker_process(db: &Path, durability: Durability, claim: usize) -> Result<(), Fail> {
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
