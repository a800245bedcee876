//! The queue's costs, measured by criterion: `cargo bench -p lesson-10` runs them all in about
//! a minute; `cargo test --benches -p lesson-10` runs each once, as a check.
//!
//! Every sample starts from a fresh file in a temporary folder, opened with the queue's own
//! settings (WAL, `synchronous = FULL`), and runs the same code as the quick table
//! (`lesson_10::throughput`): bare one-row transactions, the store's own limit; enqueue, one
//! job and a batch per transaction; claim and complete, one job and a batch per turn.
//!
//! End to end with worker processes is measured by the quick table only
//! (`cargo run --release -p lesson-10 -- measure`): starting processes and waiting for the last
//! to leave is one long run, not an operation criterion can repeat thousands of times.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use lesson_10::store::{Durability, Store};
use lesson_10::throughput::{self, Timed};
use std::time::Duration;

/// Jobs per transaction in the batched benchmarks, as in the quick table.
const BATCH: usize = 64;

/// Small samples: the whole run must stay within a couple of minutes on a 2-core machine.
fn quick<'a>(
    c: &'a mut Criterion,
    name: &str,
) -> criterion::BenchmarkGroup<'a, criterion::measurement::WallTime> {
    let mut group = c.benchmark_group(name);
    group.sample_size(20);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(3));
    group
}

/// Runs `work` on a queue in a fresh file, with `before` done first and not timed.
fn fresh(before: impl FnOnce(&mut Store), work: impl FnOnce(&mut Store) -> Timed) -> Duration {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let mut store =
        throughput::open(&dir.path().join("q.db"), Durability::Full).expect("a fresh queue opens");
    before(&mut store);
    work(&mut store).took
}

// ANCHOR: bare
fn bare_transaction(c: &mut Criterion) {
    let mut group = quick(c, "bare_transaction");
    group.throughput(Throughput::Elements(1));
    group.bench_function("one_row", |b| {
        b.iter_custom(|iters| {
            fresh(
                |_| {},
                |store| throughput::bare(store, iters as usize).expect("bare transactions"),
            )
        })
    });
    group.finish();
}
// ANCHOR_END: bare

fn enqueue(c: &mut Criterion) {
    let mut group = quick(c, "enqueue");
    for per in [1, BATCH] {
        // One iteration is one transaction of `per` jobs.
        group.throughput(Throughput::Elements(per as u64));
        group.bench_with_input(
            BenchmarkId::new("jobs_per_transaction", per),
            &per,
            |b, &per| {
                b.iter_custom(|iters| {
                    let jobs = throughput::jobs(1, iters as usize * per);
                    fresh(
                        |_| {},
                        |store| throughput::enqueue(store, &jobs, per).expect("enqueue"),
                    )
                })
            },
        );
    }
    group.finish();
}

fn claim_and_complete(c: &mut Criterion) {
    let mut group = quick(c, "claim_and_complete");
    for per in [1, BATCH] {
        // One iteration is one turn: complete `per` jobs, claim `per` more. (The last turn
        // only completes, so a sample makes one turn more than it has iterations.)
        group.throughput(Throughput::Elements(per as u64));
        group.bench_with_input(BenchmarkId::new("jobs_per_turn", per), &per, |b, &per| {
            b.iter_custom(|iters| {
                fresh(
                    |store| throughput::fill(store, iters as usize * per).expect("fill"),
                    |store| throughput::claim_and_complete(store, per).expect("claim"),
                )
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bare_transaction, enqueue, claim_and_complete);
criterion_main!(benches);
