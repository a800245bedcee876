//! # Exercise 9, solved: a task per job, at most N at once
//!
//! Lesson 5's other shape, `run_with_permits`, without its cancellation and reports: a
//! `Semaphore` with `limit` permits, a permit taken *before* each task is spawned and held until
//! its job ends, and a `JoinSet` that collects every result.

use std::future::Future;
use std::sync::Arc;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// Runs `f(job)` for every job, each in a task of its own, with never more than `limit` tasks
/// alive at once, and returns every `(job, result)`, in any order, once all of them have ended.
///
/// # Panics
///
/// If `limit` is 0, or if a job panics (the panic is passed on).
pub async fn run_bounded<F, Fut, R>(limit: usize, jobs: Vec<u64>, f: F) -> Vec<(u64, R)>
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = R> + Send + 'static,
    R: Send + 'static,
{
    assert!(limit > 0, "at least one job must be allowed to run");
    let permits = Arc::new(Semaphore::new(limit));
    let mut running = JoinSet::new();
    let mut results = Vec::with_capacity(jobs.len());
    for job in jobs {
        // Acquire *before* spawning: while `limit` jobs hold permits, this loop waits here, so
        // there are never more than `limit` tasks, however many jobs are still to come.
        // `acquire_owned` gives a permit that is not tied to a borrow, so the task can own it.
        let permit = Arc::clone(&permits)
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        // A future does nothing until it is polled: the job starts inside its task.
        let work = f(job);
        running.spawn(async move {
            let result = work.await;
            // The permit goes back only now, when the job has ended: the next one may start.
            drop(permit);
            (job, result)
        });
        // A `JoinSet` keeps each finished task's output until it is joined: collect as we go.
        while let Some(ended) = running.try_join_next() {
            results.push(output(ended));
        }
    }
    // Wait for the last ones: returning earlier would drop the set, and abort them.
    while let Some(ended) = running.join_next().await {
        results.push(output(ended));
    }
    results
}

/// A finished task's output, or its panic passed on to the caller.
fn output<T>(ended: Result<T, tokio::task::JoinError>) -> T {
    match ended {
        Ok(value) => value,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}
