//! # Exercise 9: a task per job, at most N at once
//!
//! Tasks are cheap, so an async program often skips the worker pool and spawns a task per job.
//! Unbounded, that runs every job at once. Bound it the way lesson 5's `run_with_permits` does:
//!
//! - a `tokio::sync::Semaphore` with `limit` permits;
//! - for each job, take a permit with `acquire_owned()` *before* spawning its task, so there are
//!   never more than `limit` tasks alive, however many jobs there are;
//! - the task holds its permit until the job has ended, then lets it go;
//! - a `tokio::task::JoinSet` holds the tasks; join every one of them (`join_next` until it
//!   returns `None`) and return all the results.
//!
//! Replace the `todo!()` and run `cargo test -p ex09-semaphore` until it passes. Stuck? Run
//! `cargo run -p course -- hint ex09-semaphore`.

use std::future::Future;

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
    let _ = (limit, jobs, f);
    todo!(
        "for each job: acquire_owned a permit from an Arc<Semaphore> of `limit`, then spawn a task on a JoinSet that runs f(job) and drops the permit when it is done; then join_next until None and return every (job, result)"
    )
}
