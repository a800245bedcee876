//! The tests for exercise 9. They run against your code in `exercises/09-semaphore` and
//! against the finished version in `solutions/09-semaphore`.
//!
//! Counters, not clocks: a gauge counts the jobs running at once, and the runtime itself counts
//! the tasks alive. The jobs' pretend work runs on tokio's paused clock (`start_paused`), where a
//! 100 ms sleep takes exactly 100 ms of tokio's time, and no real time at all: time moves only
//! when every task is waiting on a timer.
//!
//! Each test runs on a runtime of its own, on a thread of its own, under a real-time bound: a
//! run that keeps its runtime busy forever (a loop that polls for a permit) fails with a message
//! instead of hanging, even on the paused clock, where such a loop stops time itself.

use course_support::testing::{RunCounts, within};
use semaphore::run_bounded;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::time::{Instant, timeout};

/// How long a run may take, on the test's clock (tokio's paused one, or the real one).
const LIMIT: Duration = Duration::from_secs(4);
/// How long a whole test may take in real time.
const REAL: Duration = Duration::from_secs(8);
const BUSY: &str = "the runtime never got control back: a loop that polls for a free permit \
                    (try_acquire in a loop, with or without yield_now) keeps it busy, so tokio's \
                    paused clock never moves and a real one burns a CPU. Await \
                    acquire_owned(): it sleeps until a permit is free";

/// Which runtime a test runs on.
enum Clock {
    /// One thread, and tokio's paused clock (`start_paused`).
    Paused,
    /// One thread, the real clock.
    OneThread,
    /// Two threads, the real clock.
    TwoThreads,
}

/// Runs the future `test` makes on a runtime of its own, on a thread of its own, and fails the
/// test if that takes more than [`REAL`] seconds of real time.
fn run<T, Fut>(clock: Clock, what: &str, test: impl FnOnce() -> Fut + Send + 'static) -> T
where
    T: Send + 'static,
    Fut: Future<Output = T>,
{
    within(REAL, what, BUSY, move || {
        let mut builder = match clock {
            Clock::TwoThreads => {
                let mut builder = tokio::runtime::Builder::new_multi_thread();
                builder.worker_threads(2);
                builder
            }
            Clock::Paused | Clock::OneThread => tokio::runtime::Builder::new_current_thread(),
        };
        builder
            .enable_all()
            .start_paused(matches!(clock, Clock::Paused));
        builder.build().expect("a runtime").block_on(test())
    })
}

/// Fails the test with `what` and `hint` if `work` does not finish within [`LIMIT`].
async fn bounded<T>(what: &str, hint: &str, work: impl Future<Output = T>) -> T {
    timeout(LIMIT, work)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within {LIMIT:?}: {hint}"))
}

/// Counts jobs running at once, and the most there ever were.
#[derive(Default)]
struct Gauge {
    now: AtomicUsize,
    max: AtomicUsize,
}

/// Held by a running job; dropping it leaves.
struct Inside(Arc<Gauge>);

impl Gauge {
    fn enter(self: &Arc<Self>) -> Inside {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.max.fetch_max(now, Ordering::SeqCst);
        Inside(Arc::clone(self))
    }

    fn max(&self) -> usize {
        self.max.load(Ordering::SeqCst)
    }
}

impl Drop for Inside {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, Ordering::SeqCst);
    }
}

/// 100 jobs whose numbers are not their positions: 17, 27, 37, ...
fn ids() -> Vec<u64> {
    (1..=100).map(|n| 10 * n + 7).collect()
}

