//! What `lesson-10 measure` times and `benches/queue.rs` benchmarks, written once so that the
//! quick table and criterion run exactly the same code.
//!
//! Each function works on a queue its caller opened (with [`open`], the queue's own settings)
//! and returns how long the work took and how many write transactions it made. The jobs are
//! demo jobs that do no work, so what is measured is the queue: its transactions, and the
//! disk's commits under them.

use crate::backoff::Backoff;
use crate::clock::WallClock;
use crate::job::NewJob;
use crate::store::{Durability, Finished, Store, StoreError, Turn};
use crate::work::Double;
use rusqlite::TransactionBehavior;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long some work took, and in how many write transactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timed {
    /// Wall-clock time.
    pub took: Duration,
    /// `BEGIN IMMEDIATE … COMMIT` transactions made.
    pub transactions: u64,
}

/// The lease the measured claims take: longer than any measurement runs, so none runs out.
pub const LEASE: Duration = Duration::from_secs(600);

/// Opens (creating) the queue at `path` on the wall clock, as the `worker` command does.
pub fn open(path: &Path, durability: Durability) -> Result<Store, StoreError> {
    Store::open(path, durability, Arc::new(WallClock), Backoff::default())
}

/// The payload of job `i`: a demo job that does no work.
pub fn payload(i: usize) -> String {
    Double {
        n: i as i64,
        work_ms: 0,
        fail_first: 0,
    }
    .to_payload()
}

/// What a job returns: its number doubled, as the demo's jobs do.
pub fn output(payload: &str) -> Result<String, String> {
    serde_json::from_str::<Double>(payload)
        .map(|d| (d.n * 2).to_string())
        .map_err(|e| e.to_string())
}

/// `n` jobs to enqueue, numbered from `first`.
pub fn jobs(first: usize, n: usize) -> Vec<NewJob> {
    (first..first + n)
        .map(|i| NewJob::new(payload(i)))
        .collect()
}

/// Puts `n` waiting jobs in the queue, a thousand to a transaction (not timed).
pub fn fill(store: &mut Store, n: usize) -> Result<(), StoreError> {
    for chunk in jobs(1, n).chunks(1000) {
        store.enqueue(chunk)?;
    }
    Ok(())
}

// ANCHOR: bare
/// `n` transactions that each insert one row into a table of their own, on a file the queue
/// opened (WAL, the same `synchronous`, the same busy timeout): the most transactions a second
/// the disk allows, with nothing of the queue's work in them.
pub fn bare(store: &mut Store, n: usize) -> rusqlite::Result<Timed> {
    let conn = store.connection();
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS bare (id INTEGER PRIMARY KEY, payload TEXT NOT NULL)",
    )?;
    let row = payload(1);
    let clock = Instant::now();
    for _ in 0..n {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.prepare_cached("INSERT INTO bare (payload) VALUES (?1)")?
            .execute([&row])?;
        tx.commit()?;
    }
    Ok(Timed {
        took: clock.elapsed(),
        transactions: n as u64,
    })
}
// ANCHOR_END: bare

/// Enqueues `jobs`, `per` to a transaction.
pub fn enqueue(store: &mut Store, jobs: &[NewJob], per: usize) -> Result<Timed, StoreError> {
    let clock = Instant::now();
    let mut transactions = 0;
    for chunk in jobs.chunks(per.max(1)) {
        store.enqueue(chunk)?;
        transactions += 1;
    }
    Ok(Timed {
        took: clock.elapsed(),
        transactions,
    })
}

// ANCHOR: claim_and_complete
/// Claims and completes every waiting job, `per` at a time, in this process: each turn records
/// the jobs the turn before claimed (effect and completion together) and claims the next ones,
/// as a worker's loop does when its jobs take no time.
pub fn claim_and_complete(store: &mut Store, per: usize) -> Result<Timed, StoreError> {
    let clock = Instant::now();
    let mut finished: Vec<Finished> = Vec::new();
    let mut transactions = 0;
    loop {
        let turn = Turn {
            finished: &finished,
            renew: &[],
            claim: per,
        };
        let out = store.turn("measure", LEASE, &turn)?;
        transactions += 1;
        if out.claimed.is_empty() {
            break;
        }
        finished = out
            .claimed
            .iter()
            .map(|c| Finished {
                id: c.id,
                token: c.token,
                result: output(&c.payload),
            })
            .collect();
    }
    Ok(Timed {
        took: clock.elapsed(),
        transactions,
    })
}
// ANCHOR_END: claim_and_complete
