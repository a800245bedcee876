//! # Exercise 2: at most `limit` at once
//!
//! Write `run_bounded`: it runs `f` on every item, with never more than `limit` items running
//! at the same time, and returns every result, in any order. Build it the way lesson 1 builds
//! its pool: a fixed set of `limit` worker threads that all take items from one shared
//! `crossbeam_channel` queue. Not a thread per item (that would run them all at once), and not
//! one worker after another (that would run one at a time).
//!
//! Replace the `todo!()` and run `cargo test -p ex02-in-flight` until it passes. Stuck? Run
//! `cargo run -p course -- hint ex02-in-flight`.

/// Runs `f` on every item with at most `limit` running at once, on a fixed pool of `limit`
/// threads sharing one queue, and returns one result per item, in any order.
///
/// Every worker thread has finished by the time it returns.
///
/// # Panics
///
/// If `limit` is 0, with the message `run_bounded needs a limit of at least 1`: with no workers,
/// nothing would ever take an item. Also if `f` panics.
pub fn run_bounded<T, R, F>(limit: usize, items: Vec<T>, f: F) -> Vec<R>
where
    T: Send + 'static,
    R: Send + 'static,
    F: Fn(T) -> R + Send + Sync + 'static,
{
    let _ = (limit, items, f);
    todo!(
        "refuse a limit of 0, start `limit` threads taking items from one shared queue, send every item, close the queue, collect every result, join the threads"
    )
}
