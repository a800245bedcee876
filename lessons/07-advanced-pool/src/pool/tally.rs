//! Where a worker counts how its jobs ended: a job that came alone goes straight into the
//! shared metrics; a batch goes into a [`Tally`] of the worker's own, added to them once at its
//! end.
//!
//! Every worker adds to the same counters, and an add to a counter another core has just
//! touched waits for that core's copy of it. Counting a batch of jobs locally and adding the
//! totals once turns a few hundred such waits into a few. For a single job a tally would only
//! be extra work, so it is counted as it ends.

use crate::job::Status;
use crate::metrics::{BUCKETS, Histogram, Metrics};
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

// ANCHOR: tally
/// Something that counts how jobs ended.
pub(super) trait Count {
    /// A job ran and ended with `status`, `latency` after it was accepted.
    fn ran(&mut self, status: &Status, latency: Duration);
    /// A job was handed back unstarted.
    fn cancelled(&mut self);
}

/// A job that came alone is counted straight into the shared metrics.
impl Count for &Metrics {
    fn ran(&mut self, status: &Status, latency: Duration) {
        Metrics::add(match status {
            Status::Completed => &self.completed,
            Status::Failed(_) => &self.failed,
            Status::Panicked(_) => &self.panicked,
        });
        self.latency.record(latency);
    }

    fn cancelled(&mut self) {
        Metrics::add(&self.cancelled);
    }
}

/// A batch is counted here first, then added to the shared metrics in one go.
pub(super) struct Tally {
    completed: u64,
    failed: u64,
    panicked: u64,
    cancelled: u64,
    latency: [u64; BUCKETS],
    /// Bit `i` is set when `latency[i]` is not 0, so adding up visits only those buckets.
    touched: u64,
    latency_micros: u64,
}

impl Tally {
    pub(super) fn new() -> Tally {
        Tally {
            completed: 0,
            failed: 0,
            panicked: 0,
            cancelled: 0,
            latency: [0; BUCKETS],
            touched: 0,
            latency_micros: 0,
        }
    }

    /// Adds the counts to the shared metrics.
    pub(super) fn add_to(&self, metrics: &Metrics) {
        for (counter, n) in [
            (&*metrics.completed, self.completed),
            (&metrics.failed, self.failed),
            (&metrics.panicked, self.panicked),
            (&metrics.cancelled, self.cancelled),
        ] {
            if n > 0 {
                counter.fetch_add(n, Relaxed);
            }
        }
        let mut touched = self.touched;
        while touched != 0 {
            let bucket = touched.trailing_zeros() as usize;
            metrics.latency.add_to_bucket(bucket, self.latency[bucket]);
            touched &= touched - 1;
        }
        if self.touched != 0 {
            metrics.latency.add_to_total(self.latency_micros);
        }
    }
}

impl Count for Tally {
    fn ran(&mut self, status: &Status, latency: Duration) {
        *match status {
            Status::Completed => &mut self.completed,
            Status::Failed(_) => &mut self.failed,
            Status::Panicked(_) => &mut self.panicked,
        } += 1;
        let (bucket, micros) = Histogram::place(latency);
        self.latency[bucket] += 1;
        self.touched |= 1 << bucket;
        self.latency_micros += micros;
    }

    fn cancelled(&mut self) {
        self.cancelled += 1;
    }
}
// ANCHOR_END: tally
