//! `worker`: runs jobs from the queue until stopped, then says what it did.

use super::open;
use crate::WorkerArgs;
use course_support::log::Format;
use lesson_11::backoff::Backoff;
use lesson_11::work;
use lesson_11::worker::{self, Event};
use std::error::Error;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, UNIX_EPOCH};

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
    let name = a.name.clone().unwrap_or_else(default_name);
    let config = worker::Config {
        url: a.db.database_url.clone(),
        name: name.clone(),
        threads: a.threads,
        lease: a.lease_ms,
        claim_batch: a.claim_batch.unwrap_or(a.threads),
        poll: a.poll_ms,
        rescue_every: a.rescue_ms,
        exit_when_idle: a.run.exit_when_idle,
        grace: a.run.grace_ms,
        give_up_after: a.give_up_ms,
        backoff,
    };
    let since = a.run.since_ms.map_or_else(now, Duration::from_millis);
    if !a.run.quiet {
        a.run.log.init(UNIX_EPOCH + since)?;
    }
    let label = name.clone();
    let on_event = move |event: Event| {
        if let Event::Disconnected(why) = &event {
            // The cause goes to stderr: it varies with how the connection broke.
            eprintln!("worker {label}: lost the server: {why}");
        }
    };
    let s = worker::run(store, &config, work::run, &stop, on_event)?;
    let counts = format!(
        "claimed {}, completed {}, failed {}, rescued {}, in {} transactions; \
         woken {} times by a notification, reconnected {} times.",
        s.claimed, s.completed, s.failed, s.rescued, s.turns, s.woken, s.reconnects
    );
    match a.run.log.format {
        _ if a.run.quiet => {}
        Format::Readable => println!("worker {name}: {counts}"),
        Format::Json => tracing::info!(
            worker = name.as_str(),
            claimed = s.claimed,
            completed = s.completed,
            failed = s.failed,
            rescued = s.rescued,
            transactions = s.turns,
            woken = s.woken,
            reconnects = s.reconnects,
            "leaving: {counts}"
        ),
    }
    Ok(())
}
fn now() -> Duration {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
}

/// A name no other worker has: this machine's name and this process's id.
fn default_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "host".into());
    format!("{host}-{}", std::process::id())
}
