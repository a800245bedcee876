//! # Exercise 3: results in job order
//!
//! Write `run_in_order`: it runs `f` on the input of every job `(id, input)` with `workers`
//! threads sharing one queue, and returns `(id, f(input))` for every job, sorted by job id.
//! Workers finish jobs in whatever order they happen to, so the results arrive out of order:
//! putting them back is your job.
//!
//! As in lesson 2, don't count the results: read them until the results channel closes. It
//! closes by itself when the last worker returns and drops the last `Sender`, provided nobody
//! else still holds one. `std::thread::scope` lets the workers borrow `f`, and waits for them.
//!
//! Replace the `todo!()` and run `cargo test -p ex03-job-order` until it passes. Stuck? Run
//! `cargo run -p course -- hint ex03-job-order`.

/// Runs `f` on every job's input with `workers` threads sharing one queue, and returns
/// `(id, f(input))` for every job, sorted by id.
///
/// Job ids are unique; the jobs may come in any order.
///
/// # Panics
///
/// If `workers` is 0, with the message `a pool needs at least one worker`: with no workers,
/// nothing would ever take a job. Also if `f` panics.
pub fn run_in_order<I, R, F>(workers: usize, jobs: Vec<(u64, I)>, f: F) -> Vec<(u64, R)>
where
    I: Send,
    R: Send,
    F: Fn(I) -> R + Sync,
{
    let _ = (workers, jobs, f);
    todo!(
        "in a thread scope, start the workers, drop your own results sender, send the jobs, read results until the channel closes, then sort them by id"
    )
}
