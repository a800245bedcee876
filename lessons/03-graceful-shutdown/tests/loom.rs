//! Model tests: loom runs each scenario under every interleaving of the pool's threads (up to
//! the preemption bound), so an order that a normal test meets only now and then is tried on
//! every run. They need the crate built with loom's threads, atomics and channel:
//!
//! ```text
//! RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test --release -p lesson-3 --test loom
//! ```
//!
//! Each model was checked against a planted bug, which loom found (see the comment above it).
#![cfg(loom)]

use lesson_3::{Pool, Reason, loom_channel};
use loom::sync::Arc;
use loom::sync::atomic::{AtomicBool, AtomicUsize};
use loom::thread;
use std::sync::atomic::Ordering::SeqCst;
use std::time::Instant;

/// Runs `model` under loom and prints how many interleavings it explored and how long it took.
fn explore(name: &str, model: impl Fn() + Sync + Send + 'static) {
    // A plain std counter, one per model (tests run in parallel): loom runs the iterations of
    // one model one after another.
    let iterations = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = std::sync::Arc::clone(&iterations);
    let start = Instant::now();
    loom::model::Builder::new().check(move || {
        counter.fetch_add(1, SeqCst);
        model();
    });
    println!(
        "{name}: {} interleavings in {:.2?}",
        iterations.load(SeqCst),
        start.elapsed()
    );
}

/// A run count per job, for jobs `0..N`.
fn run_counts<const N: usize>() -> Arc<[AtomicUsize; N]> {
    Arc::new(std::array::from_fn(|_| AtomicUsize::new(0)))
}

fn assert_each_ran_once(runs: &[AtomicUsize]) {
    let runs: Vec<usize> = runs.iter().map(|n| n.load(SeqCst)).collect();
    assert!(
        runs.iter().all(|&n| n == 1),
        "every job must run exactly once, but the runs per job were {runs:?}"
    );
}

// ANCHOR: shutdown_model
/// Three jobs through a queue of one, to two workers, then `shutdown` while the workers may be
/// mid-job or waiting on the queue. In every order: no deadlock (loom fails a model in which
/// every thread is blocked), each job runs exactly once, and the report accounts for all three
/// with no worker lost.
///
/// Planted bugs: `close_and_join` joined the workers before dropping the queue's sender; loom
/// reported `deadlock; threads = [...]` with all three threads blocked (the main thread in
/// `join`, both workers on a queue that could never close). And a worker loop over
/// `jobs.try_iter()`, which stops at the first empty moment: loom found the order in which both
/// workers start before a job is queued and exit, so a `submit` came back `NoWorkers`.
#[test]
fn shutdown_runs_every_job_once_and_joins_every_worker() {
    explore("lesson 3: shutdown while workers wait", || {
        let runs = run_counts::<3>();
        let seen = Arc::clone(&runs);
        let pool = Pool::new(2, 1, move |_worker, job: &usize| {
            seen[*job].fetch_add(1, SeqCst);
            Ok(())
        });
        for job in 0..3 {
            // With a queue of one, this waits for a worker to take the job before it.
            pool.submit(job).expect("both workers are alive");
        }
        let report = pool.shutdown();
        assert_each_ran_once(&*runs);
        assert_eq!(
            (
                report.completed(),
                report.submitted,
                report.lost(),
                report.panicked_workers
            ),
            (3, 3, 0, 0),
            "the report must account for every job and every worker"
        );
    });
}
// ANCHOR_END: shutdown_model

// ANCHOR: drop_model
/// A producer thread and the main thread both submit while the two workers take jobs; then the
/// last owner drops the pool, which must drain it. In every order, both jobs run exactly once.
///
/// Planted bug: `Drop` only dropped the queue's sender and did not wait for the workers. Loom
/// found the order in which the main thread checks the counts before a worker has run the last
/// job: "the runs per job were [1, 0]".
#[test]
fn dropping_the_pool_while_a_producer_sends_loses_no_job() {
    explore("lesson 3: drop with a concurrent producer", || {
        let runs = run_counts::<2>();
        let seen = Arc::clone(&runs);
        let pool = Arc::new(Pool::new(2, 1, move |_worker, job: &usize| {
            seen[*job].fetch_add(1, SeqCst);
            Ok(())
        }));
        let producer = {
            let pool = Arc::clone(&pool);
            thread::spawn(move || pool.submit(1).expect("both workers are alive"))
        };
        pool.submit(0).expect("both workers are alive");
        producer.join().expect("the producer does not panic");
        // The last owner: dropping it closes the queue and waits for the workers.
        drop(pool);
        assert_each_ran_once(&*runs);
    });
}
// ANCHOR_END: drop_model

// ANCHOR: stop_model
/// `submit_or_stop` while another thread stops the submissions (by dropping the stop sender,
/// which counts as a stop from then on). In every order: a job offered after the stop is in is
/// refused, the jobs accepted are a prefix of the jobs offered, every accepted job runs exactly
/// once, no refused job runs, and the report counts what was accepted.
///
/// Planted bugs: `submit_or_stop` without its first `try_recv` check, leaving the choice to the
/// select, which finds both the send and the stop ready; and the check as `try_recv().is_ok()`,
/// which misses a stop given by disconnecting. For both, loom found the order in which the stop
/// is in before job 1 is offered, and reported "job 1 got in although the stop was already in
/// when it was offered".
#[test]
fn a_stop_lets_no_later_job_in_and_loses_none() {
    explore("lesson 3: submit_or_stop racing a stop", || {
        let runs = run_counts::<2>();
        let seen = Arc::clone(&runs);
        let pool = Pool::new(1, 1, move |_worker, job: &usize| {
            seen[*job].fetch_add(1, SeqCst);
            Ok(())
        });
        let (stop, stopped) = loom_channel::bounded::<()>(1);
        let stop_is_in = Arc::new(AtomicBool::new(false));
        let stopper = {
            let stop_is_in = Arc::clone(&stop_is_in);
            thread::spawn(move || {
                drop(stop);
                stop_is_in.store(true, SeqCst);
            })
        };
        let mut offered = Vec::new();
        for job in 0..2 {
            let stop_was_in = stop_is_in.load(SeqCst);
            let reason = pool.submit_or_stop(job, &stopped).err().map(|r| r.reason);
            assert!(
                !(stop_was_in && reason.is_none()),
                "job {job} got in although the stop was already in when it was offered"
            );
            offered.push(reason);
        }
        stopper.join().expect("the stopper does not panic");
        let accepted = offered.iter().take_while(|r| r.is_none()).count();
        assert!(
            offered[accepted..]
                .iter()
                .all(|r| *r == Some(Reason::Stopped)),
            "once a job is refused, every later one must be refused with Stopped: {offered:?}"
        );
        let report = pool.shutdown();
        let runs: Vec<usize> = runs.iter().map(|n| n.load(SeqCst)).collect();
        let expected: Vec<usize> = (0..2).map(|job| usize::from(job < accepted)).collect();
        assert_eq!(
            runs, expected,
            "accepted jobs run once, refused jobs never (offered: {offered:?})"
        );
        assert_eq!(
            report.submitted, accepted,
            "the report counts what was accepted"
        );
    });
}
// ANCHOR_END: stop_model
