//! What the demo prints: the events as they happen, the names of things, and the final metrics
//! and picture.

use crate::demo::args::Args;
use crate::demo::jobs::Job;
use course_support::{event_line, timeline};
use lesson_7::{Clock, Event, ManualClock, Pool, Reason, Snapshot, Status};
use std::sync::Mutex;

/// Prints a line unless `--json` asked for silence.
macro_rules! say {
    ($quiet:expr, $($arg:tt)*) => {
        if !$quiet { println!($($arg)*); }
    };
}
pub(crate) use say;

/// A job's panic is caught and reported by the pool; the default hook would also print a
/// backtrace banner for each, so stay quiet for the pool's workers only.
pub fn quiet_worker_panics() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let in_worker = std::thread::current()
            .name()
            .is_some_and(|name| name.starts_with("pool-worker-"));
        if !in_worker {
            default_hook(info);
        }
    }));
}

/// Prints each event as it happens and keeps a span per finished job for the picture.
pub fn narrate(
    event: &Event,
    quiet: bool,
    spans: &Mutex<Vec<timeline::Span>>,
    clock: &ManualClock,
) {
    match event {
        Event::Finished {
            id,
            worker,
            status,
            started,
            took,
        } => {
            let at = *started + *took;
            if !quiet {
                match status {
                    Status::Completed => event_line!(at, "worker {worker} finished job {id}"),
                    Status::Failed(reason) => {
                        event_line!(at, "worker {worker} failed job {id}: {reason}")
                    }
                    Status::Panicked(message) => {
                        event_line!(at, "worker {worker} caught a panic in job {id}: {message}")
                    }
                }
            }
            spans
                .lock()
                .expect("no observer panics")
                .push(timeline::Span {
                    worker: *worker,
                    job: *id,
                    start: *started,
                    end: *started + *took,
                    failed: *status != Status::Completed,
                });
        }
        Event::Cancelled { id } => {
            say!(quiet, "  [pool clock] job {id} cancelled before it started")
        }
        Event::Breaker(change) => say!(
            quiet,
            "  [pool clock {:>5} ms] breaker: {} → {}",
            clock.now().as_millis().max(change.at.as_millis()),
            change.from,
            change.to
        ),
    }
}

/// The final metrics as a table, and the check that they add up.
pub fn metrics(m: &Snapshot) {
    println!("Metrics:");
    print!("{}", m.table());
    println!(
        "Check: submitted {} = completed {} + failed {} + panicked {} + cancelled {}: {}.",
        m.submitted,
        m.completed,
        m.failed,
        m.panicked,
        m.cancelled,
        if m.submitted == m.finished() {
            "adds up"
        } else {
            "DOES NOT ADD UP"
        }
    );
}

/// The run as one row per worker on the terminal, and as a picture if `--svg` asked for one.
pub fn run(spans: &[timeline::Span], args: &Args) {
    println!(
        "\nThe run, one row per worker (each box is a job; failed and panicked jobs are filled with !):"
    );
    print!(
        "{}",
        timeline::render(spans, args.workers, timeline::Style::for_stdout())
    );
    let title = format!(
        "Lesson 7: {} workers with a rate limit, a circuit breaker and metrics; red jobs did not complete",
        args.workers
    );
    args.picture.draw_workers(spans, args.workers, &title);
}

/// The breaker's state as the script names it (`none` for a pool without one).
pub fn state(pool: &Pool<Job>) -> String {
    pool.breaker_state()
        .map_or("none".into(), |s| s.to_string())
}

/// The refusals' reasons by name, a run of the same reason named once; `none` for no refusals.
pub fn names(reasons: &[Reason]) -> String {
    let mut names: Vec<&str> = reasons.iter().map(|r| r.name()).collect();
    names.dedup();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}
