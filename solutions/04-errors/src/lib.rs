// course: exercise
// //! # Exercise 4: errors collected in one place
// course: solution
//! # Exercise 4, solved: errors collected in one place
// course: end
//!
// course: exercise
// //! Jobs can fail now. Write `run_all`: it runs `f` on the input of every job `(id, input)` with
// //! `workers` threads sharing one queue, and sorts what comes back into a [`Report`]: the
// //! answers of the jobs that succeeded and the errors of the jobs that failed, each list sorted
// //! by job id. A failed job must not stop the others, and every job ends up in exactly one of
// //! the two lists, its error text unchanged.
// //!
// //! Replace the `@todo()` and run `cargo test -p ex04-errors` until it passes. Stuck? Run
// //! `cargo run -p course -- hint ex04-errors`.
// course: solution
//! Lesson 2's pool: a worker sends every result back, error or not, and the collector, the one
//! place that decides what results mean, sorts them into answers and failures.

use std::thread;
// course: end

/// What came of a run: every job lands in exactly one of the two lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// `(job id, answer)` for every job that succeeded, sorted by id.
    pub answers: Vec<(u64, u64)>,
    /// `(job id, error)` for every job that failed, sorted by id, with the error exactly as the
    /// job returned it.
    pub failures: Vec<(u64, String)>,
}

/// Runs `f` on every job's input with `workers` threads sharing one queue, and reports every
/// answer and every error, each sorted by job id.
///
/// Job ids are unique; the jobs may come in any order.
///
/// # Panics
///
/// If `workers` is 0, with the message `a pool needs at least one worker`: with no workers,
/// nothing would ever take a job. Also if `f` panics: a panic is not an error to report.
pub fn run_all<F>(workers: usize, jobs: Vec<(u64, u64)>, f: F) -> Report
where
    F: Fn(u64) -> Result<u64, String> + Sync,
{
    // course: exercise
    // let _ = (workers, jobs, f);
    // @todo(
    //     "run every job on the workers, send every (id, result) back, and sort each result into answers or failures, both ordered by id"
    // )
    // course: solution
    assert!(workers > 0, "a pool needs at least one worker");
    let (job_tx, job_rx) = crossbeam_channel::bounded::<(u64, u64)>(workers);
    let (result_tx, result_rx) = crossbeam_channel::bounded::<(u64, Result<u64, String>)>(workers);

    let mut report = thread::scope(|scope| {
        for _ in 0..workers {
            let (jobs, results, f) = (job_rx.clone(), result_tx.clone(), &f);
            scope.spawn(move || {
                for (id, input) in jobs {
                    // An error is just another result to send: no `?`, no `break`.
                    results
                        .send((id, f(input)))
                        .expect("the collector reads until every worker is done");
                }
            });
        }
        // The workers hold the only result senders now: the loop below ends after the last.
        drop(result_tx);
        drop(job_rx);

        scope.spawn(move || {
            for job in jobs {
                job_tx
                    .send(job)
                    .expect("workers take jobs until the queue closes");
            }
        });

        // The one place where results are sorted out: each goes into exactly one list.
        let mut report = Report::default();
        for (id, result) in result_rx {
            match result {
                Ok(answer) => report.answers.push((id, answer)),
                Err(error) => report.failures.push((id, error)),
            }
        }
        report
    });
    report.answers.sort_by_key(|&(id, _)| id);
    report.failures.sort_by_key(|&(id, _)| id);
    report
    // course: end
}