#[test]
fn every_job_runs_once_and_every_result_comes_back() {
    run(
        Clock::TwoThreads,
        "every_job_runs_once_and_every_result_comes_back",
        || async {
            let counts = Arc::new(RunCounts::new());
            let finished = Arc::new(AtomicUsize::new(0));
            let (seen, ended) = (Arc::clone(&counts), Arc::clone(&finished));
            let mut results = bounded(
                "run_bounded(4, 100 jobs)",
                "is every permit given back when its job ends?",
                run_bounded(4, ids(), move |n| {
                    let (seen, ended) = (Arc::clone(&seen), Arc::clone(&ended));
                    async move {
                        seen.ran(n);
                        tokio::task::yield_now().await;
                        ended.fetch_add(1, Ordering::SeqCst);
                        n * n
                    }
                }),
            )
            .await;
            assert_eq!(
                finished.load(Ordering::SeqCst),
                100,
                "run_bounded returned before every job had ended: join every task (join_next until it \
                 returns None) before returning; dropping a JoinSet aborts what is still in it"
            );
            counts.assert_each_ran_once(ids());
            assert_eq!(
                results.len(),
                100,
                "{} results for 100 jobs: collect the output of every task from the JoinSet",
                results.len()
            );
            results.sort_unstable();
            let expected: Vec<(u64, u64)> = ids().into_iter().map(|n| (n, n * n)).collect();
            assert_eq!(
                results, expected,
                "one (job, f(job)) per job, with the job's own number (not its position)"
            );
        },
    )
}

// On the paused clock, time moves only when every task is waiting on a timer: each job's 10 ms
// of pretend work ends only once the run can start nothing more, so the count is exact.
#[test]
fn no_more_than_limit_jobs_run_at_once_and_the_limit_is_reached() {
    run(
        Clock::Paused,
        "no_more_than_limit_jobs_run_at_once_and_the_limit_is_reached",
        || async {
            for limit in [1, 3, 6] {
                let gauge = Arc::new(Gauge::default());
                let inside = Arc::clone(&gauge);
                let results = bounded(
                    "the in-flight check",
                    "is every permit given back when its job ends?",
                    run_bounded(limit, (1..=4 * limit as u64).collect(), move |n| {
                        let gauge = Arc::clone(&inside);
                        async move {
                            let _running = gauge.enter();
                            tokio::time::sleep(Duration::from_millis(10)).await;
                            n
                        }
                    }),
                )
                .await;
                assert_eq!(
                    results.len(),
                    4 * limit,
                    "{} results for {} jobs: join every task (join_next until it returns None) before \
                     returning",
                    results.len(),
                    4 * limit
                );
                assert!(
                    gauge.max() <= limit,
                    "{} jobs ran at once with a limit of {limit}: does each task hold its permit until \
                     its job has ended (move the permit into the task, drop it after the job; \
                     `let _ = ...` drops it at once)?",
                    gauge.max()
                );
                assert_eq!(
                    gauge.max(),
                    limit,
                    "with a limit of {limit}, only {} jobs ever ran at once: are you awaiting each task \
                     before spawning the next? Spawn them all onto the JoinSet, and join at the end",
                    gauge.max()
                );
            }
        },
    )
}

// One runtime thread: a task's last poll (give back the permit, return) runs to the end before
// the spawning loop can take the permit again, so the count is exact.
#[test]
fn the_permit_is_taken_before_the_task_is_spawned() {
    run(
        Clock::OneThread,
        "the_permit_is_taken_before_the_task_is_spawned",
        || async {
            let most = Arc::new(AtomicUsize::new(0));
            let seen = Arc::clone(&most);
            let results = bounded(
                "run_bounded(4, 1000 jobs)",
                "is every permit given back when its job ends?",
                run_bounded(4, (1..=1000).collect(), move |_| {
                    let seen = Arc::clone(&seen);
                    async move {
                        // Every task alive in this test's runtime: the job tasks, and nothing else.
                        let alive = tokio::runtime::Handle::current()
                            .metrics()
                            .num_alive_tasks();
                        seen.fetch_max(alive, Ordering::SeqCst);
                        tokio::task::yield_now().await;
                    }
                }),
            )
            .await;
            assert_eq!(
                results.len(),
                1000,
                "{} results for 1000 jobs: join every task (join_next until it returns None) before \
                 returning",
                results.len()
            );
            let most = most.load(Ordering::SeqCst);
            assert!(
                most <= 4,
                "{most} tasks were alive at once with a limit of 4: take the permit before spawning the \
                 task, not inside it. Spawned first, every job waiting for a permit is a task already, \
                 and a million jobs make a million tasks"
            );
        },
    )
}

