//! Logging through `tracing`: a span per attempt, and how much each event matters.

use super::Event;
use crate::store::Recorded;
use tracing::{Level, Span, info_span};

// ANCHOR: log
/// The span of one attempt at one job, which every event about it is logged in, and the job's
/// own work runs in. It stands alone (`parent: None`) and names the worker itself: a log tool
/// then sees each attempt as a whole, rather than as a piece of one span as long as the process.
pub fn job_span(worker: &str, job: i64, attempt: u32) -> Span {
    info_span!(parent: None, "job", worker, job, attempt)
}

impl Event {
    /// How much an operator should care: `ERROR` for a job discarded (a person must look at
    /// it), `WARN` for a failed attempt, a lost lease or worker, or a job handed back, `INFO`
    /// for the rest. `RUST_LOG=warn` keeps just what went wrong.
    pub fn level(&self) -> Level {
        match self {
            Event::Took(_) | Event::Stopping(_) => Level::INFO,
            Event::Finished { recorded, .. } => match recorded {
                Recorded::Completed => Level::INFO,
                Recorded::Retry { .. } | Recorded::LeaseLost => Level::WARN,
                Recorded::Discarded => Level::ERROR,
            },
            Event::Rescued(r) if r.discarded => Level::ERROR,
            Event::Rescued(_) | Event::LeaseLost(_) | Event::HandedBack(_) => Level::WARN,
        }
    }
}

/// Logs `event` as a `tracing` event, in whichever span is entered: its message is the line the
/// lesson prints after `worker NAME`.
pub(super) fn log(event: &Event) {
    match event.level() {
        Level::ERROR => tracing::error!("{event}"),
        Level::WARN => tracing::warn!("{event}"),
        _ => tracing::info!("{event}"),
    }
}
// ANCHOR_END: log
