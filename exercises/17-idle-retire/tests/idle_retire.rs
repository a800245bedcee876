//! The tests for exercise 17. They run against your code in `exercises/17-idle-retire` and
//! against the finished version in `solutions/17-idle-retire`.
//!
//! Jobs are held at gates, so that how many run at once is decided by the test, not by timing.
//! Worker threads are counted by the pool's `Census`, which the given code keeps as threads
//! start and end, whatever your bookkeeping says. Every wait is bounded: a worker that never
//! retires, or a shutdown that never returns, fails a test within seconds.

use course_support::testing::{Gate, Gauge, RunCounts, within};
use idle_retire::{Config, Job, Pool, try_grow, try_retire};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(10);
const SETTLE: Duration = Duration::from_secs(5);
const HANG: &str = "does shutdown drop the sender before joining? A worker leaves only when \
                    its recv_timeout says Disconnected, which needs the queue closed and empty";

fn config(min: usize, max: usize, idle_ms: u64) -> Config {
    Config {
        min,
        max,
        idle: Duration::from_millis(idle_ms),
    }
}

/// Job `n`: counts itself in `running` while it waits at the gate, then records that it ran.
fn held(n: u64, running: &Arc<Gauge>, runs: &Arc<RunCounts>, gate: &Gate) -> Job {
    let (running, runs, gate) = (Arc::clone(running), Arc::clone(runs), gate.clone());
    Box::new(move || {
        let _inside = running.enter();
        gate.wait();
        runs.ran(n);
    })
}

/// Shuts the pool down within the limit, then checks that every thread it started has ended.
fn shut_down(pool: Pool) {
    let census = pool.census();
    within(LIMIT, "shutdown()", HANG, move || pool.shutdown());
    let watched = Arc::clone(&census);
    within(
        Duration::from_secs(2),
        "the census's wait for no thread alive, after shutdown",
        "shutdown() returned, but a census wait for no worker alive did not return at once: are \
         worker threads still running after shutdown (join every handle), or was the given \
         Census code changed?",
        move || watched.wait_for_at_most(0, LIMIT),
    );
    let (started, exited) = (census.started(), census.exited());
    assert_eq!(
        exited,
        started,
        "shutdown() returned with {} of the {started} worker threads the pool started still \
         running: join every handle in `workers`, the workers started by submit as well as the \
         first ones, after dropping the sender",
        started - exited
    );
}

/// Waits until no more than `min` workers are alive, and fails the test if it takes too long;
/// then watches a few idle timeouts more, long enough for every remaining worker to time out
/// at least once, and returns how many are alive after that.
fn wait_for_min(pool: &Pool, min: usize, idle: Duration, what: &str) -> usize {
    let census = pool.census();
    let alive = census.wait_for_at_most(min, SETTLE);
    assert!(
        alive <= min,
        "{what}: {alive} workers were still alive {SETTLE:?} after the jobs were let go, with \
         min = {min} and an idle timeout of {idle:?}. A worker whose recv_timeout(idle) times \
         out should retire (try_retire) while more than min are alive; a worker that waits \
         with recv(), or ignores the time-out, never does"
    );
    // Nothing should change now: the workers left are the `min` that stay.
    census.wait_for_at_most(min.saturating_sub(1), idle * 4)
}

#[test]
fn try_grow_and_try_retire_stop_at_the_limits() {
    let alive = AtomicUsize::new(2);
    for n in 3..=4 {
        assert!(
            try_grow(&alive, 4),
            "try_grow with {} alive and max 4 should add one",
            n - 1
        );
    }
    assert!(
        !try_grow(&alive, 4),
        "try_grow with 4 alive and max 4 must refuse"
    );
    assert_eq!(
        alive.load(Ordering::SeqCst),
        4,
        "a refused try_grow must leave `alive` as it was"
    );
    for n in (2..4).rev() {
        assert!(
            try_retire(&alive, 2),
            "try_retire with {} alive and min 2 should take one",
            n + 1
        );
    }
    assert!(
        !try_retire(&alive, 2),
        "try_retire with 2 alive and min 2 must refuse: the pool never goes below min"
    );
    assert_eq!(
        alive.load(Ordering::SeqCst),
        2,
        "a refused try_retire must leave `alive` as it was"
    );
}

