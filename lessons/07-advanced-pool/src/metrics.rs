//! Metrics that add up, cheap enough to leave on: every counter is one atomic add, no lock.
//!
//! Once the pool has drained, `submitted == completed + failed + panicked + cancelled`, and
//! every job that was refused is counted once, under one reason.

use crate::sync::{AtomicI64, AtomicU64};
use crossbeam_utils::CachePadded;
use std::fmt::Write as _;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

// ANCHOR: metrics
/// The pool's counters. Each is updated with a single relaxed atomic operation: they are
/// counts, not synchronisation, and a snapshot taken while jobs run is only approximately
/// consistent (once the pool is drained it is exact).
#[derive(Debug, Default)]
pub struct Metrics {
    /// Jobs accepted into the queue. Written by submitters; the counters below it by workers,
    /// so each group sits on a cache line of its own (lesson 9's false sharing).
    pub(crate) submitted: CachePadded<AtomicU64>,
    /// Jobs that ran and returned `Ok`.
    pub(crate) completed: CachePadded<AtomicU64>,
    /// Jobs that ran and returned `Err`.
    pub(crate) failed: AtomicU64,
    /// Jobs that panicked (the worker caught it and carried on).
    pub(crate) panicked: AtomicU64,
    /// Jobs accepted but never run, because the pool aborted.
    pub(crate) cancelled: AtomicU64,
    /// Refusals, one counter per reason.
    pub(crate) rejected: [AtomicU64; 5],
    /// Accepted jobs not yet finished (queued or running).
    pub(crate) in_flight: CachePadded<AtomicI64>,
    /// Workers running a job right now.
    pub(crate) busy: CachePadded<AtomicI64>,
    /// From acceptance to the end of the run, per job.
    pub(crate) latency: Histogram,
}
// ANCHOR_END: metrics

/// Why a job was refused; also the index of its counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The queue was full (`try_submit`).
    Full,
    /// The rate limiter had no token.
    Rate,
    /// The circuit breaker was open (or half-open with every probe out).
    Breaker,
    /// The pool was closed.
    Closed,
    /// The queue stayed full until `submit_timeout` gave up.
    Timeout,
}

impl Reason {
    /// Every reason, in counter order.
    pub const ALL: [Reason; 5] = [
        Reason::Full,
        Reason::Rate,
        Reason::Breaker,
        Reason::Closed,
        Reason::Timeout,
    ];

    /// The name used in the table and the JSON.
    pub fn name(self) -> &'static str {
        match self {
            Reason::Full => "full",
            Reason::Rate => "rate",
            Reason::Breaker => "breaker",
            Reason::Closed => "closed",
            Reason::Timeout => "timeout",
        }
    }
}

impl Metrics {
    pub(crate) fn reject(&self, reason: Reason, jobs: u64) {
        self.rejected[reason as usize].fetch_add(jobs, Relaxed);
    }

    pub(crate) fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Relaxed);
    }

    /// A copy of every counter, plus the queue depth the pool passes in.
    pub fn snapshot(&self, queue_depth: usize) -> Snapshot {
        Snapshot {
            submitted: self.submitted.load(Relaxed),
            completed: self.completed.load(Relaxed),
            failed: self.failed.load(Relaxed),
            panicked: self.panicked.load(Relaxed),
            cancelled: self.cancelled.load(Relaxed),
            rejected: Reason::ALL.map(|r| (r, self.rejected[r as usize].load(Relaxed))),
            in_flight: self.in_flight.load(Relaxed).max(0) as u64,
            busy_workers: self.busy.load(Relaxed).max(0) as u64,
            queue_depth,
            latency: self.latency.summary(),
        }
    }
}

/// The metrics at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// Jobs accepted.
    pub submitted: u64,
    /// Jobs that succeeded.
    pub completed: u64,
    /// Jobs that returned an error.
    pub failed: u64,
    /// Jobs that panicked.
    pub panicked: u64,
    /// Jobs accepted but never run.
    pub cancelled: u64,
    /// Refusals by reason.
    pub rejected: [(Reason, u64); 5],
    /// Accepted jobs not yet finished.
    pub in_flight: u64,
    /// Workers running a job.
    pub busy_workers: u64,
    /// Jobs waiting in the queue.
    pub queue_depth: usize,
    /// How long jobs took from acceptance to finish.
    pub latency: Latency,
}

impl Snapshot {
    /// Refusals of every kind.
    pub fn rejected_total(&self) -> u64 {
        self.rejected.iter().map(|(_, n)| n).sum()
    }

    /// Refusals for one reason.
    pub fn rejected(&self, reason: Reason) -> u64 {
        self.rejected[reason as usize].1
    }

    /// Jobs that have ended one way or another.
    pub fn finished(&self) -> u64 {
        self.completed + self.failed + self.panicked + self.cancelled
    }

