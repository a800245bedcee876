//! What a worker does, event by event, and how it prints each one: lesson 10's events, printed
//! as lesson 10 prints them (a rescue apart: here the rescuer says whose job it was), and two new
//! ones about the connection.

use std::fmt;
use std::time::Duration;

/// What a lesson 10 worker does (took, finished, rescued, lost a lease, stopping, handed
/// back): lesson 11's worker does the same things, and reports them with the same type.
pub use lesson_10::worker::Event as QueueEvent;

/// Something the worker did, for whoever prints it.
#[derive(Debug, Clone)]
pub enum Event {
    /// What lesson 10's worker does too.
    Queue(QueueEvent),
    /// New: the connection was lost, and this is why.
    Disconnected(String),
    /// New: connected again after this long; `handed_back` claims whose answer was lost went
    /// back to the queue.
    Reconnected {
        /// How long the server was out of reach.
        after: Duration,
        /// How many tries it took.
        tries: u32,
        /// Claims found on the server that the worker never heard about.
        handed_back: usize,
    },
}

impl From<QueueEvent> for Event {
    fn from(event: QueueEvent) -> Event {
        Event::Queue(event)
    }
}

/// One event as a worker prints it, after `worker NAME `.
impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // Phrased with "abandoned", so the snapshot's sort puts these lines by job.
            Event::Queue(QueueEvent::Rescued(r)) => write!(
                f,
                "put back job {}, abandoned by its worker: attempt {}'s lease ran out{}",
                r.id,
                r.attempt,
                if r.discarded {
                    "; no attempts left, discarded"
                } else {
                    ""
                }
            ),
            Event::Queue(event) => event.fmt(f),
            Event::Disconnected(why) => write!(f, "lost the server: {why}"),
            Event::Reconnected { after, .. } => write!(
                f,
                "stopped for {}: lost the server, reconnected with backoff",
                course_support::human(*after)
            ),
        }
    }
}