/// Runs `threads` threads that all call `step` until it says no, starting together; returns
/// how many times it said yes.
fn race(threads: usize, step: impl Fn() -> bool + Sync) -> usize {
    let start = Barrier::new(threads);
    let yes = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                start.wait();
                while step() {
                    yes.fetch_add(1, Ordering::SeqCst);
                }
            });
        }
    });
    yes.into_inner()
}

#[test]
fn threads_retiring_or_growing_at_once_never_pass_the_limits() {
    within(
        LIMIT,
        "1000 rounds of 4 threads racing",
        "does try_grow or try_retire wait for something? Each should answer at once",
        || {
            for round in 0..1000 {
                // Many steps before the limit, so that all four threads are running, side by
                // side, when they reach it.
                let alive = AtomicUsize::new(103);
                let retired = race(4, || try_retire(&alive, 3));
                let now = alive.load(Ordering::SeqCst);
                assert!(
                    retired == 100 && now == 3,
                    "round {round}: 4 threads retiring at once from 103 alive with min 3: \
                     {retired} retired and `alive` is {now}; expected 100 and 3. Checking \
                     `alive > min` and then subtracting, in two steps, lets two threads both see \
                     min + 1 and both leave: decide and count down in one step, with \
                     compare_exchange (or fetch_update)"
                );
                let alive = AtomicUsize::new(3);
                let grown = race(4, || try_grow(&alive, 103));
                let now = alive.load(Ordering::SeqCst);
                assert!(
                    grown == 100 && now == 103,
                    "round {round}: 4 threads growing at once from 3 alive with max 103: \
                     {grown} grew and `alive` is {now}; expected 100 and 103. Checking `alive < max` and \
                     then adding, in two steps, lets two threads both take the last place: \
                     decide and count up in one step, with compare_exchange (or fetch_update)"
                );
            }
        },
    );
}

#[test]
fn under_a_backlog_it_grows_to_max_and_no_further() {
    let running = Arc::new(Gauge::new());
    let runs = Arc::new(RunCounts::new());
    let jobs_gate = Gate::new();
    let pool = Pool::new(config(1, 4, 1_000));
    for n in 0..30 {
        pool.submit(held(n, &running, &runs, &jobs_gate));
    }
    assert!(
        running.wait_for_peak(4, SETTLE),
        "30 jobs were queued, but no more than {} ran at once with max = 4: when more jobs wait \
         than workers are idle, submit should start a worker (try_grow, then start_worker)",
        running.max()
    );
    // A broken pool has had its chance to go past 4; a correct one never will.
    let over = running.wait_for_peak(5, Duration::from_millis(300));
    assert!(
        !over,
        "{} jobs ran at once with max = 4: is submit starting a thread per job, or a worker \
         without asking try_grow?",
        running.max()
    );
    let threads = pool.census().alive();
    assert_eq!(
        threads, 4,
        "{threads} worker threads are alive with max = 4 and 4 jobs holding them: start a worker \
         only when try_grow says yes"
    );
    jobs_gate.open();
    shut_down(pool);
    runs.assert_each_ran_once(0..30);
}

#[test]
fn after_the_rush_idle_workers_retire_down_to_min() {
    let running = Arc::new(Gauge::new());
    let runs = Arc::new(RunCounts::new());
    let jobs_gate = Gate::new();
    let cfg = config(2, 6, 30);
    let pool = Pool::new(cfg);
    for n in 0..24 {
        pool.submit(held(n, &running, &runs, &jobs_gate));
    }
    assert!(
        running.wait_for_peak(6, SETTLE),
        "24 jobs were queued, but no more than {} ran at once with max = 6: submit should start \
         workers while jobs back up",
        running.max()
    );
    let census = pool.census();
    census.watch_lowest();
    jobs_gate.open();
    let alive = wait_for_min(&pool, 2, cfg.idle, "after a rush of 24 jobs");
    let lowest = census.lowest().expect("watching since the rush");
    assert!(
        alive == 2 && lowest >= 2,
        "the pool fell to {lowest} worker(s) while retiring, below min = 2: decide to retire and \
         count down in one step (try_retire), and retire only on a time-out"
    );
    assert_eq!(pool.alive(), 2, "the pool's own count of workers alive");
    shut_down(pool);
    runs.assert_each_ran_once(0..24);
}

