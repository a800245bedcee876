//! The other shape: no workers and no queue, but a task per job, as many at once as a
//! semaphore has permits.

use crate::runner::{Clock, Runner};
use crate::{Outcome, Report};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::task::{JoinError, JoinSet};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

// ANCHOR: permits
/// The other shape: no workers and no queue, but a task per job, at most `limit` of them
/// running because each holds a permit from a semaphore. Runs every job in `jobs` unless
/// `token` is cancelled, and reports on each.
///
/// # Panics
///
/// If `limit` is 0, or if called outside a tokio runtime.
pub async fn run_with_permits<J, I, F, Fut>(
    limit: usize,
    jobs: I,
    job_timeout: Option<Duration>,
    token: CancellationToken,
    handler: F,
) -> Report<J>
where
    J: Clone + Send + 'static,
    I: IntoIterator<Item = J>,
    F: Fn(J, CancellationToken) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    assert!(limit > 0, "at least one job must be allowed to run");
    let permits = Arc::new(Semaphore::new(limit));
    let runner = Arc::new(Runner {
        handler,
        token: token.clone(),
        job_timeout,
        clock: Clock(Instant::now()),
    });
    let mut running = JoinSet::new();
    let mut report = Report {
        outcomes: Vec::new(),
        submitted: 0,
        panicked: 0,
    };
    for job in jobs {
        report.submitted += 1;
        // Acquire *before* spawning: while `limit` jobs hold permits, this loop waits here,
        // so the set never holds more than `limit` tasks, however many jobs are still to come.
        let permit = tokio::select! {
            biased;
            () = token.cancelled() => {
                report.outcomes.push(runner.clock.never_started(job, None));
                continue;
            }
            permit = Arc::clone(&permits).acquire_owned() => {
                permit.expect("the semaphore is never closed")
            }
        };
        let runner = Arc::clone(&runner);
        running.spawn(async move {
            let outcome = runner.run(None, job).await;
            // The permit goes back only now, when the job has ended: the next one may start.
            drop(permit);
            outcome
        });
        // A `JoinSet` keeps each finished task's output until it is joined: collect them as
        // we go, so they do not pile up.
        while let Some(ended) = running.try_join_next() {
            collect(&mut report, ended);
        }
    }
    while let Some(ended) = running.join_next().await {
        collect(&mut report, ended);
    }
    report
}
// ANCHOR_END: permits

fn collect<J>(report: &mut Report<J>, ended: Result<Outcome<J>, JoinError>) {
    match ended {
        Ok(outcome) => report.outcomes.push(outcome),
        Err(e) if e.is_panic() => report.panicked += 1,
        // Only an aborted task ends otherwise, and nothing here aborts one.
        Err(_) => {}
    }
}