#[test]
fn jobs_run_limit_at_a_time() {
    run(Clock::Paused, "jobs_run_limit_at_a_time", || async {
        // Six 100 ms jobs, two at a time: exactly three rounds. The clock is paused, so this takes
        // no real time and 300 ms of tokio's.
        let start = Instant::now();
        let results = bounded(
            "six 100 ms jobs, two at a time",
            "is every permit given back when its job ends?",
            run_bounded(2, (1..=6).collect(), |n| async move {
                tokio::time::sleep(Duration::from_millis(100)).await;
                n
            }),
        )
        .await;
        let took = start.elapsed();
        assert_eq!(
            results.len(),
            6,
            "{} results for 6 jobs: join every task (join_next until it returns None) before \
             returning",
            results.len()
        );
        assert!(
            took >= Duration::from_millis(300),
            "six 100 ms jobs with a limit of 2 took {took:?}: more than two ran at once. Hold the \
             permit in the task until the job has ended (`let _ = ...acquire_owned()` drops it \
             at once: bind it to a name and move it into the task)"
        );
        assert!(
            took < Duration::from_millis(400),
            "six 100 ms jobs with a limit of 2 took {took:?}, not 300 ms: are the jobs run one \
             after another? Spawn each task and keep going; join them all at the end"
        );
    })
}

#[test]
fn no_jobs_means_no_results() {
    run(Clock::OneThread, "no_jobs_means_no_results", || async {
        let results = bounded(
            "run_bounded with no jobs",
            "with no jobs there is nothing to wait for",
            run_bounded(3, Vec::new(), |n| async move { n }),
        )
        .await;
        assert!(results.is_empty());
    })
}

#[test]
fn a_job_that_panics_makes_the_run_panic() {
    run(
        Clock::Paused,
        "a_job_that_panics_makes_the_run_panic",
        || async {
            let run = tokio::spawn(run_bounded(2, (1..=6).collect(), |n| async move {
                tokio::time::sleep(Duration::from_millis(n)).await;
                if n == 3 {
                    panic!("job 3 panics on purpose: it is the test's job, not your code");
                }
                n
            }));
            let ended = bounded(
                "a run whose job 3 panics",
                "a task that panicked gives its permit back as it unwinds; is every task joined?",
                run,
            )
            .await;
            match ended {
                Err(e) if e.is_panic() => {}
                Err(e) => panic!("the run ended with {e}, not with job 3's panic"),
                Ok(results) => panic!(
                    "job 3 panicked, yet run_bounded returned {} results ({results:?}): pass a \
                 job's panic on (join_next gives Err(e) for it: \
                 std::panic::resume_unwind(e.into_panic())), don't skip it",
                    results.len()
                ),
            }
        },
    )
}

#[test]
fn a_limit_of_zero_is_refused() {
    run(Clock::Paused, "a_limit_of_zero_is_refused", || async {
        let run = tokio::spawn(run_bounded(0, vec![1, 2], |n| async move { n }));
        match timeout(LIMIT, run).await {
            Ok(Err(e)) if e.is_panic() => {}
            Ok(Err(e)) => panic!("run_bounded(0, ..) ended with {e}, not with a panic"),
            Ok(Ok(results)) => panic!(
                "run_bounded(0, ..) returned {results:?}: a limit of 0 lets no job run; refuse \
                 it with assert!(limit > 0, ...), as the documentation says"
            ),
            Err(_) => panic!(
                "run_bounded(0, ..) waited forever for a permit: a semaphore with 0 permits never \
                 gives one. Refuse a limit of 0 with assert!(limit > 0, ...) before anything else"
            ),
        }
    })
}
