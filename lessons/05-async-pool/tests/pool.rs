//! The promises lesson 5's pool keeps, checked with counters rather than timing.
//!
//! Most tests run on a two-thread runtime, so workers really run side by side. The timeout
//! tests use tokio's paused clock instead (`start_paused = true`): time then moves only when
//! every task is waiting on a timer, so a 100 ms timeout is exactly 100 ms, and takes none.

use course_support::testing::RunCounts;
use lesson_5::{Config, Outcome, Pool, Report, Status, busy_loop, run_with_permits};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::{Instant, timeout};
use tokio_util::sync::CancellationToken;

const LIMIT: Duration = Duration::from_secs(10);
const HANG: &str = "does the pool still hold its queue sender, so the workers never see it close?";

/// Fails the test with `what` and `hint` if `work` does not finish within [`LIMIT`].
async fn bounded<T>(what: &str, hint: &str, work: impl Future<Output = T>) -> T {
    timeout(LIMIT, work)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within {LIMIT:?}: {hint}"))
}

/// Counts jobs running at once, and the most there ever were; an async-friendly cousin of
/// `testing::Gauge`, whose wait would block a worker thread. Built on a `watch` channel, so a
/// job can await the peak instead of blocking for it.
#[derive(Clone)]
struct Gauge(Arc<watch::Sender<(usize, usize)>>);

/// Held by a running job; dropping it (also when the job's future is dropped) leaves.
struct Inside(Gauge);

impl Gauge {
    fn new() -> Gauge {
        Gauge(Arc::new(watch::Sender::new((0, 0))))
    }

    fn enter(&self) -> Inside {
        self.0.send_modify(|(now, max)| {
            *now += 1;
            *max = (*max).max(*now);
        });
        Inside(self.clone())
    }

    fn now(&self) -> usize {
        self.0.borrow().0
    }

    fn max(&self) -> usize {
        self.0.borrow().1
    }

    /// Waits, at most 5 s, until `n` jobs have been running at once; says whether they were.
    async fn wait_for_peak(&self, n: usize) -> bool {
        let mut changes = self.0.subscribe();
        timeout(Duration::from_secs(5), changes.wait_for(|s| s.1 >= n))
            .await
            .is_ok()
    }
}

impl Drop for Inside {
    fn drop(&mut self) {
        self.0.0.send_modify(|(now, _)| *now -= 1);
    }
}

/// A gate jobs wait at until the test opens it. Awaiting it is an `.await` like any other, so
/// a job waiting here can be timed out or cancelled.
fn gate() -> (watch::Sender<bool>, watch::Receiver<bool>) {
    watch::channel(false)
}

async fn wait_at(mut gate: watch::Receiver<bool>) {
    let _ = gate.wait_for(|open| *open).await;
}

