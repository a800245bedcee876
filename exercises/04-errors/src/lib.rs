//! # Exercise 4: errors collected in one place
//!
//! Jobs can fail now. Write `run_all`: it runs `f` on the input of every job `(id, input)` with
//! `workers` threads sharing one queue, and sorts what comes back into a [`Report`]: the
//! answers of the jobs that succeeded and the errors of the jobs that failed, each list sorted
//! by job id. A failed job must not stop the others, and every job ends up in exactly one of
//! the two lists, its error text unchanged.
//!
//! Replace the `todo!()` and run `cargo test -p ex04-errors` until it passes. Stuck? Run
//! `cargo run -p course -- hint ex04-errors`.

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
    let _ = (workers, jobs, f);
    todo!(
        "run every job on the workers, send every (id, result) back, and sort each result into answers or failures, both ordered by id"
    )
}