#[test]
fn workers_retiring_together_never_go_below_min() {
    let cfg = config(3, 12, 5);
    let pool = Pool::new(cfg);
    let census = pool.census();
    let runs = Arc::new(RunCounts::new());
    for round in 0..5u64 {
        let running = Arc::new(Gauge::new());
        let jobs_gate = Gate::new();
        // Twice as many jobs as workers, so the backlog lasts until the pool is full.
        for n in round * 24..(round + 1) * 24 {
            pool.submit(held(n, &running, &runs, &jobs_gate));
        }
        assert!(
            running.wait_for_peak(12, SETTLE),
            "round {round}: 24 jobs were queued, but no more than {} ran at once with max = 12: \
             submit should start workers while jobs back up (and workers that retired must \
             have counted themselves out, or try_grow thinks the pool is still full)",
            running.max()
        );
        census.watch_lowest();
        // Twelve workers become idle together, and time out together.
        jobs_gate.open();
        let alive = wait_for_min(&pool, 3, cfg.idle, &format!("round {round}"));
        let lowest = census.lowest().expect("watching since the round began");
        assert!(
            alive == 3 && lowest >= 3,
            "round {round}: twelve workers timing out together left {lowest} alive, below min = \
             3: a worker may leave on a time-out only when try_retire agrees (it refuses at \
             min), and try_retire must decide and count down in one step; checking `alive > \
             min` and then subtracting lets several leave on the same last place"
        );
    }
    shut_down(pool);
    runs.assert_each_ran_once(0..120);
}

#[test]
fn idle_workers_wait_in_recv_timeout_instead_of_polling() {
    let running = Arc::new(Gauge::new());
    let runs = Arc::new(RunCounts::new());
    let jobs_gate = Gate::new();
    let cfg = config(1, 3, 40);
    let pool = Pool::new(cfg);
    for n in 0..9 {
        pool.submit(held(n, &running, &runs, &jobs_gate));
    }
    assert!(
        running.wait_for_peak(3, SETTLE),
        "9 jobs were queued, but no more than {} ran at once with max = 3: submit should start \
         workers while jobs back up",
        running.max()
    );
    let census = pool.census();
    let before = census.misses();
    let start = Instant::now();
    jobs_gate.open();
    wait_for_min(&pool, 1, cfg.idle, "after 9 jobs");
    let misses = census.misses() - before;
    let elapsed = start.elapsed();
    assert!(
        misses >= 2,
        "2 of the 3 workers retired after the jobs were let go, but the census counted {misses} \
         time-outs: a worker retires after its `inbox.recv_timeout(idle)` says Timeout, so each \
         retired worker came back empty-handed at least once. Do the workers wait with the \
         Inbox's recv_timeout (and is the given Census code unchanged)?"
    );
    // A worker that waits comes back empty-handed once per idle timeout.
    let allowed = 3 * (2 + (elapsed.as_millis() / cfg.idle.as_millis()) as u64);
    assert!(
        misses <= allowed,
        "in the {elapsed:?} it took 3 workers to settle back to 1, they came back from the queue \
         empty-handed {misses} times; waiting in recv_timeout(idle) comes back about once per \
         {:?} per worker (at most {allowed} here). Is a worker polling with try_recv (and \
         perhaps a short sleep) instead of blocking in recv_timeout?",
        cfg.idle
    );
    shut_down(pool);
    runs.assert_each_ran_once(0..9);
}

#[test]
fn every_job_runs_exactly_once_with_several_submitters() {
    let running = Arc::new(Gauge::new());
    let runs = Arc::new(RunCounts::new());
    let pool = Arc::new(Pool::new(config(1, 4, 10)));
    let (shared_pool, shared_running, shared_runs) =
        (Arc::clone(&pool), Arc::clone(&running), Arc::clone(&runs));
    within(
        LIMIT,
        "4 threads submitting 250 jobs each",
        "submit should never wait: it sends to an unbounded queue and perhaps starts a worker",
        move || {
            std::thread::scope(|s| {
                for t in 0..4u64 {
                    let (pool, running, runs) = (&shared_pool, &shared_running, &shared_runs);
                    s.spawn(move || {
                        for n in t * 250..(t + 1) * 250 {
                            let (running, runs) = (Arc::clone(running), Arc::clone(runs));
                            pool.submit(Box::new(move || {
                                let _inside = running.enter();
                                // A little work, so that jobs overlap.
                                std::hint::black_box((0..2_000u64).sum::<u64>());
                                runs.ran(n);
                            }));
                        }
                    });
                }
            });
        },
    );
    let pool = Arc::into_inner(pool).expect("the submitters are done with the pool");
    shut_down(pool);
    runs.assert_each_ran_once(0..1000);
    assert!(
        running.max() <= 4,
        "{} jobs ran at once with max = 4: is submit starting a thread per job?",
        running.max()
    );
}

