//! What a task is: what a client asks for, where the task stands on its way through the queue,
//! and what shutdown reports about all of them.

use crate::metrics::Metrics;
use course_support::timeline;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The pretend work of a task whose body leaves out `duration_ms`.
pub const DEFAULT_DURATION_MS: u64 = 100;

// ANCHOR: spec
/// What a client asks for: the body of `POST /tasks`, such as `{"duration_ms": 200}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
// New: a misspelt field (`"duraton_ms"`) is an error, not a silently used default.
#[serde(deny_unknown_fields)]
pub struct TaskSpec {
    /// How long the pretend work takes, in milliseconds ([`DEFAULT_DURATION_MS`] if left out).
    #[serde(default = "default_duration_ms")]
    pub duration_ms: u64,
    /// Whether the task fails at the end of its work, so failures can be seen on purpose.
    #[serde(default)]
    pub fail: bool,
}
// ANCHOR_END: spec

fn default_duration_ms() -> u64 {
    DEFAULT_DURATION_MS
}

impl Default for TaskSpec {
    fn default() -> TaskSpec {
        TaskSpec {
            duration_ms: DEFAULT_DURATION_MS,
            fail: false,
        }
    }
}

// ANCHOR: state
/// Where a task is. A task the queue accepted always ends in `Done`, `Failed` or `Cancelled`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskState {
    /// Accepted and waiting in the queue for a worker.
    Queued,
    /// A worker is doing its work now.
    Running,
    /// The work is done.
    Completed,
    /// The work ended in an error (here: the client asked for `"fail": true`).
    Failed,
    /// Stop-now came first: the task never started, or was interrupted while it ran.
    Cancelled,
}

/// One accepted task, as `GET /tasks/{id}` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskInfo {
    /// Its id, counted from 1 in the order the queue accepted tasks.
    pub id: u64,
    /// Where it is now.
    pub state: TaskState,
    /// The pretend work it asked for.
    pub duration_ms: u64,
    /// Whether it asked to fail.
    pub fail: bool,
    /// The worker that took it; absent while it is queued.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worker: Option<usize>,
    /// Why it failed or was cancelled; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// When the queue accepted it, measured from the queue's start.
    #[serde(skip)]
    pub accepted: Duration,
    /// When a worker started it, measured from the queue's start (for the run picture).
    #[serde(skip)]
    pub started: Option<Duration>,
    /// When it ended, measured from the queue's start.
    #[serde(skip)]
    pub ended: Option<Duration>,
}
// ANCHOR_END: state

/// A task on its way through the queue: only what a worker needs.
#[derive(Debug)]
pub(crate) struct Task {
    /// The key of its record on the board.
    pub(crate) id: u64,
    /// How long to sleep: the pretend work.
    pub(crate) work: Duration,
    /// Whether to end as failed.
    pub(crate) fail: bool,
}

/// What shutdown found: every task the queue ever accepted, and the final counters.
#[derive(Debug, Clone)]
pub struct Report {
    /// Every accepted task, in id order.
    pub tasks: Vec<TaskInfo>,
    /// The counters at the end, including how many requests were turned away.
    pub metrics: Metrics,
}

impl Report {
    /// Tasks accepted.
    pub fn accepted(&self) -> usize {
        self.tasks.len()
    }

    /// Tasks in `state`.
    pub fn count(&self, state: TaskState) -> usize {
        self.tasks.iter().filter(|t| t.state == state).count()
    }

    /// Accepted tasks that did not end: only possible if a worker panicked.
    pub fn lost(&self) -> usize {
        self.count(TaskState::Queued) + self.count(TaskState::Running)
    }

    /// The ids of the tasks in `state`, in order.
    pub fn ids(&self, state: TaskState) -> Vec<u64> {
        self.tasks
            .iter()
            .filter(|t| t.state == state)
            .map(|t| t.id)
            .collect()
    }

    /// A box for every task that ran, even partly, for `timeline::render`. Tasks that failed or
    /// were interrupted are marked failed, so they are drawn with `!`.
    pub fn spans(&self) -> Vec<timeline::Span> {
        self.tasks
            .iter()
            .filter_map(|t| {
                Some(timeline::Span {
                    worker: t.worker?,
                    job: t.id,
                    start: t.started?,
                    end: t.ended?,
                    failed: t.state != TaskState::Completed,
                })
            })
            .collect()
    }
}
