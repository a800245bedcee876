//! The tests for exercise 15. They run against your code in `exercises/15-metrics` and against
//! the finished version in `solutions/15-metrics`.
//!
//! Every count is checked exactly once the pool has drained, and every wait is bounded: a worker
//! that never leaves its loop, or a pool that lost its workers, fails a test within seconds.

use course_support::testing::{RunCounts, within};
use metrics::{Job, Pool, Reason, Rejected, Snapshot};
use std::sync::Arc;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(10);
const HANG: &str = "does the worker's loop end when the queue is closed and empty? `for job in \
                    jobs` does; a loop that ignores the closed queue never ends";

/// What a test job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    Succeed,
    Fail,
    Panic,
}

/// Job `n`: 1 in 10 panics, 2 in 10 fail, the rest succeed.
fn plan(n: u64) -> Plan {
    match n % 10 {
        0 => Plan::Panic,
        1 | 2 => Plan::Fail,
        _ => Plan::Succeed,
    }
}

/// A job that records that it ran, then does what `plan` says.
fn job(n: u64, runs: &Arc<RunCounts>) -> Job {
    let runs = Arc::clone(runs);
    Box::new(move || {
        runs.ran(n);
        match plan(n) {
            Plan::Succeed => Ok(()),
            Plan::Fail => Err(format!("job {n} fails on purpose")),
            Plan::Panic => panic!("job {n} panics on purpose"),
        }
    })
}

/// Fails the test, naming the likely cause, unless a job the open pool should take was taken.
fn accepted(n: u64, result: Result<(), Rejected>) {
    if let Err(rejected) = result {
        panic!(
            "job {n} was refused with {:?}, though the pool is open and submit() waits for \
             room: if every worker is gone, the queue has no receiver left. Did a panicking \
             job end its worker's thread? Run each job inside catch_unwind",
            rejected.reason
        );
    }
}

/// Fails the test unless the counts after shutdown add up and match what was expected.
fn assert_adds_up(got: Snapshot, submitted: u64, completed: u64, failed: u64, panicked: u64) {
    assert_eq!(
        got.submitted, submitted,
        "submitted is {}, but {submitted} jobs were accepted: count `submitted` once per job \
         that got into the queue, after the send succeeded ({got:?})",
        got.submitted
    );
    assert_eq!(
        got.panicked, panicked,
        "panicked is {}, but {panicked} jobs panicked: catch each panic with catch_unwind and \
         count it as panicked ({got:?})",
        got.panicked
    );
    assert_eq!(
        got.failed, failed,
        "failed is {}, but {failed} jobs returned Err: a job that returns Err is failed, not \
         completed ({got:?})",
        got.failed
    );
    assert_eq!(
        got.completed, completed,
        "completed is {}, but {completed} jobs returned Ok ({got:?})",
        got.completed
    );
    assert_eq!(
        got.submitted,
        got.ended(),
        "after shutdown, submitted must equal completed + failed + panicked ({got:?})"
    );
}

/// Keeps the default panic hook from printing the panics of this file's jobs on the pool's own
/// workers, which the pool catches and counts. Every other panic still prints: a failing test's,
/// and a `todo!()` left in the worker.
fn silence_worker_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let worker = std::thread::current()
                .name()
                .is_some_and(|n| n.starts_with("pool-worker-"));
            let payload = info.payload();
            let message = payload
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
                .unwrap_or("");
            if !(worker && message.ends_with("on purpose")) {
                default(info);
            }
        }));
    });
}

#[test]
fn a_panicking_job_does_not_take_its_worker_with_it() {
    silence_worker_panics();
    let pool = Pool::new(1, 4);
    let (done, finished) = crossbeam_channel::unbounded();
    accepted(
        1,
        pool.submit(Box::new(|| panic!("job 1 panics on purpose"))),
    );
    let done2 = done.clone();
    accepted(
        2,
        pool.submit(Box::new(move || {
            let _ = done2.send(2);
            Ok(())
        })),
    );
    assert_eq!(
        finished.recv_timeout(Duration::from_secs(5)),
        Ok(2),
        "job 2 never ran on the pool's only worker, after job 1 panicked: did the panic end the \
         worker's thread? Run each job inside catch_unwind(AssertUnwindSafe(job)), so the worker \
         counts the panic and takes the next job"
    );
    accepted(
        3,
        pool.submit(Box::new(move || {
            let _ = done.send(3);
            Err("job 3 fails on purpose".into())
        })),
    );
    let report = within(LIMIT, "shutdown", HANG, move || pool.shutdown());
    assert_eq!(finished.try_recv(), Ok(3), "job 3 ran too");
    assert_adds_up(report, 3, 1, 1, 1);
}

