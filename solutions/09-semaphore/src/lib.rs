// course: exercise
// //! # Exercise 9: a task per job, at most N at once
// course: solution
//! # Exercise 9, solved: a task per job, at most N at once
// course: end
//!
// course: exercise
// //! Tasks are cheap, so an async program often skips the worker pool and spawns a task per job.
// //! Unbounded, that runs every job at once. Bound it the way lesson 5's `run_with_permits` does:
// //!
// //! - a `tokio::sync::Semaphore` with `limit` permits;
// //! - for each job, take a permit with `acquire_owned()` *before* spawning its task, so there are
// //!   never more than `limit` tasks alive, however many jobs there are;
// //! - the task holds its permit until the job has ended, then lets it go;
// //! - a `tokio::task::JoinSet` holds the tasks; join every one of them (`join_next` until it
// //!   returns `None`) and return all the results.
// //!
// //! Replace the `@todo()` and run `cargo test -p ex09-semaphore` until it passes. Stuck? Run
// //! `cargo run -p course -- hint ex09-semaphore`.
// course: solution
//! Lesson 5's other shape, `run_with_permits`, without its cancellation and reports: a
//! `Semaphore` with `limit` permits, a permit taken *before* each task is spawned and held until
//! its job ends, and a `JoinSet` that collects every result.
// course: end

use std::future::Future;
// course: solution
use std::sync::Arc;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
// course: end

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
    // course: exercise
    // let _ = (limit, jobs, f);
    // @todo(
    //     "for each job: acquire_owned a permit from an Arc<Semaphore> of `limit`, then spawn a task on a JoinSet that runs f(job) and drops the permit when it is done; then join_next until None and return every (job, result)"
    // )
    // course: solution
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
    // course: end
}
// course: solution

/// A finished task's output, or its panic passed on to the caller.
fn output<T>(ended: Result<T, tokio::task::JoinError>) -> T {
    match ended {
        Ok(value) => value,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}
// course: end
