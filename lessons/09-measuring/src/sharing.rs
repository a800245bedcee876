//! False sharing: threads that each bump a counter of their own can still slow each other down,
//! when their counters sit in the same cache line.

use crossbeam_utils::CachePadded;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;

/// Where the counters live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// One counter for everybody: real sharing, every increment fights for the same line.
    Shared,
    /// A counter per thread, side by side in one array: 8 bytes apart, so in one cache line.
    Adjacent,
    /// A counter per thread, each in a `CachePadded`: a cache line (or two) of its own.
    Padded,
}

// ANCHOR: hammer
/// `threads` threads each add 1 to their counter `per_thread` times; returns the total, which
/// is always `threads * per_thread`.
pub fn hammer(layout: Layout, threads: usize, per_thread: u64) -> u64 {
    let adjacent: Vec<AtomicU64> = (0..threads).map(|_| AtomicU64::new(0)).collect();
    let padded: Vec<CachePadded<AtomicU64>> = (0..threads)
        .map(|_| CachePadded::new(AtomicU64::new(0)))
        .collect();
    thread::scope(|scope| {
        for i in 0..threads {
            let counter: &AtomicU64 = match layout {
                Layout::Shared => &adjacent[0],
                Layout::Adjacent => &adjacent[i],
                Layout::Padded => &padded[i],
            };
            scope.spawn(move || {
                for _ in 0..per_thread {
                    // Relaxed: only the count matters, and `scope` joins before we read it.
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
    let adjacent: u64 = adjacent.iter().map(|c| c.load(Ordering::Relaxed)).sum();
    adjacent
        + padded
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .sum::<u64>()
}
// ANCHOR_END: hammer
