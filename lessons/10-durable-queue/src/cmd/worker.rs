//! `worker`: runs jobs from the queue until stopped, then says what it did.

use super::open;
use crate::WorkerArgs;
use course_support::log::Format;
use lesson_10::backoff::Backoff;
use lesson_10::clock::{Clock, WallClock};
use lesson_10::work;
use lesson_10::worker;
use std::error::Error;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, UNIX_EPOCH};

// ANCHOR: run_worker
pub(crate) fn run_worker(a: &WorkerArgs) -> Result<(), Box<dyn Error>> {
    let backoff = Backoff {
        base: a.run.backoff_ms,
        cap: Duration::from_secs(30),
        seed: a.run.seed,
    };
    let store = open(&a.db, backoff)?;
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    // SIGINT and SIGTERM both mean: claim nothing more, finish what is running, leave.
    let _ = ctrlc::set_handler(move || flag.store(true, Ordering::Release));
    let config = worker::Config {
        name: a.name.clone(),
        threads: a.threads,
        lease: a.lease_ms,
        claim_batch: a.claim_batch.unwrap_or(a.threads),
        poll: a.poll_ms,
        exit_when_idle: a.run.exit_when_idle,
        grace: a.run.grace_ms,
    };
    let since = a
        .run
        .since_ms
        .map_or_else(|| WallClock.now(), Duration::from_millis);
    // The worker logs each event through `tracing`; this prints them, in the form asked for,
    // with times counted from `since`.
    if !a.run.quiet {
        a.run.log.init(UNIX_EPOCH + since)?;
    }
    let summary = worker::run(store, &config, work::run, &stop, |_| {})?;
    let s = summary;
    let counts = format!(
        "claimed {}, completed {}, failed {}, rescued {}, in {} transactions.",
        s.claimed, s.completed, s.failed, s.rescued, s.turns
    );
    match a.run.log.format {
        _ if a.run.quiet => {}
        Format::Readable => println!("worker {}: {counts}", a.name),
        // In the structured form the last line is JSON too, its counts in fields of their own.
        Format::Json => tracing::info!(
            worker = a.name.as_str(),
            claimed = s.claimed,
            completed = s.completed,
            failed = s.failed,
            rescued = s.rescued,
            transactions = s.turns,
            "leaving: {counts}"
        ),
    }
    Ok(())
}
// ANCHOR_END: run_worker
