//! Logging through `tracing`, as in lesson 10: how much each event matters.

use super::Event;
use tracing::Level;

// ANCHOR: log
impl Event {
    /// How much an operator should care, as in lesson 10: `ERROR` for a job discarded, `WARN` for
    /// a failed attempt, a lost lease or worker, a job handed back or a reconnection, `DEBUG` for
    /// the lost connection itself (the reconnection says how long it took), `INFO` for the rest.
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
