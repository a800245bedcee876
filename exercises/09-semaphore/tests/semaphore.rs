//! The tests for exercise 5a. They run against your code in `exercises/09-semaphore` and
//! against the finished version in `solutions/09-semaphore`.
//!
//! Counters, not clocks: a gauge counts the jobs running at once, and the runtime itself counts
//! the tasks alive. The jobs' pretend work runs on tokio's paused clock (`start_paused`), where a
//! 100 ms sleep takes exactly 100 ms of tokio's time, and no real time at all: time moves only
//! when every task is waiting on a timer.

use course_support::testing::RunCounts;
use semaphore::run_bounded;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::time::{Instant, timeout};

const LIMIT: Duration = Duration::from_secs(10);

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_job_runs_once_and_every_result_comes_back() {
    let counts = Arc::new(RunCounts::new());
    let finished = Arc::new(AtomicUsize::new(0));
    let (seen, ended) = (Arc::clone(&counts), Arc::clone(&finished));
    let mut results = bounded(
        "run_bounded(4, 100 jobs)",
        "is every permit given back when its job ends?",
        run_bounded(4, (1..=100).collect(), move |n| {
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
    counts.assert_each_ran_once(1..=100);
    assert_eq!(
        results.len(),
        100,
        "{} results for 100 jobs: collect the output of every task from the JoinSet",
        results.len()
    );
    results.sort_unstable();
    let expected: Vec<(u64, u64)> = (1..=100).map(|n| (n, n * n)).collect();
    assert_eq!(results, expected, "one (job, f(job)) per job");
}

// On the paused clock, time moves only when every task is waiting on a timer: each job's 10 ms
// of pretend work ends only once the run can start nothing more, so the count is exact.
#[tokio::test(start_paused = true)]
async fn no_more_than_limit_jobs_run_at_once_and_the_limit_is_reached() {
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
             its job has ended (move the permit into the task, drop it after the job)?",
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
}

// One runtime thread: a task's last poll (give back the permit, return) runs to the end before
// the spawning loop can take the permit again, so the count is exact.
#[tokio::test]
async fn the_permit_is_taken_before_the_task_is_spawned() {
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
}

#[tokio::test(start_paused = true)]
async fn jobs_run_limit_at_a_time() {
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
         permit in the task until the job has ended"
    );
    assert!(
        took < Duration::from_millis(400),
        "six 100 ms jobs with a limit of 2 took {took:?}, not 300 ms: are the jobs run one \
         after another? Spawn each task and keep going; join them all at the end"
    );
}

#[tokio::test]
async fn no_jobs_means_no_results() {
    let results = bounded(
        "run_bounded with no jobs",
        "with no jobs there is nothing to wait for",
        run_bounded(3, Vec::new(), |n| async move { n }),
    )
    .await;
    assert!(results.is_empty());
}