#[test]
fn mixed_jobs_from_several_threads_add_up_after_shutdown() {
    silence_worker_panics();
    let runs = Arc::new(RunCounts::new());
    let jobs = Arc::clone(&runs);
    let report = within(
        LIMIT,
        "4 threads submitting 250 jobs each, then shutdown",
        HANG,
        move || {
            let pool = Pool::new(4, 8);
            std::thread::scope(|s| {
                for submitter in 0..4u64 {
                    let (pool, jobs) = (&pool, &jobs);
                    s.spawn(move || {
                        for n in (1..=250).map(|i| submitter * 250 + i) {
                            accepted(n, pool.submit(job(n, jobs)));
                        }
                    });
                }
            });
            pool.shutdown()
        },
    );
    runs.assert_each_ran_once(1..=1000);
    // Of 1000 jobs: 100 panic, 200 fail, 700 succeed.
    assert_adds_up(report, 1000, 700, 200, 100);
    assert_eq!(
        report.rejected(),
        0,
        "submit() on an open pool waits for room: it refuses nothing ({report:?})"
    );
}

#[test]
fn a_full_queue_refuses_with_try_submit_and_counts_each_refusal_once() {
    let runs = Arc::new(RunCounts::new());
    let pool = Pool::new(1, 2);
    // Job 1 holds the only worker until the test drops `release` (or for 5 s at most).
    let (started, running) = crossbeam_channel::bounded(1);
    let (release, gate) = crossbeam_channel::bounded::<()>(0);
    let first = Arc::clone(&runs);
    accepted(
        1,
        pool.try_submit(Box::new(move || {
            first.ran(1);
            let _ = started.send(());
            let _ = gate.recv_timeout(Duration::from_secs(5));
            Ok(())
        })),
    );
    running.recv_timeout(Duration::from_secs(5)).expect(
        "job 1 never started: does the worker take jobs from the queue and run them? (or was \
         job 1 never sent?)",
    );
    for n in 2..=3 {
        accepted(n, pool.try_submit(job(n + 11, &runs)));
    }
    for n in 4..=6 {
        match pool.try_submit(job(n + 11, &runs)) {
            Ok(()) => panic!(
                "job {n} was accepted, but the queue (room for 2) is full and the only worker is \
                 busy: try_submit must use try_send, and refuse with Full"
            ),
            Err(rejected) => assert_eq!(
                rejected.reason,
                Reason::Full,
                "a full queue is Reason::Full"
            ),
        }
    }
    let now = pool.metrics();
    assert_eq!(
        now.rejected_full, 3,
        "3 jobs were refused with Full, and rejected_full is {}: count each refusal once, \
         under its reason ({now:?})",
        now.rejected_full
    );
    assert_eq!(
        now.submitted, 3,
        "3 jobs got into the pool (1 running, 2 queued) and 3 were refused, but submitted is \
         {}: a refused job is not submitted, so count `submitted` only after try_send returned \
         Ok ({now:?})",
        now.submitted
    );
    assert_eq!(now.rejected_closed, 0, "nothing was refused as Closed");
    drop(release);
    let report = within(LIMIT, "shutdown", HANG, move || pool.shutdown());
    assert_adds_up(report, 3, 3, 0, 0);
    assert_eq!(report.rejected_full, 3, "the refusals stay counted");
    // 13 and 14 succeed; the refused 15, 16 and 17 never ran.
    runs.assert_each_ran_once([1, 13, 14]);
}

