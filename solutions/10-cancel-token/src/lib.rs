// course: exercise
// //! # Exercise 10: a CancellationToken wakes idle workers
// course: solution
//! # Exercise 10, solved: a CancellationToken wakes idle workers
// course: end
//!
// course: exercise
// //! A pool of worker tasks shares one queue, an `Arc<Mutex<mpsc::Receiver<u64>>>`, and a
// //! `CancellationToken`. The pool around it is written; write the worker loop, [`worker`]:
// //!
// //! - wait for the next job *or* for `token.cancelled()` with `tokio::select!`, so that
// //!   cancelling makes an idle worker leave at once, even though a sender of the queue is still
// //!   alive and the queue never closes;
// //! - hold the receiver's lock only while taking a job, never while running one, or one worker
// //!   at a time does all the work;
// //! - never start a job once the token is cancelled: a job taken in the same instant is
// //!   reported [`Status::Skipped`];
// //! - hand each job the token (a clone), so a running job can stop by itself.
// //!
// //! Replace the `@todo()` and run `cargo test -p ex10-cancel-token` until it passes. Stuck? Run
// //! `cargo run -p course -- hint ex10-cancel-token`.
// course: solution
//! Lesson 5's worker loop: a `tokio::select!` over `token.cancelled()` and the next job, the
//! lock on the shared receiver held only while taking a job, no job started once the token is
//! cancelled, and the token handed to every job so it can stop by itself.
// course: end

use std::future::Future;
use std::sync::Arc;
use tokio::sync::{Mutex, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// How a job a worker took ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// The job ran to the end.
    Completed,
    /// The job saw its token cancelled and stopped part-way.
    Stopped,
    /// The worker took the job from the queue after the cancel, and never started it.
    Skipped,
}

/// What a job returns when it gives up because its token was cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stopped;

/// What a pool did: every job it was given, exactly once, in one of the two lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// One `(job, status)` per job a worker took, sorted by job id.
    pub outcomes: Vec<(u64, Status)>,
    /// Jobs still in the queue when the last worker left, in queue order.
    pub left_in_queue: Vec<u64>,
}

impl Report {
    /// How many jobs ended with `status`.
    pub fn count(&self, status: Status) -> usize {
        self.outcomes.iter().filter(|(_, s)| *s == status).count()
    }

    /// Every job the report mentions, sorted: each job given to the pool should be here once.
    pub fn all_jobs(&self) -> Vec<u64> {
        let mut all: Vec<u64> = self.outcomes.iter().map(|(job, _)| *job).collect();
        all.extend(&self.left_in_queue);
        all.sort_unstable();
        all
    }
}

/// One worker task's loop: takes jobs from the shared queue and runs `work(job, token)` on
/// each, until the queue is closed and empty, or the token is cancelled. Returns a
/// `(job, status)` for every job it took.
///
/// An idle worker leaves as soon as the token is cancelled, even while the queue is still open.
/// A worker never starts a job once the token is cancelled: a job it has just taken is
/// [`Status::Skipped`]. A job that returns `Err(Stopped)` is [`Status::Stopped`].
pub async fn worker<F, Fut>(
    jobs: &Mutex<mpsc::Receiver<u64>>,
    token: &CancellationToken,
    work: &F,
) -> Vec<(u64, Status)>
where
    F: Fn(u64, CancellationToken) -> Fut,
    Fut: Future<Output = Result<(), Stopped>>,
{
    // course: exercise
    // let _ = (jobs, token, work);
    // @todo(
    //     "loop: select! between token.cancelled() (leave) and the next job from jobs.lock().await.recv() (None: leave); a job taken once the token is cancelled is Skipped; otherwise run work(job, token.clone()).await: Ok is Completed, Err(Stopped) is Stopped"
    // )
    // course: solution
    let mut ended = Vec::new();
    loop {
        // Wait for the next job *or* the cancel, so an idle worker leaves the moment the token
        // is cancelled, without a job or a closing queue to wake it. `biased` polls the token
        // first: once it is cancelled, no further job is taken.
        let job = tokio::select! {
            biased;
            () = token.cancelled() => break,
            next = next_job(jobs) => match next {
                Some(job) => job,
                // Closed and empty: no more work will come.
                None => break,
            },
        };
        // On a multi-threaded runtime the cancel can land just after the job was taken: a job
        // taken in the same instant as the cancel is reported, not started.
        if token.is_cancelled() {
            ended.push((job, Status::Skipped));
            break;
        }
        // The job gets a clone of the token, so it can stop by itself at its next `.await`.
        let status = match work(job, token.clone()).await {
            Ok(()) => Status::Completed,
            Err(Stopped) => Status::Stopped,
        };
        ended.push((job, status));
    }
    ended
}

