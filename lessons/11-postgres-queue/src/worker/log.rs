//! Logging through `tracing`, as in lesson 10: how much each event matters.

use super::Event;
use tracing::Level;

// ANCHOR: log
impl Event {
    /// How much an operator should care: lesson 10's events as lesson 10 rates them (`ERROR` for
    /// a job discarded, `WARN` for a failed attempt, a lost lease or worker, a job handed back,
    /// `INFO` for the rest); new, `WARN` for a reconnection and `DEBUG` for the lost connection
    /// itself (the reconnection says how long it took).
    pub fn level(&self) -> Level {
        match self {
            Event::Queue(event) => event.level(),
            Event::Reconnected { .. } => Level::WARN,
            Event::Disconnected(_) => Level::DEBUG,
        }
    }
}

/// Logs `event` as a `tracing` event, in whichever span is entered.
pub(super) fn log(event: &Event) {
    match event.level() {
        Level::ERROR => tracing::error!("{event}"),
        Level::WARN => tracing::warn!("{event}"),
        Level::INFO => tracing::info!("{event}"),
        _ => tracing::debug!("{event}"),
    }
}
// ANCHOR_END: log