#[test]
fn a_closed_pool_refuses_every_job_and_counts_each_refusal_once() {
    let runs = Arc::new(RunCounts::new());
    let pool = Pool::new(2, 4);
    accepted(3, pool.submit(job(3, &runs)));
    accepted(4, pool.try_submit(job(4, &runs)));
    pool.close();
    for (how, result) in [
        ("submit", pool.submit(job(5, &runs))),
        ("try_submit", pool.try_submit(job(6, &runs))),
    ] {
        match result {
            Ok(()) => panic!("{how} accepted a job after close(): check the `closed` flag first"),
            Err(rejected) => assert_eq!(
                rejected.reason,
                Reason::Closed,
                "{how} after close() should refuse with Reason::Closed"
            ),
        }
    }
    let now = pool.metrics();
    assert_eq!(
        (now.rejected_closed, now.rejected_full),
        (2, 0),
        "2 jobs were refused because the pool was closed: rejected_closed should be 2 and \
         rejected_full 0 ({now:?})"
    );
    let report = within(LIMIT, "shutdown", HANG, move || pool.shutdown());
    // Jobs 3 and 4 both succeed.
    assert_adds_up(report, 2, 2, 0, 0);
    runs.assert_each_ran_once([3, 4]);
}

#[test]
fn under_load_every_job_is_either_submitted_or_rejected_once() {
    silence_worker_panics();
    let runs = Arc::new(RunCounts::new());
    let jobs = Arc::clone(&runs);
    // Four threads try_submit 2000 jobs each into a queue of 4: many are refused with Full.
    let (report, tally) = within(
        LIMIT,
        "4 threads try_submitting 2000 jobs each, then shutdown",
        HANG,
        move || {
            let pool = Pool::new(2, 4);
            let tally: Vec<(Vec<u64>, u64)> = std::thread::scope(|s| {
                let submitters: Vec<_> = (0..4u64)
                    .map(|submitter| {
                        let (pool, jobs) = (&pool, &jobs);
                        s.spawn(move || {
                            let (mut taken, mut full) = (Vec::new(), 0);
                            for n in (1..=2000).map(|i| submitter * 2000 + i) {
                                match pool.try_submit(job(n, jobs)) {
                                    Ok(()) => taken.push(n),
                                    Err(r) if r.reason == Reason::Full => full += 1,
                                    Err(r) => panic!(
                                        "job {n} was refused with {:?} by an open pool: did a \
                                         panic end the workers' threads? Run each job inside \
                                         catch_unwind",
                                        r.reason
                                    ),
                                }
                            }
                            (taken, full)
                        })
                    })
                    .collect();
                submitters
                    .into_iter()
                    .map(|h| h.join().expect("a submitting thread panicked"))
                    .collect()
            });
            (pool.shutdown(), tally)
        },
    );
    let taken: Vec<u64> = tally.iter().flat_map(|(t, _)| t.iter().copied()).collect();
    let full: u64 = tally.iter().map(|(_, f)| f).sum();
    runs.assert_each_ran_once(taken.iter().copied());
    let count = |p: Plan| taken.iter().filter(|n| plan(**n) == p).count() as u64;
    assert_adds_up(
        report,
        taken.len() as u64,
        count(Plan::Succeed),
        count(Plan::Fail),
        count(Plan::Panic),
    );
    assert_eq!(
        report.rejected_full, full,
        "the submitters were refused {full} times with Full, and rejected_full is {}: count \
         each refusal exactly once ({report:?})",
        report.rejected_full
    );
    assert_eq!(
        report.submitted + report.rejected(),
        8000,
        "8000 jobs were offered: each is either submitted or rejected, never both, never \
         neither ({report:?})"
    );
}

#[test]
fn counts_made_at_the_same_moment_on_several_threads_are_all_kept() {
    // Four submitters offer jobs as fast as they can to four workers, each submitter starting
    // every 1000 jobs in step with the others: a count made as `store(load() + 1)` loses the
    // count of any thread that counted in between.
    // A lost count needs two threads to count at the very same moment, which is a matter of
    // luck: the run is repeated up to 10 times, and stops at the first count that went missing.
    const ROUNDS: u64 = 100_000;
    for attempt in 1..=10 {
        offer_in_step(attempt, ROUNDS);
    }
}