/// The number in a worker thread's name (`idle-retire-worker-N`).
fn worker_number() -> usize {
    std::thread::current()
        .name()
        .and_then(|name| name.strip_prefix("idle-retire-worker-"))
        .and_then(|n| n.parse().ok())
        .expect("jobs run on the pool's workers, named idle-retire-worker-N by start_worker")
}

#[test]
fn shutdown_joins_every_worker_ever_started() {
    let runs = Arc::new(RunCounts::new());
    let cfg = config(1, 4, 20);
    let pool = Pool::new(cfg);
    // First a rush that grows the pool, then a quiet spell in which the extra workers retire.
    let running = Arc::new(Gauge::new());
    let jobs_gate = Gate::new();
    for n in 0..12 {
        pool.submit(held(n, &running, &runs, &jobs_gate));
    }
    assert!(
        running.wait_for_peak(4, SETTLE),
        "12 jobs were queued, but no more than {} ran at once with max = 4: submit should start \
         workers while jobs back up",
        running.max()
    );
    jobs_gate.open();
    wait_for_min(&pool, 1, cfg.idle, "after the first rush");

    // Then a second rush of 12 jobs, each held at its own gate. A job reports which worker
    // took it as it starts.
    let (started_tx, started) = crossbeam_channel::unbounded::<(u64, usize)>();
    let mut gates = std::collections::HashMap::new();
    for n in 12..24 {
        let gate = Gate::new();
        gates.insert(n, gate.clone());
        let (runs, started_tx) = (Arc::clone(&runs), started_tx.clone());
        pool.submit(Box::new(move || {
            let _ = started_tx.send((n, worker_number()));
            gate.wait();
            runs.ran(n);
        }));
    }
    let next_start = || {
        started.recv_timeout(SETTLE).unwrap_or_else(|_| {
            panic!(
                "a job of the second rush did not start within {SETTLE:?}: after the pool shrank \
                 back to min, do retiring workers count themselves out (try_retire), so that \
                 try_grow has room again? And are the workers still taking jobs?"
            )
        })
    };
    // Shut down while the jobs are held: shutdown must wait for all of them.
    let (done_tx, done) = crossbeam_channel::bounded::<()>(1);
    let census = pool.census();
    let shutting = std::thread::spawn(move || {
        pool.shutdown();
        let _ = done_tx.send(());
    });
    let mut holding = std::collections::BTreeMap::new();
    for _ in 0..4 {
        let (n, worker) = next_start();
        holding.insert(worker, n);
    }
    // Release one job at a time, in the order the jobs started, until the queue is empty and
    // each of 4 workers holds one of the last 4 jobs.
    let mut order: Vec<(usize, u64)> = holding.iter().map(|(w, n)| (*w, *n)).collect();
    for _ in 0..8 {
        let (worker, n) = order.remove(0);
        holding.remove(&worker);
        gates[&n].open();
        let (next, worker) = next_start();
        holding.insert(worker, next);
        order.push((worker, next));
    }
    assert_eq!(
        holding.len(),
        4,
        "4 workers should each hold one of the last 4 jobs, but the jobs are held by workers \
         {:?}: with max = 4, did the pool grow past 4 or shrink while busy?",
        holding.keys()
    );
    // Now release them worker by worker, oldest worker first: until the last job is done,
    // shutdown must not return.
    let last = holding.len();
    for (i, (worker, n)) in std::mem::take(&mut holding).into_iter().enumerate() {
        gates[&n].open();
        if i + 1 < last {
            let returned = done.recv_timeout(Duration::from_millis(300)).is_ok();
            assert!(
                !returned,
                "shutdown() returned while {} job(s) were still running on workers started \
                 later than worker {worker}: it must join every worker the pool started, the \
                 ones submit started too, not only the first",
                last - i - 1
            );
        }
    }
    within(LIMIT, "shutdown()", HANG, move || {
        let _ = done.recv_timeout(LIMIT);
        shutting.join().expect("shutdown does not panic");
    });
    let (started_n, exited) = (census.started(), census.exited());
    assert_eq!(
        exited,
        started_n,
        "shutdown() returned with {} of the {started_n} worker threads still running",
        started_n - exited
    );
    runs.assert_each_ran_once(0..24);
}