/// Ids of the outcomes with `status`, sorted.
fn ids_with(report: &Report<u64>, want: impl Fn(&Outcome<u64>) -> bool) -> Vec<u64> {
    let mut ids: Vec<u64> = report
        .outcomes
        .iter()
        .filter(|o| want(o))
        .map(|o| o.job)
        .collect();
    ids.sort_unstable();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_job_runs_exactly_once() {
    let counts = Arc::new(RunCounts::new());
    let seen = Arc::clone(&counts);
    let pool = Pool::new(
        Config::new(4, 8),
        move |job: u64, _| {
            seen.ran(job);
            async { Ok(()) }
        },
        |_| {},
    );
    let report = bounded("200 jobs on 4 worker tasks", HANG, async {
        for job in 1..=200 {
            pool.submit(job).await.expect("nobody cancels this pool");
        }
        pool.shutdown().await
    })
    .await;
    counts.assert_each_ran_once(1..=200);
    assert_eq!((report.submitted, report.completed()), (200, 200));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_more_than_workers_jobs_run_at_once_and_the_pool_gets_there() {
    for workers in [1, 3, 6] {
        let gauge = Gauge::new();
        let inside = gauge.clone();
        let pool = Pool::new(
            Config::new(workers, 2),
            move |_: u64, _| {
                let gauge = inside.clone();
                async move {
                    let _running = gauge.enter();
                    if gauge.wait_for_peak(workers).await {
                        Ok(())
                    } else {
                        Err(format!("only {} ran at once", gauge.max()))
                    }
                }
            },
            |_| {},
        );
        let report = bounded("the in-flight check", HANG, async {
            for job in 0..4 * workers as u64 {
                pool.submit(job).await.unwrap();
            }
            pool.shutdown().await
        })
        .await;
        assert!(
            gauge.max() <= workers,
            "{} ran at once with {workers} workers",
            gauge.max()
        );
        assert_eq!(
            report.completed(),
            4 * workers,
            "with {workers} workers the pool never ran {workers} jobs at once (peak {}): {:?}",
            gauge.max(),
            report.outcomes
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_drains_every_queued_job() {
    let (open, closed) = gate();
    let pool = Pool::new(
        Config::new(3, 40),
        move |job: u64, _| {
            let gate = closed.clone();
            async move {
                wait_at(gate).await;
                if job % 4 == 0 {
                    Err(format!("job {job} is a multiple of 4"))
                } else {
                    Ok(())
                }
            }
        },
        |_| {},
    );
    for job in 1..=40 {
        pool.submit(job).await.unwrap();
    }
    // Three jobs wait at the gate and the rest in the queue. Open it and shut down at once:
    // every queued job must still run.
    open.send_replace(true);
    let report = bounded("shutdown", HANG, pool.shutdown()).await;
    assert_eq!(
        ids_with(&report, |_| true),
        (1..=40).collect::<Vec<_>>(),
        "each job is reported exactly once"
    );
    assert_eq!(
        (report.completed(), report.failed(), report.cancelled()),
        (30, 10, 0)
    );
    assert!(report.outcomes.iter().all(|o| o.worker.is_some()));
}

#[tokio::test(start_paused = true)]
async fn cancellation_wakes_idle_workers_at_once() {
    let mut pool = Pool::new(Config::new(4, 4), |_: u64, _| async { Ok(()) }, |_| {});
    // No job, and the queue still open: the workers wait, and would wait for ever.
    assert!(
        timeout(Duration::from_millis(100), pool.wait_for_workers())
            .await
            .is_err(),
        "the workers left although the queue is open and nobody cancelled"
    );
    let before = Instant::now();
    pool.cancel();
    bounded(
        "idle workers after cancel",
        "does the worker's select! wait on the token beside the queue?",
        pool.wait_for_workers(),
    )
    .await;
    // The clock is paused, and moves only if every task waits on a timer: the workers left
    // without any time passing, woken by the token and nothing else.
    assert_eq!(
        Instant::now(),
        before,
        "the workers needed time to notice the cancel"
    );
    let report = pool.shutdown().await;
    assert_eq!(report.outcomes.len(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_starts_no_job_after_it_observes_cancellation() {
    let gauge = Gauge::new();
    let started = Arc::new(AtomicUsize::new(0));
    let (_open, closed) = gate();
    let (inside, count) = (gauge.clone(), Arc::clone(&started));
    let pool = Pool::new(
        Config::new(2, 50),
        move |_: u64, _| {
            let (gauge, gate) = (inside.clone(), closed.clone());
            count.fetch_add(1, Ordering::SeqCst);
            async move {
                let _running = gauge.enter();
                // Never opened: only the cancel ends these jobs.
                wait_at(gate).await;
                Ok(())
            }
        },
        |_| {},
    );
    for job in 1..=50 {
        pool.submit(job).await.unwrap();
    }
    assert!(
        gauge.wait_for_peak(2).await,
        "two jobs should be running; are both workers taking jobs?"
    );
    pool.cancel();
    assert_eq!(
        pool.submit(51).await,
        Err(lesson_5::Rejected {
            job: 51,
            reason: lesson_5::Reason::Cancelled
        }),
        "a cancelled pool hands new jobs back"
    );
    let report = bounded(
        "shutdown after cancel",
        "do running jobs ignore the token?",
        pool.shutdown(),
    )
    .await;

    assert_eq!(
        started.load(Ordering::SeqCst),
        2,
        "only the two jobs running before the cancel may ever start"
    );
    assert_eq!(gauge.now(), 0, "a cancelled job's future was not dropped");
    assert_eq!(report.cancelled(), 50, "{:?}", report.outcomes);
    assert_eq!(
        ids_with(&report, |o| o.status == Status::Cancelled { started: true }).len(),
        2,
        "two were cancelled while running"
    );
    assert_eq!(
        ids_with(&report, |_| true),
        (1..=50).collect::<Vec<_>>(),
        "every accepted job comes back exactly once, run or not"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_hands_the_job_back_when_cancelled_while_waiting() {
    let gauge = Gauge::new();
    let (_open, closed) = gate();
    let inside = gauge.clone();
    let pool = Arc::new(Pool::new(
        Config::new(1, 1),
        move |_: u64, _| {
            let (gauge, gate) = (inside.clone(), closed.clone());
            async move {
                let _running = gauge.enter();
                wait_at(gate).await;
                Ok(())
            }
        },
        |_| {},
    ));
    pool.submit(1).await.unwrap();
    assert!(
        gauge.wait_for_peak(1).await,
        "the one worker never took job 1"
    );
    pool.submit(2).await.unwrap();
    // The worker is busy and the queue's one slot is taken: this submit has to wait.
    let waiting = tokio::spawn({
        let pool = Arc::clone(&pool);
        async move { pool.submit(3).await }
    });
    tokio::task::yield_now().await;
    pool.cancel();
    let result = bounded(
        "a submit waiting on a full queue",
        "does submit wait on the token as well as on the queue?",
        waiting,
    )
    .await
    .expect("the submitting task does not panic");
    assert_eq!(
        result,
        Err(lesson_5::Rejected {
            job: 3,
            reason: lesson_5::Reason::Cancelled
        })
    );
    let pool = Arc::into_inner(pool).expect("the waiting task has let go of the pool");
    let report = bounded("shutdown", HANG, pool.shutdown()).await;
    assert_eq!(
        (report.submitted, report.cancelled()),
        (2, 2),
        "jobs 1 and 2 were accepted, and cancelled"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_every_worker_has_panicked_submit_hands_jobs_back_instead_of_waiting() {
    // Two workers, two jobs that panic: afterwards nobody will ever take a job from the queue.
    let pool = Pool::new(
        Config::new(2, 1),
        |job: u64, _| async move {
            if job < 2 {
                panic!("planted panic in job {job}");
            }
            Ok(())
        },
        |_| {},
    );
    pool.submit(0).await.unwrap();
    pool.submit(1).await.unwrap();
    // The queue has room for one job: at most one more submit can get in before the workers
    // are gone, and every submit after that must come back at once, not wait for room.
    let handed_back = bounded(
        "submitting to a pool whose workers have all panicked",
        "does submit also wait for the last worker to end, and refuse once it has?",
        async {
            let mut handed_back = Vec::new();
            for job in 2..6 {
                if let Err(rejected) = pool.submit(job).await {
                    assert_eq!(
                        rejected.reason,
                        lesson_5::Reason::NoWorkers,
                        "the pool was not cancelled: the workers are gone ({rejected})"
                    );
                    handed_back.push(rejected.into_inner());
                }
            }
            handed_back
        },
    )
    .await;
    assert!(
        handed_back.len() >= 3 && handed_back.ends_with(&[5]),
        "with no worker left and room for one job, at least 3 of jobs 2..6 come back, the \
         last among them: {handed_back:?}"
    );
    let report = bounded("shutdown", HANG, pool.shutdown()).await;
    assert_eq!(report.panicked, 2, "both workers died of their job's panic");
}

#[tokio::test(start_paused = true)]
async fn a_job_past_its_timeout_is_stopped_and_marked_timed_out() {
    let gauge = Gauge::new();
    let inside = gauge.clone();
    let config = Config {
        job_timeout: Some(Duration::from_millis(100)),
        ..Config::new(1, 4)
    };
    let pool = Pool::new(
        config,
        move |job: u64, _| {
            let gauge = inside.clone();
            async move {
                let _running = gauge.enter();
                // Job 1 takes 50 ms, job 2 takes 200 ms, job 3 never ends by itself.
                match job {
                    1 => tokio::time::sleep(Duration::from_millis(50)).await,
                    2 => tokio::time::sleep(Duration::from_millis(200)).await,
                    _ => std::future::pending().await,
                }
                Ok(())
            }
        },
        |_| {},
    );
    for job in 1..=3 {
        pool.submit(job).await.unwrap();
    }
    let report = bounded("three jobs, one worker", HANG, pool.shutdown()).await;
    let by_job = |id: u64| report.outcomes.iter().find(|o| o.job == id).unwrap();
    let ms = Duration::from_millis;
    assert_eq!(
        (&by_job(1).status, by_job(1).took),
        (&Status::Completed, ms(50))
    );
    // Paused time is exact: stopped at the limit to the millisecond, neither before nor after.
    for id in [2, 3] {
        assert_eq!(
            (&by_job(id).status, by_job(id).took),
            (&Status::TimedOut, ms(100)),
            "job {id}"
        );
    }
    assert_eq!(by_job(3).started, ms(150), "one job after the other");
    assert_eq!(gauge.now(), 0, "a timed-out job's future was not dropped");
}

#[tokio::test(start_paused = true)]
async fn the_run_deadline_cancels_what_is_left() {
    let config = Config {
        deadline: Some(Duration::from_millis(250)),
        ..Config::new(2, 10)
    };
    let pool = Pool::new(
        config,
        |_: u64, _| async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            Ok(())
        },
        |_| {},
    );
    for job in 1..=10 {
        pool.submit(job).await.unwrap();
    }
    let report = bounded("a run with a deadline", HANG, pool.shutdown()).await;
    // Two workers, 100 ms jobs, 250 ms: jobs 1 to 4 finish, 5 and 6 are cut off half-way,
    // 7 to 10 never start.
    assert_eq!(
        ids_with(&report, |o| o.status == Status::Completed),
        [1, 2, 3, 4]
    );
    assert_eq!(
        ids_with(&report, |o| o.status == Status::Cancelled { started: true }),
        [5, 6]
    );
    assert_eq!(
        ids_with(&report, |o| o.status
            == Status::Cancelled { started: false }),
        [7, 8, 9, 10]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_out_blocking_job_is_told_to_stop() {
    let (gave_up, heard) = std::sync::mpsc::channel();
    let config = Config {
        job_timeout: Some(Duration::from_millis(20)),
        ..Config::new(1, 1)
    };
    let pool = Pool::new(
        config,
        move |_: u64, token| {
            let gave_up = gave_up.clone();
            async move {
                // 30 s of CPU work: far longer than the test may take, unless it stops early.
                let work = tokio::task::spawn_blocking(move || {
                    let result = busy_loop(Duration::from_secs(30), &token);
                    let _ = gave_up.send(result.is_err());
                });
                let _ = work.await;
                Ok(())
            }
        },
        |_| {},
    );
    pool.submit(1).await.unwrap();
    let report = bounded("a timed-out job", HANG, pool.shutdown()).await;
    assert_eq!(report.timed_out(), 1);
    // The job's future was dropped at the timeout, but a blocking thread cannot be dropped:
    // it stops only because the pool cancelled the job's token.
    let stopped = tokio::task::spawn_blocking(move || heard.recv_timeout(Duration::from_secs(5)))
        .await
        .unwrap();
    assert_eq!(
        stopped,
        Ok(true),
        "the blocking work ran on after its job timed out: is the job's token cancelled when \
         the job ends?"
    );
}

/// On a runtime with one thread: a task whose timer is due in 1 ms, and a job that blocks
/// that thread (for at most `wait`) until it hears from the timer task. Returns whether the
/// job heard from it. `offload` moves the blocking wait onto a blocking thread.
fn timer_heard_by_a_blocking_job(offload: bool, wait: Duration) -> bool {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let (tick, ticked) = std::sync::mpsc::channel();
        let timer = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(1)).await;
            let _ = tick.send(());
        });
        let blocking_wait = move || ticked.recv_timeout(wait).is_ok();
        let job = tokio::spawn(async move {
            if offload {
                tokio::task::spawn_blocking(blocking_wait).await.unwrap()
            } else {
                // The mistake: blocking calls right inside a task.
                blocking_wait()
            }
        });
        let heard = job.await.unwrap();
        timer.await.unwrap();
        heard
    })
}

#[test]
fn blocking_a_worker_thread_stalls_other_tasks_and_spawn_blocking_does_not() {
    // Inline, the job holds the runtime's only thread, so the timer task cannot run until the
    // job gives up: it never hears the tick, however long it waits.
    assert!(
        !timer_heard_by_a_blocking_job(false, Duration::from_millis(300)),
        "the timer ran while the only thread was blocked?"
    );
    // On a blocking thread, the runtime's thread stays free: the timer fires and the job hears
    // it at once (the 10 s is only a bound).
    assert!(
        timer_heard_by_a_blocking_job(true, LIMIT),
        "the timer never fired although the job ran on a blocking thread"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_that_never_awaits_cannot_be_stopped_but_is_reported_timed_out() {
    let config = Config {
        job_timeout: Some(Duration::from_millis(5)),
        ..Config::new(1, 1)
    };
    let pool = Pool::new(
        config,
        |_: u64, _| async {
            // No `.await` inside: `timeout` only gets a say when the job yields, and it never
            // does, so the job runs its full 50 ms.
            std::thread::sleep(Duration::from_millis(50));
            Ok(())
        },
        |_| {},
    );
    pool.submit(1).await.unwrap();
    let report = bounded("a job that never awaits", HANG, pool.shutdown()).await;
    let outcome = &report.outcomes[0];
    assert!(outcome.took >= Duration::from_millis(50), "{outcome:?}");
    assert_eq!(
        outcome.status,
        Status::TimedOut,
        "its result came 45 ms late, and must not count as done"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_permit_shape_never_runs_more_than_its_permits_and_gets_there() {
    for permits in [1, 3, 6] {
        let gauge = Gauge::new();
        let counts = Arc::new(RunCounts::new());
        let (inside, seen) = (gauge.clone(), Arc::clone(&counts));
        let report = bounded(
            "the permit shape",
            "is every permit given back when its job ends?",
            run_with_permits(
                permits,
                1..=5 * permits as u64,
                None,
                CancellationToken::new(),
                move |job: u64, _| {
                    seen.ran(job);
                    let gauge = inside.clone();
                    async move {
                        let _running = gauge.enter();
                        if gauge.wait_for_peak(permits).await {
                            Ok(())
                        } else {
                            Err("fell short of the peak".into())
                        }
                    }
                },
            ),
        )
        .await;
        assert!(
            gauge.max() <= permits,
            "{} ran at once with {permits} permits",
            gauge.max()
        );
        assert_eq!(
            report.completed(),
            5 * permits,
            "with {permits} permits, {permits} jobs never ran at once (peak {})",
            gauge.max()
        );
        counts.assert_each_ran_once(1..=5 * permits as u64);
    }
}

// One thread: a job task's last poll (give back the permit, return) then runs to the end
// before the loop that spawns can take the permit again, so the count is exact.
#[tokio::test]
async fn acquiring_the_permit_before_spawning_keeps_the_task_count_at_the_limit() {
    let most_tasks = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&most_tasks);
    let report = bounded(
        "1000 jobs on 4 permits",
        "is every permit given back when its job ends?",
        run_with_permits(
            4,
            1..=1000_u64,
            None,
            CancellationToken::new(),
            move |_: u64, _| {
                let seen = Arc::clone(&seen);
                async move {
                    // Every task alive in this test's runtime: the job tasks, nothing else.
                    let alive = tokio::runtime::Handle::current()
                        .metrics()
                        .num_alive_tasks();
                    seen.fetch_max(alive, Ordering::SeqCst);
                    tokio::task::yield_now().await;
                    Ok(())
                }
            },
        ),
    )
    .await;
    assert_eq!(report.completed(), 1000);
    assert!(
        most_tasks.load(Ordering::SeqCst) <= 4,
        "{} tasks were alive at once for 4 permits: is the permit acquired inside the task \
         instead of before spawning it?",
        most_tasks.load(Ordering::SeqCst)
    );

    // The same jobs spawned first, each acquiring its permit inside its task: still 4 at a
    // time, but every job waiting for a permit is a task that already exists. The first four
    // hold their permits at a gate, so none can finish while we count.
    let permits = Arc::new(tokio::sync::Semaphore::new(4));
    let (open, closed) = gate();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..1000 {
        let (permits, gate) = (Arc::clone(&permits), closed.clone());
        tasks.spawn(async move {
            let _permit = permits.acquire().await;
            wait_at(gate).await;
        });
    }
    assert_eq!(
        tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks(),
        1000,
        "spawned first, the tasks grow with the queue"
    );
    open.send_replace(true);
    bounded("1000 spawned tasks", "is the gate open?", async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
}

/// A small seeded generator, so each iteration's cancel point can be replayed from its seed.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// One run with seeded jobs (some failing, some past the timeout) and a cancel at a seeded
/// moment; checks that every job ends in exactly one state and that the counts add up.
async fn counts_add_up(seed: u64, permit_shape: bool, exact: bool) {
    let mut rng = seed;
    let jobs = course_support::workload::jobs(30, seed, Duration::from_millis(20), 20);
    let cancel_after = Duration::from_millis(splitmix(&mut rng) % 200);
    let config = Config {
        job_timeout: Some(Duration::from_millis(25)),
        ..Config::new(3, 1 + (splitmix(&mut rng) % 8) as usize)
    };
    let handler = |job: course_support::workload::JobSpec, _: CancellationToken| async move {
        tokio::time::sleep(job.work).await;
        if job.fails {
            Err("seeded".to_string())
        } else {
            Ok(())
        }
    };
    let report = if permit_shape {
        let token = CancellationToken::new();
        let canceller = token.clone();
        tokio::spawn(async move {
            tokio::time::sleep(cancel_after).await;
            canceller.cancel();
        });
        run_with_permits(3, jobs.clone(), config.job_timeout, token, handler).await
    } else {
        let pool = Pool::new(config, handler, |_| {});
        let token = pool.cancel_token();
        tokio::spawn(async move {
            tokio::time::sleep(cancel_after).await;
            token.cancel();
        });
        for job in jobs.clone() {
            if pool.submit(job).await.is_err() {
                break;
            }
        }
        pool.shutdown().await
    };
    let ended = report.completed() + report.failed() + report.timed_out() + report.cancelled();
    let shape = if permit_shape { "permits" } else { "pool" };
    assert_eq!(
        (ended, report.outcomes.len(), report.lost()),
        (report.submitted, report.submitted, 0),
        "seed {seed} ({shape}): the states do not add up to the jobs accepted"
    );
    let mut ids: Vec<u64> = report.outcomes.iter().map(|o| o.job.id).collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        (1..=report.submitted as u64).collect::<Vec<_>>(),
        "seed {seed} ({shape}): a job is missing or reported twice"
    );
    if exact {
        // On the paused clock a job's fate is decided by its seeded length alone (to within
        // the timer's 1 ms resolution), never by a race.
        let limit = Duration::from_millis(25);
        let tick = Duration::from_millis(1);
        for o in &report.outcomes {
            let fits = match o.status {
                Status::Completed | Status::Failed(_) => o.job.work <= limit + tick,
                Status::TimedOut => o.job.work + tick >= limit,
                Status::Cancelled { .. } => true,
            };
            assert!(fits, "seed {seed} ({shape}): {o:?}");
        }
    }
}

#[test]
fn counts_add_up_under_random_cancellation_points() {
    // On a paused clock each seed is one exact replayable schedule; 200 of them take no time.
    for seed in 0..200 {
        for permit_shape in [false, true] {
            tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .start_paused(true)
                .build()
                .unwrap()
                .block_on(counts_add_up(seed, permit_shape, true));
        }
    }
}

#[test]
fn counts_add_up_under_random_cancellation_points_on_real_threads() {
    // The same on a real clock and two threads, where the cancel races the workers for real.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    for seed in 0..10 {
        for permit_shape in [false, true] {
            runtime.block_on(async {
                bounded(
                    "a seeded cancelled run",
                    HANG,
                    counts_add_up(seed, permit_shape, false),
                )
                .await
            });
        }
    }
}
