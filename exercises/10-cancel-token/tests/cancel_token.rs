//! The tests for exercise 10. They run against your code in `exercises/10-cancel-token` and
//! against the finished version in `solutions/10-cancel-token`.
//!
//! Most tests run on tokio's paused clock (`start_paused = true`). Time then moves only when
//! every task is waiting on a timer, which has two uses here: a worker stuck for ever makes the
//! test's own time limit fire at once, instead of after 10 real seconds, and "no time passed"
//! can be asserted exactly.
//!
//! Each test runs on a runtime of its own, on a thread of its own, under a real-time bound: a
//! worker that keeps its runtime busy (a loop over `try_recv`) would stop the paused clock for
//! ever, and fails with a message instead of hanging the test run.

use cancel_token::{Pool, Report, Status, Stopped, worker};
use course_support::testing::{RunCounts, within};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::{Instant, timeout};
use tokio_util::sync::CancellationToken;

const LIMIT: Duration = Duration::from_secs(4);
/// How long a whole test may take in real time.
const REAL: Duration = Duration::from_secs(8);
const HANG: &str = "a worker that awaits only the queue never hears the cancel while a sender \
                    is alive: select! on token.cancelled() beside the next job";
const BUSY: &str = "the runtime never got control back: a worker that loops over try_recv() \
                    or token.is_cancelled() (with or without yield_now) keeps it busy, so \
                    tokio's paused clock never moves and a real one burns a CPU. Wait with \
                    select! on token.cancelled() and the next job's recv(): it sleeps until one \
                    of them is ready";

/// Which runtime a test runs on.
enum Clock {
    /// One thread, and tokio's paused clock (`start_paused`).
    Paused,
    /// Two threads, the real clock.
    TwoThreads,
}