#[test]
fn no_worker_starts_while_idle_workers_could_take_the_job() {
    // Jobs one at a time: each is taken by a worker already waiting, so the pool has no reason
    // to grow, though max would allow it.
    let pool = Pool::new(config(2, 64, 10_000));
    let census = pool.census();
    let pool = within(
        LIMIT,
        "25 jobs submitted one after the other, each waited for",
        "does a job submitted to a pool with idle workers never run? Workers block in \
         recv_timeout and take it",
        move || {
            let (done, finished) = crossbeam_channel::unbounded();
            let one_by_one = |n: u64| {
                let done = done.clone();
                pool.submit(Box::new(move || {
                    let _ = done.send(n);
                }));
                assert_eq!(
                    finished.recv_timeout(Duration::from_secs(5)),
                    Ok(n),
                    "job {n}, submitted alone to a pool with idle workers, never ran"
                );
            };
            // The first jobs give both starting workers time to reach their recv_timeout.
            for n in 1..=5 {
                one_by_one(n);
            }
            let before = census.started();
            for n in 6..=25 {
                one_by_one(n);
            }
            let after = census.started();
            assert_eq!(
                after,
                before,
                "{} more workers started while 20 jobs were submitted one at a time, each to a \
                 pool with idle workers waiting: start a worker only when work backs up, that \
                 is when more jobs wait in the queue than workers are idle \
                 (`inbox.len() > idle`), not on every submit",
                after - before
            );
            pool
        },
    );
    shut_down(pool);
}

#[test]
fn a_config_the_pool_cannot_keep_is_refused() {
    for (config, why) in [
        (
            config(0, 4, 100),
            "min = 0 could leave queued jobs with no worker",
        ),
        (config(3, 2, 100), "max = 2 is below min = 3"),
        (
            config(1, 4, 0),
            "an idle timeout of 0 would retire workers at once",
        ),
    ] {
        let made = std::panic::catch_unwind(move || {
            let pool = Pool::new(config);
            // Stopped quietly, so that a pool that should not exist does not outlive the test.
            std::thread::spawn(move || pool.shutdown());
        });
        assert!(
            made.is_err(),
            "Pool::new({config:?}) returned a pool, but it should panic: {why} (check the \
             config with assert! at the start of `new`)"
        );
    }
}

#[test]
fn workers_retire_after_the_configured_idle_time_not_a_fixed_one() {
    let running = Arc::new(Gauge::new());
    let runs = Arc::new(RunCounts::new());
    let jobs_gate = Gate::new();
    let cfg = config(1, 3, 60);
    let pool = Pool::new(cfg);
    for n in 0..6 {
        pool.submit(held(n, &running, &runs, &jobs_gate));
    }
    assert!(
        running.wait_for_peak(3, SETTLE),
        "6 jobs were queued, but no more than {} ran at once with max = 3: submit should start \
         workers while jobs back up",
        running.max()
    );
    let census = pool.census();
    let start = Instant::now();
    jobs_gate.open();
    let alive = census.wait_for_at_most(1, SETTLE);
    let took = start.elapsed();
    // 6 jobs of next to nothing, then one idle timeout of 60 ms: far less than this.
    let bound = Duration::from_millis(800);
    assert!(
        alive <= 1 && took < bound,
        "with an idle timeout of 60 ms, the 2 spare workers took {took:?} to retire after the \
         jobs were let go ({alive} alive; expected 1 within {bound:?}): does the worker wait \
         `inbox.recv_timeout(config.idle)`, the pool's own idle time, rather than a fixed \
         second or a count of short waits?"
    );
    shut_down(pool);
    runs.assert_each_ran_once(0..6);
}