    /// The metrics as a table, for people.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let mut row = |name: &str, value: String| {
            let _ = writeln!(out, "  {name:<22} {value}");
        };
        row("submitted", self.submitted.to_string());
        row("  completed", self.completed.to_string());
        row("  failed", self.failed.to_string());
        row("  panicked", self.panicked.to_string());
        row("  cancelled", self.cancelled.to_string());
        row("rejected", self.rejected_total().to_string());
        for (reason, n) in self.rejected {
            row(&format!("  {}", reason.name()), n.to_string());
        }
        row("in flight", self.in_flight.to_string());
        row("queue depth", self.queue_depth.to_string());
        row("busy workers", self.busy_workers.to_string());
        row(
            "latency",
            format!(
                "mean {} · p50 {} · p99 {} (over {} jobs)",
                course_support::human(self.latency.mean),
                course_support::human(self.latency.p50),
                course_support::human(self.latency.p99),
                self.latency.count
            ),
        );
        out
    }

    /// The metrics as one JSON object, for scripts.
    pub fn to_json(&self) -> String {
        let rejected: Vec<String> = self
            .rejected
            .iter()
            .map(|(r, n)| format!("\"{}\":{n}", r.name()))
            .collect();
        format!(
            "{{\"submitted\":{},\"completed\":{},\"failed\":{},\"panicked\":{},\"cancelled\":{},\
             \"rejected\":{{{}}},\"rejected_total\":{},\"in_flight\":{},\"queue_depth\":{},\
             \"busy_workers\":{},\"latency_us\":{{\"count\":{},\"mean\":{},\"p50\":{},\"p99\":{}}}}}",
            self.submitted,
            self.completed,
            self.failed,
            self.panicked,
            self.cancelled,
            rejected.join(","),
            self.rejected_total(),
            self.in_flight,
            self.queue_depth,
            self.busy_workers,
            self.latency.count,
            self.latency.mean.as_micros(),
            self.latency.p50.as_micros(),
            self.latency.p99.as_micros(),
        )
    }
}

/// A latency summary. The percentiles are upper bounds: the histogram's buckets double in
/// width, so "p99 ≤ 512 ms" is as precise as it gets.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Latency {
    /// How many jobs were measured.
    pub count: u64,
    /// The mean.
    pub mean: Duration,
    /// Half the jobs took at most this long.
    pub p50: Duration,
    /// 99 in 100 jobs took at most this long.
    pub p99: Duration,
}

/// How many buckets a [`Histogram`] has.
pub(crate) const BUCKETS: usize = 40;

/// Counts of durations in power-of-two buckets of microseconds: bucket `i` holds durations
/// below `2^i` µs. Recording is two atomic adds.
#[derive(Debug)]
pub struct Histogram {
    buckets: [AtomicU64; BUCKETS],
    total_micros: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            total_micros: AtomicU64::new(0),
        }
    }
}

impl Histogram {
    /// Counts one duration.
    pub fn record(&self, d: Duration) {
        let (bucket, micros) = Histogram::place(d);
        self.buckets[bucket].fetch_add(1, Relaxed);
        self.total_micros.fetch_add(micros, Relaxed);
    }

    /// The bucket a duration falls in, and the duration in microseconds.
    pub(crate) fn place(d: Duration) -> (usize, u64) {
        let micros = d.as_micros().min(u128::from(u64::MAX)) as u64;
        (
            (64 - micros.leading_zeros() as usize).min(BUCKETS - 1),
            micros,
        )
    }

    /// Adds what a worker counted on its own (`pool/tally.rs`): `n` durations in `bucket`.
    pub(crate) fn add_to_bucket(&self, bucket: usize, n: u64) {
        self.buckets[bucket].fetch_add(n, Relaxed);
    }

    /// Adds to the total of all durations, in microseconds, with [`Histogram::add_to_bucket`].
    pub(crate) fn add_to_total(&self, micros: u64) {
        self.total_micros.fetch_add(micros, Relaxed);
    }

    /// Mean and percentiles of what was recorded.
    pub fn summary(&self) -> Latency {
        let counts: Vec<u64> = self.buckets.iter().map(|b| b.load(Relaxed)).collect();
        let count: u64 = counts.iter().sum();
        if count == 0 {
            return Latency::default();
        }
        let upper = |q: f64| {
            let rank = (q * count as f64).ceil().max(1.0) as u64;
            let mut seen = 0;
            for (i, n) in counts.iter().enumerate() {
                seen += n;
                if seen >= rank {
                    return Duration::from_micros(1 << i);
                }
            }
            Duration::MAX
        };
        Latency {
            count,
            mean: Duration::from_micros(self.total_micros.load(Relaxed) / count),
            p50: upper(0.50),
            p99: upper(0.99),
        }
    }
}

#[cfg(test)]
mod tests;