/// Runs the future `test` makes on a runtime of its own, on a thread of its own, and fails the
/// test if that takes more than [`REAL`] of real time.
fn run<Fut>(clock: Clock, what: &str, test: impl FnOnce() -> Fut + Send + 'static)
where
    Fut: Future<Output = ()>,
{
    within(REAL, what, BUSY, move || {
        let mut builder = match clock {
            Clock::TwoThreads => {
                let mut builder = tokio::runtime::Builder::new_multi_thread();
                builder.worker_threads(2);
                builder
            }
            Clock::Paused => tokio::runtime::Builder::new_current_thread(),
        };
        builder
            .enable_all()
            .start_paused(matches!(clock, Clock::Paused));
        builder.build().expect("a runtime").block_on(test());
    });
}

/// Fails the test with `what` and `hint` if `work` does not finish within [`LIMIT`].
async fn bounded<T>(what: &str, hint: &str, work: impl Future<Output = T>) -> T {
    timeout(LIMIT, work)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within {LIMIT:?}: {hint}"))
}

/// Counts jobs running at once, and the most there ever were: lesson 5's async gauge, built on
/// a `watch` channel so a job can await the peak instead of blocking its thread for it.
#[derive(Clone)]
struct Gauge(Arc<watch::Sender<(usize, usize)>>);

/// Held by a running job; dropping it leaves.
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

/// Every job from 1 to `jobs` is in the report exactly once.
fn assert_accounted(report: &Report, jobs: u64) {
    assert_eq!(
        report.all_jobs(),
        (1..=jobs).collect::<Vec<_>>(),
        "every job should be reported exactly once: by the worker that took it (Completed, Stopped \
         or Skipped), or as left in the queue. Is a job taken after the cancel reported as \
         Skipped? Report: {report:?}"
    );
}

#[test]
fn the_workers_run_every_job_and_leave_when_the_queue_closes() {
    run(
        Clock::TwoThreads,
        "the_workers_run_every_job_and_leave_when_the_queue_closes",
        || async {
            let counts = Arc::new(RunCounts::new());
            let seen = Arc::clone(&counts);
            let pool = Pool::start(4, 100, CancellationToken::new(), move |job, _| {
                seen.ran(job);
                async { Ok(()) }
            });
            let queue = pool.sender();
            for job in 1..=100 {
                queue.send(job).await.unwrap();
            }
            // The last senders go (this one now, the pool's own in finish): the queue closes.
            drop(queue);
            let report = bounded(
            "a pool whose queue was closed",
            "when recv() returns None, the queue is closed and empty: the worker's loop should end",
            pool.finish(),
        )
        .await;
            counts.assert_each_ran_once(1..=100);
            assert_eq!(report.count(Status::Completed), 100, "{report:?}");
            assert_accounted(&report, 100);
        },
    )
}

#[test]
fn cancelling_wakes_idle_workers_although_the_queue_is_open() {
    run(
        Clock::Paused,
        "cancelling_wakes_idle_workers_although_the_queue_is_open",
        || async {
            let token = CancellationToken::new();
            let mut pool = Pool::start(4, 4, token.clone(), |_, _| async { Ok(()) });
            // Held to the end: the queue never closes, so only the token can end the workers.
            let queue = pool.sender();
            assert!(
                timeout(Duration::from_millis(100), pool.wait_for_workers())
                    .await
                    .is_err(),
                "the workers left although the queue is open and nobody cancelled: an empty queue is \
                 not a closed one (wait with recv(), which returns None only once it is closed)"
            );
            let before = Instant::now();
            token.cancel();
            bounded(
                "idle workers after the cancel",
                HANG,
                pool.wait_for_workers(),
            )
            .await;
            // The clock is paused and moves only when every task waits on a timer: the workers left
            // without any time passing, woken by the token and nothing else.
            assert_eq!(
                Instant::now(),
                before,
                "the workers needed time to notice the cancel: are they polling? Wait on \
                 token.cancelled() in the select! itself"
            );
            let report = pool.finish().await;
            assert!(report.outcomes.is_empty(), "no job was ever queued");
            drop(queue);
        },
    )
}

#[test]
fn a_worker_starts_no_job_after_the_cancel() {
    run(
        Clock::Paused,
        "a_worker_starts_no_job_after_the_cancel",
        || async {
            // One worker, and job 3 cancels the pool. Repeated, because when the token is cancelled
            // and a job is waiting, a select! that is not `biased` picks either at random.
            for _ in 0..20 {
                let token = CancellationToken::new();
                let started = Arc::new(Mutex::new(Vec::new()));
                let late = Arc::new(AtomicUsize::new(0));
                let (log, late_starts, canceller) =
                    (Arc::clone(&started), Arc::clone(&late), token.clone());
                let pool = Pool::start(1, 10, token.clone(), move |job, _| {
                    let (log, late_starts, canceller) = (
                        Arc::clone(&log),
                        Arc::clone(&late_starts),
                        canceller.clone(),
                    );
                    async move {
                        if canceller.is_cancelled() {
                            late_starts.fetch_add(1, Ordering::SeqCst);
                        }
                        log.lock().unwrap().push(job);
                        if job == 3 {
                            canceller.cancel();
                        }
                        Ok(())
                    }
                });
                let queue = pool.sender();
                for job in 1..=10 {
                    queue.send(job).await.unwrap();
                }
                // `queue` is still alive: only the cancel can end the worker.
                let report = bounded("a pool cancelled by its job 3", HANG, pool.finish()).await;
                assert_eq!(
                    late.load(Ordering::SeqCst),
                    0,
                    "a job started after the token was cancelled: when both are ready, select! picks at \
                     random. Use `biased;` with the token's branch first, or check token.is_cancelled() \
                     after taking a job, and report that job as Skipped"
                );
                assert_eq!(
                    *started.lock().unwrap(),
                    [1, 2, 3],
                    "jobs 1 to 3 run, then none"
                );
                assert_accounted(&report, 10);
                assert_eq!(report.count(Status::Completed), 3, "{report:?}");
                drop(queue);
            }
        },
    )
}

#[test]
fn running_jobs_hear_the_cancel_and_no_other_job_starts() {
    run(
        Clock::Paused,
        "running_jobs_hear_the_cancel_and_no_other_job_starts",
        || async {
            // Three workers, each running a job that waits for its token; seven more jobs queued.
            let token = CancellationToken::new();
            let gauge = Gauge::new();
            let started = Arc::new(Mutex::new(Vec::new()));
            let (inside, log) = (gauge.clone(), Arc::clone(&started));
            let pool = Pool::start(3, 10, token.clone(), move |job, job_token| {
                let (gauge, log) = (inside.clone(), Arc::clone(&log));
                async move {
                    let _running = gauge.enter();
                    log.lock().unwrap().push(job);
                    // Cooperative cancellation: the job stops when its token says so.
                    job_token.cancelled().await;
                    Err(Stopped)
                }
            });
            let queue = pool.sender();
            for job in 1..=10 {
                queue.send(job).await.unwrap();
            }
            assert!(
                gauge.wait_for_peak(3).await,
                "3 workers never ran 3 jobs at once (peak {}): is a worker holding the queue's lock \
                 while its job runs? Take the job, let the lock go, then run it",
                gauge.max()
            );
            token.cancel();
            let report = bounded(
                "a pool cancelled with three jobs running",
                "the running jobs wait for the token they are given: pass each job a clone of the \
                 worker's token (token.clone()), not a new one. Then the workers must leave although \
                 the queue is still open: select! on token.cancelled() beside the next job",
                pool.finish(),
            )
            .await;
            let mut started = started.lock().unwrap().clone();
            started.sort_unstable();
            assert_eq!(
                started,
                [1, 2, 3],
                "only the three jobs running before the cancel may ever start"
            );
            assert_accounted(&report, 10);
            assert_eq!(
                report.outcomes[..3],
                [
                    (1, Status::Stopped),
                    (2, Status::Stopped),
                    (3, Status::Stopped)
                ],
                "a job that returns Err(Stopped) is reported Stopped: {report:?}"
            );
            assert_eq!(report.count(Status::Completed), 0);
            drop(queue);
        },
    )
}

/// A small seeded generator, so a failing seed can be replayed.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[test]
fn counts_add_up_wherever_the_cancel_lands() {
    run(
        Clock::Paused,
        "counts_add_up_wherever_the_cancel_lands",
        || async {
            for seed in 0..100 {
                let mut rng = seed;
                let jobs = splitmix(&mut rng) % 30;
                let workers = 1 + (splitmix(&mut rng) % 4) as usize;
                let cancel_at = Duration::from_millis(splitmix(&mut rng) % 100);
                let lengths: Vec<Duration> = (0..jobs)
                    .map(|_| Duration::from_millis(splitmix(&mut rng) % 20))
                    .collect();
                let token = CancellationToken::new();
                let late = Arc::new(AtomicUsize::new(0));
                let (late_starts, canceller) = (Arc::clone(&late), token.clone());
                let pool = Pool::start(workers, 30, token.clone(), move |job, job_token| {
                    let work = lengths[job as usize - 1];
                    let late_starts = Arc::clone(&late_starts);
                    let canceller = canceller.clone();
                    async move {
                        if canceller.is_cancelled() {
                            late_starts.fetch_add(1, Ordering::SeqCst);
                        }
                        tokio::select! {
                            () = tokio::time::sleep(work) => Ok(()),
                            () = job_token.cancelled() => Err(Stopped),
                        }
                    }
                });
                let queue = pool.sender();
                for job in 1..=jobs {
                    queue.send(job).await.unwrap();
                }
                let timer = tokio::spawn(async move {
                    tokio::time::sleep(cancel_at).await;
                    token.cancel();
                });
                // `queue` stays alive throughout: whatever the workers are doing, the cancel ends them.
                let report = bounded("a seeded cancelled run", HANG, pool.finish()).await;
                timer.await.unwrap();
                assert_eq!(
                    late.load(Ordering::SeqCst),
                    0,
                    "seed {seed}: a job started after the cancel: {report:?}"
                );
                assert_accounted(&report, jobs);
                drop(queue);
            }
        },
    )
}

#[test]
fn a_job_that_stops_by_itself_does_not_end_its_worker() {
    run(
        Clock::Paused,
        "a_job_that_stops_by_itself_does_not_end_its_worker",
        || async {
            // Nobody cancels: job 2 gives up on its own, and the worker goes on to job 3.
            let pool = Pool::start(1, 5, CancellationToken::new(), |job, _| async move {
                if job == 2 { Err(Stopped) } else { Ok(()) }
            });
            let queue = pool.sender();
            for job in 1..=5 {
                queue.send(job).await.unwrap();
            }
            drop(queue);
            let report = bounded(
                "a pool whose job 2 stops by itself",
                "the queue is closed: the worker should take the rest of the jobs and leave",
                pool.finish(),
            )
            .await;
            assert_eq!(
                report.outcomes,
                [
                    (1, Status::Completed),
                    (2, Status::Stopped),
                    (3, Status::Completed),
                    (4, Status::Completed),
                    (5, Status::Completed)
                ],
                "job 2 returned Err(Stopped) although nobody cancelled: report it Stopped and go \
                 on with the next job; only the token (or a closed queue) ends the worker. \
                 Report: {report:?}"
            );
        },
    )
}

/// A waker that cancels a token when it is woken.
struct CancelOnWake(CancellationToken);

impl std::task::Wake for CancelOnWake {
    fn wake(self: Arc<Self>) {
        self.0.cancel();
    }
}

#[test]
fn a_job_taken_as_the_cancel_lands_is_reported_skipped() {
    // The cancel lands in the instant the worker takes a job: the test waits for the queue's
    // lock behind the idle worker, with a waker that cancels the token. When the worker has
    // taken job 1 and lets go of the lock, the lock passes to the test, and that wakes the test,
    // which cancels: after the worker looked at the token, before it starts the job.
    run(
        Clock::Paused,
        "a_job_taken_as_the_cancel_lands_is_reported_skipped",
        || async {
            let (queue, jobs) = tokio::sync::mpsc::channel(1);
            let jobs = Arc::new(tokio::sync::Mutex::new(jobs));
            let token = CancellationToken::new();
            let ran = Arc::new(AtomicUsize::new(0));
            let (taken, stop, count) = (Arc::clone(&jobs), token.clone(), Arc::clone(&ran));
            let running = tokio::spawn(async move {
                worker(&taken, &stop, &|_, _| {
                    count.fetch_add(1, Ordering::SeqCst);
                    async { Ok(()) }
                })
                .await
            });
            // The worker runs until it waits on the empty queue, holding its lock.
            for _ in 0..10 {
                tokio::task::yield_now().await;
            }
            let waker = std::task::Waker::from(Arc::new(CancelOnWake(token.clone())));
            let mut behind = Box::pin(jobs.lock());
            assert!(
                behind
                    .as_mut()
                    .poll(&mut std::task::Context::from_waker(&waker))
                    .is_pending(),
                "an idle worker should be waiting for a job with recv(), which holds the \
                 queue's lock while it waits"
            );
            queue.send(1).await.unwrap();
            let outcomes = bounded(
                "a worker cancelled as it takes a job",
                "the token is cancelled, and the test now holds the queue's lock: the worker \
                 should leave without waiting for that lock. Lock the queue only inside the \
                 select!'s job branch (a helper like next_job), so the token's branch can win",
                running,
            )
            .await
            .expect("the worker does not panic");
            let left = behind.await.try_recv().ok();
            assert_eq!(
                ran.load(Ordering::SeqCst),
                0,
                "the token was cancelled after the worker's select! and before the job started: \
                 a worker never starts a job once the token is cancelled. Check \
                 token.is_cancelled() after taking the job (and after letting go of the lock)"
            );
            assert!(
                left.is_none(),
                "job 1 was sent to an idle worker, which never took it: is the worker polling \
                 (try_recv, then a sleep) instead of waiting in recv() inside the select!?"
            );
            assert_eq!(
                outcomes,
                [(1, Status::Skipped)],
                "a job the worker takes after the cancel is not started, but it is still \
                 reported: push (job, Status::Skipped) before leaving"
            );
            drop(queue);
        },
    )
}

#[test]
fn a_job_that_panics_is_passed_on_by_finish() {
    run(
        Clock::Paused,
        "a_job_that_panics_is_passed_on_by_finish",
        || async {
            let pool = Pool::start(2, 4, CancellationToken::new(), |job, _| async move {
                if job == 2 {
                    panic!("job 2 panics on purpose");
                }
                Ok(())
            });
            let queue = pool.sender();
            for job in 1..=4 {
                queue.send(job).await.unwrap();
            }
            drop(queue);
            let ended = bounded(
                "a pool whose job 2 panics",
                "the queue is closed: the other worker should finish and leave",
                tokio::spawn(pool.finish()),
            )
            .await;
            let panic = ended.expect_err("job 2 panicked, yet finish returned a report");
            let panic = panic.into_panic();
            assert_eq!(
                panic.downcast_ref::<&str>(),
                Some(&"job 2 panics on purpose"),
                "finish should pass on the job's own panic"
            );
        },
    )
}
