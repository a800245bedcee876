//! The counters at the end of the table: one shared, side by side, and padded.

use crate::quick::args::DEBUG;
use course_support::human;
use lesson_9::sharing::{self, Layout};
use std::time::Instant;

/// Two threads bumping counters: one shared, side by side, and padded.
pub fn false_sharing() {
    let (threads, increments) = if DEBUG {
        (2, 10_000)
    } else {
        (2, lesson_9::INCREMENTS)
    };
    println!("Counters: {threads} threads, each adding 1 {increments} times");
    for (layout, name) in [
        (Layout::Shared, "one shared counter"),
        (Layout::Adjacent, "a counter each, side by side"),
        (Layout::Padded, "a counter each, CachePadded"),
    ] {
        let clock = Instant::now();
        let total = sharing::hammer(layout, threads, increments);
        assert_eq!(total, threads as u64 * increments, "every increment counts");
        println!("  {name:<30} took {}", human(clock.elapsed()));
    }
}