/// Four submitters offering `rounds` empty jobs each to four workers; fails the test if a count
/// went missing.
fn offer_in_step(attempt: u32, rounds: u64) {
    let (report, ok, full) = within(
        LIMIT,
        "4 threads offering 100 000 jobs each, then shutdown",
        HANG,
        move || {
            let pool = Pool::new(4, 64);
            let step = std::sync::Barrier::new(4);
            let tally: Vec<(u64, u64)> = std::thread::scope(|s| {
                let submitters: Vec<_> = (0..4)
                    .map(|_| {
                        let (pool, step) = (&pool, &step);
                        s.spawn(move || {
                            let (mut ok, mut full) = (0, 0);
                            for round in 0..rounds {
                                if round % 1000 == 0 {
                                    step.wait();
                                }
                                match pool.try_submit(Box::new(|| Ok(()))) {
                                    Ok(()) => ok += 1,
                                    Err(r) if r.reason == Reason::Full => full += 1,
                                    Err(r) => panic!(
                                        "a job was refused with {:?} by an open pool",
                                        r.reason
                                    ),
                                }
                            }
                            (ok, full)
                        })
                    })
                    .collect();
                submitters
                    .into_iter()
                    .map(|h| h.join().expect("a submitting thread panicked"))
                    .collect()
            });
            let ok = tally.iter().map(|t| t.0).sum::<u64>();
            let full = tally.iter().map(|t| t.1).sum::<u64>();
            (pool.shutdown(), ok, full)
        },
    );
    assert_eq!(
        (report.submitted, report.completed, report.rejected_full),
        (ok, ok, full),
        "run {attempt}: {ok} jobs were accepted (all succeed) and {full} refused with Full, but the counts are \
         {report:?}: counts went missing when two threads counted at once. Count with one \
         `fetch_add(1, ..)`: a `load()` then `store(n + 1)` is two steps, and a count made by \
         another thread between them is overwritten"
    );
}

#[test]
fn workers_are_still_there_after_an_idle_spell() {
    // Longer than any "quit after a second of nothing to do" a worker might have.
    const IDLE: Duration = Duration::from_millis(2_500);
    let pool = Pool::new(2, 4);
    let (done, finished) = crossbeam_channel::unbounded();
    let first = done.clone();
    accepted(
        1,
        pool.submit(Box::new(move || {
            let _ = first.send(1);
            Ok(())
        })),
    );
    assert_eq!(
        finished.recv_timeout(Duration::from_secs(5)),
        Ok(1),
        "job 1 never ran: does the worker take jobs from the queue and run them?"
    );
    // Nothing to do for a while: the workers must wait for work, not leave.
    std::thread::sleep(IDLE);
    let idle_hint = "the pool had nothing to do for 2.5 s, and then a job was refused or never \
                     ran: did the workers leave their loop while the queue was empty (a \
                     `try_recv()` that ends the loop on Empty, or a `recv_timeout` that gives \
                     up)? A worker waits on the queue until it is closed and empty: `for job in \
                     jobs`";
    if let Err(rejected) = pool.submit(Box::new(move || {
        let _ = done.send(2);
        Ok(())
    })) {
        panic!("job 2 was refused with {:?}: {idle_hint}", rejected.reason);
    }
    assert_eq!(
        finished.recv_timeout(Duration::from_secs(5)),
        Ok(2),
        "job 2 was accepted but never ran: {idle_hint}"
    );
    let report = within(LIMIT, "shutdown", HANG, move || pool.shutdown());
    assert_adds_up(report, 2, 2, 0, 0);
}

#[test]
fn zero_workers_or_zero_room_is_refused() {
    for (workers, capacity, why) in [
        (0, 4, "a pool with no worker would never run a job"),
        (2, 0, "a queue with no room could hold no job"),
    ] {
        let made = std::panic::catch_unwind(move || drop(Pool::new(workers, capacity)));
        assert!(
            made.is_err(),
            "Pool::new({workers}, {capacity}) returned a pool, but it should panic: {why} (start \
             `new` with `assert!(workers > 0, ..)` and `assert!(capacity > 0, ..)`)"
        );
    }
}

#[test]
fn the_totals_add_up_each_kind() {
    let s = Snapshot {
        submitted: 10,
        completed: 5,
        failed: 3,
        panicked: 2,
        rejected_full: 4,
        rejected_closed: 7,
    };
    assert_eq!(s.ended(), 10, "ended() is completed + failed + panicked");
    assert_eq!(
        s.rejected(),
        11,
        "rejected() is rejected_full + rejected_closed"
    );
    let pool = Pool::new(1, 1);
    pool.close();
    let rejected = pool
        .try_submit(Box::new(|| Ok(())))
        .expect_err("a closed pool refuses");
    let shown = format!("{rejected:?}");
    assert!(
        shown.contains("Closed"),
        "a Rejected shows its reason when printed with {{:?}}, but it printed {shown:?}"
    );
    within(LIMIT, "shutdown", HANG, move || pool.shutdown());
}