/// Takes the next job from the shared queue.
async fn next_job(jobs: &Mutex<mpsc::Receiver<u64>>) -> Option<u64> {
    // The guard is a temporary of this expression: the lock is let go as soon as a job
    // arrives, before the job runs, so the other workers can take jobs meanwhile. Both waits
    // are cancel-safe: a worker woken by the token loses no job.
    jobs.lock().await.recv().await
    // course: end
}

/// A fixed set of worker tasks sharing one queue. Everything but the worker loop is here.
pub struct Pool {
    /// The pool's own sender; [`Pool::finish`] drops it. The queue closes only when every
    /// sender is gone, clones handed out by [`Pool::sender`] included.
    queue: Option<mpsc::Sender<u64>>,
    /// The queue's one receiver, shared by the workers (tokio's `Receiver` is not `Clone`).
    /// The pool keeps a handle too, to report what is left in the queue at the end.
    jobs: Arc<Mutex<mpsc::Receiver<u64>>>,
    /// The worker tasks; each returns what it did.
    workers: JoinSet<Vec<(u64, Status)>>,
    /// What the workers that have ended so far did.
    outcomes: Vec<(u64, Status)>,
}

impl Pool {
    /// Starts `workers` tasks running [`worker`] on a queue with room for `capacity` jobs.
    /// Cancelling `token` stops the pool: idle workers leave, running jobs are told to stop.
    ///
    /// # Panics
    ///
    /// If `workers` or `capacity` is 0, or if called outside a tokio runtime.
    pub fn start<F, Fut>(workers: usize, capacity: usize, token: CancellationToken, work: F) -> Pool
    where
        F: Fn(u64, CancellationToken) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), Stopped>> + Send + 'static,
    {
        assert!(workers > 0, "a pool needs at least one worker");
        let (queue, jobs) = mpsc::channel(capacity);
        let jobs = Arc::new(Mutex::new(jobs));
        let work = Arc::new(work);
        let mut tasks = JoinSet::new();
        for _ in 0..workers {
            let (jobs, token, work) = (Arc::clone(&jobs), token.clone(), Arc::clone(&work));
            tasks.spawn(async move { worker(&jobs, &token, &*work).await });
        }
        Pool {
            queue: Some(queue),
            jobs,
            workers: tasks,
            outcomes: Vec::new(),
        }
    }

    /// A sender for the pool's queue. While any sender is alive, the queue stays open.
    pub fn sender(&self) -> mpsc::Sender<u64> {
        self.queue
            .clone()
            .expect("the pool's sender lives until finish")
    }

    /// Waits until every worker task has ended, without closing the queue: workers end only
    /// when the queue is closed and empty, or when the token is cancelled.
    ///
    /// # Panics
    ///
    /// If a worker panicked: the panic is passed on.
    pub async fn wait_for_workers(&mut self) {
        // `join_next` is cancel-safe: if this wait is dropped half-way (by a `timeout`), no
        // worker's result is lost, and the next wait picks up where this one stopped.
        while let Some(ended) = self.workers.join_next().await {
            match ended {
                Ok(outcomes) => self.outcomes.extend(outcomes),
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Err(e) => panic!("a worker task was aborted: {e}"),
            }
        }
    }

    /// Drops the pool's own sender, waits for every worker to end, and reports on every job:
    /// what the workers did, and what was left in the queue.
    pub async fn finish(mut self) -> Report {
        // If no clone is alive, this closes the queue, and the workers leave once it is empty.
        drop(self.queue.take());
        self.wait_for_workers().await;
        // Every worker is gone, so the lock is free, and nobody takes from the queue anymore.
        let mut left_in_queue = Vec::new();
        let mut queue = self.jobs.lock().await;
        while let Ok(job) = queue.try_recv() {
            left_in_queue.push(job);
        }
        let mut outcomes = std::mem::take(&mut self.outcomes);
        outcomes.sort_by_key(|(job, _)| *job);
        Report {
            outcomes,
            left_in_queue,
        }
    }
}
