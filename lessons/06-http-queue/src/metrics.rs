//! The counters, kept in step with the tasks' records: as JSON for `GET /metrics.json`, and in
//! Prometheus's types, with two latency histograms, for `GET /metrics`.

use crate::task::TaskState;
use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use serde::Serialize;

/// The `Content-Type` of `GET /metrics`: Prometheus's text format, version 0.0.4
/// (`text/plain; version=0.0.4; charset=utf-8`), as prometheus-client spells it.
pub const PROMETHEUS_CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// The upper bounds, in seconds, of the buckets of the two latency histograms on `GET /metrics`.
/// Fine around the demo's tasks (50 ms to 150 ms) and the default of 100 ms, coarser up to the
/// one-minute limit; the last bucket, `+Inf`, is implicit.
pub const LATENCY_BUCKETS: [f64; 14] = [
    0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// The counters `GET /metrics.json` answers (and `GET /metrics`, in Prometheus's format). They
/// add up: `accepted == queued + running + completed + failed + cancelled`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Metrics {
    /// Tasks the queue took (answered `202`).
    pub accepted: u64,
    /// Tasks turned away with `503`: the queue was full, or shutting down.
    pub rejected: u64,
    /// Accepted tasks no worker has taken yet.
    pub queued: u64,
    /// Tasks a worker is working on now.
    pub running: u64,
    /// Tasks that finished their work.
    pub completed: u64,
    /// Tasks whose work ended in an error.
    pub failed: u64,
    /// Tasks stop-now cancelled.
    pub cancelled: u64,
    /// How many workers there are.
    pub workers: usize,
    /// How many tasks the queue holds before it answers `503`.
    pub capacity: usize,
}

/// The counter that counts tasks in `state`.
pub(crate) fn counter(metrics: &mut Metrics, state: TaskState) -> &mut u64 {
    match state {
        TaskState::Queued => &mut metrics.queued,
        TaskState::Running => &mut metrics.running,
        TaskState::Completed => &mut metrics.completed,
        TaskState::Failed => &mut metrics.failed,
        TaskState::Cancelled => &mut metrics.cancelled,
    }
}

// ANCHOR: exposition
/// What `GET /metrics` shows, in the types Prometheus knows: counters, which only go up; gauges,
/// which go up and down; and histograms, which count observations into buckets. Each is changed
/// under the board's lock, in the same step as [`Metrics`], so the two always agree.
pub(crate) struct Exposition {
    /// Every metric below, registered under its name and help text; encoding it is a scrape.
    registry: Registry,
    pub(crate) accepted: Counter,
    pub(crate) rejected: Counter,
    pub(crate) completed: Counter,
    pub(crate) failed: Counter,
    pub(crate) cancelled: Counter,
    pub(crate) queued: Gauge,
    pub(crate) running: Gauge,
    /// How long each task waited in the queue before a worker started it.
    pub(crate) waited: Histogram,
    /// How long each task that finished its work (done or failed) ran.
    pub(crate) ran: Histogram,
}

impl Exposition {
    pub(crate) fn new(workers: usize, capacity: usize) -> Exposition {
        let mut exposition = Exposition {
            // Every name starts `taskqueue_`, so it cannot clash with another program's.
            registry: Registry::with_prefix("taskqueue"),
            accepted: Counter::default(),
            rejected: Counter::default(),
            completed: Counter::default(),
            failed: Counter::default(),
            cancelled: Counter::default(),
            queued: Gauge::default(),
            running: Gauge::default(),
            waited: Histogram::new(LATENCY_BUCKETS),
            ran: Histogram::new(LATENCY_BUCKETS),
        };
        // The registry holds clones: a metric is a shared atomic, so a change made through
        // either shows in both. It adds `_total` to a counter's name, the unit to a histogram's,
        // and a full stop to each help text.
        let registry = &mut exposition.registry;
        registry.register(
            "tasks_accepted",
            "Tasks the queue accepted (answered 202 Accepted)",
            exposition.accepted.clone(),
        );
        registry.register(
            "tasks_rejected",
            "Tasks turned away with 503 Service Unavailable: the queue was full, or shutting down",
            exposition.rejected.clone(),
        );
        registry.register(
            "tasks_completed",
            "Accepted tasks that finished their work",
            exposition.completed.clone(),
        );
        registry.register(
            "tasks_failed",
            "Accepted tasks whose work ended in an error",
            exposition.failed.clone(),
        );
        registry.register(
            "tasks_cancelled",
            "Accepted tasks that stop-now cancelled, before they started or while they ran",
            exposition.cancelled.clone(),
        );
        registry.register(
            "tasks_queued",
            "Accepted tasks waiting in the queue for a worker",
            exposition.queued.clone(),
        );
        registry.register(
            "tasks_running",
            "Tasks a worker is running now",
            exposition.running.clone(),
        );
        registry.register(
            "workers",
            "Workers taking tasks from the queue",
            ConstGauge::new(i64::try_from(workers).unwrap_or(i64::MAX)),
        );
        registry.register(
            "capacity",
            "Tasks the queue holds before it answers 503",
            ConstGauge::new(i64::try_from(capacity).unwrap_or(i64::MAX)),
        );
        registry.register_with_unit(
            "task_wait",
            "How long tasks waited in the queue before a worker started them",
            Unit::Seconds,
            exposition.waited.clone(),
        );
        registry.register_with_unit(
            "task_run",
            "How long tasks ran, from their start until they were done or failed",
            Unit::Seconds,
            exposition.ran.clone(),
        );
        exposition
    }

    /// One task moves from `from` to `to`: the same step `record` makes on [`Metrics`].
    pub(crate) fn moved(&self, from: TaskState, to: TaskState) {
        match from {
            TaskState::Queued => {
                self.queued.dec();
            }
            TaskState::Running => {
                self.running.dec();
            }
            // A task never leaves an end state.
            TaskState::Completed | TaskState::Failed | TaskState::Cancelled => {}
        }
        match to {
            TaskState::Queued => {
                self.queued.inc();
            }
            TaskState::Running => {
                self.running.inc();
            }
            TaskState::Completed => {
                self.completed.inc();
            }
            TaskState::Failed => {
                self.failed.inc();
            }
            TaskState::Cancelled => {
                self.cancelled.inc();
            }
        }
    }

    /// The scrape: every metric in Prometheus's text format.
    pub(crate) fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}
// ANCHOR_END: exposition
