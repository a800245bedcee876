//! Plumbing that every lesson shares, so that each lesson crate holds nothing but its pool.
//!
//! - [`cli`] parses flags with clap and turns a bad flag into a one-line error and exit code 2.
//! - [`timeline`] draws the picture every lesson ends with: one row per worker, one box per job.
//! - [`svg`] draws the same picture as an SVG image (`--svg FILE`), for the book.
//! - [`workload`] (feature `workload`) makes seeded job sizes and failures, so `--seed` replays a run.
//! - [`testing`] (feature `testing`, taken as a dev-dependency) holds what the lessons' tests need: bounded waits, an in-flight gauge, running
//!   the real binary, and making output stable enough to snapshot.
//! - [`log`] (feature `log`) prints the server lessons' `tracing` spans and events: the course's
//!   one-line form by default, JSON with `--log-format json`.
//! - [`progress`] (feature `progress`) draws a bar or a spinner on stderr for long runs, and
//!   nothing when stderr is not a terminal.
//! - [`postgres`] finds or starts the PostgreSQL server lesson 11 needs, and stops it afterwards.
//! - `loom_channel` (only under `--cfg loom`) stands in for crossbeam-channel in model tests.
//!
//! The pool itself never lives here: a learner reads each lesson's pool in one place.

pub mod cli;
#[cfg(feature = "log")]
pub mod log;
#[cfg(loom)]
pub mod loom_channel;
pub mod postgres;
#[cfg(feature = "progress")]
pub mod progress;
pub mod svg;
#[cfg(feature = "testing")]
pub mod testing;
pub mod timeline;
#[cfg(feature = "workload")]
pub mod workload;

use std::time::Duration;

/// Prints one of the course's event lines: the time since the run's start in milliseconds,
/// right-aligned in five places, then what happened, formatted as `format!` would. Every
/// lesson prints its events this way (the server lessons through `tracing`, whose readable form
/// is the same line, see `log`).
///
/// ```
/// use std::time::Duration;
/// let (worker, job) = (2, 7);
/// // Prints `  [   44 ms] worker 2 took job 7`.
/// course_support::event_line!(Duration::from_millis(44), "worker {worker} took job {job}");
/// assert_eq!(course_support::event_text(Duration::from_millis(44), "worker 2 took job 7"),
///            "  [   44 ms] worker 2 took job 7");
/// ```
#[macro_export]
macro_rules! event_line {
    ($at:expr, $($what:tt)+) => {
        ::std::println!("{}", $crate::event_text($at, ::std::format_args!($($what)+)))
    };
}

/// The text of an event line, as [`event_line!`] prints it.
pub fn event_text(at: Duration, what: impl std::fmt::Display) -> String {
    format!("  [{:>5} ms] {what}", at.as_millis())
}

/// `1 worker`, `3 workers`: a count and its noun, plural when it is not one.
///
/// ```
/// assert_eq!(course_support::plural(1, "worker"), "1 worker");
/// assert_eq!(course_support::plural(3, "probe"), "3 probes");
/// ```
pub fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// Formats a duration the way the lessons print them: `850 µs`, `120 ms`, `2.40 s`.
///
/// ```
/// use std::time::Duration;
/// assert_eq!(course_support::human(Duration::from_millis(120)), "120 ms");
/// assert_eq!(course_support::human(Duration::from_millis(2400)), "2.40 s");
/// ```
pub fn human(d: Duration) -> String {
    let micros = d.as_micros();
    if micros < 1_000 {
        format!("{micros} µs")
    } else if micros < 1_000_000 {
        format!("{} ms", (micros + 500) / 1_000)
    } else {
        format!("{:.2} s", d.as_secs_f64())
    }
}
