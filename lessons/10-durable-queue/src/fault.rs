//! Crash points for the crash tests: a process stops dead at a named point in its work.
//!
//! With `LESSON10_CRASH=NAME:N` in its environment, a process aborts the N-th time it reaches
//! point `NAME` (`after-claim`, `mid-job`, `before-commit`, `mid-commit`, `mid-enqueue`).
//! `abort` runs no destructor and no rollback, the same as a `kill -9` as far as the database
//! can tell. Without the variable every point does nothing.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

struct Plan {
    name: String,
    at: u64,
    seen: AtomicU64,
}

fn plan() -> Option<&'static Plan> {
    static PLAN: OnceLock<Option<Plan>> = OnceLock::new();
    PLAN.get_or_init(|| {
        let spec = std::env::var("LESSON10_CRASH").ok()?;
        let (name, at) = spec.split_once(':').unwrap_or((&spec, "1"));
        Some(Plan {
            name: name.to_string(),
            at: at.parse().ok()?,
            seen: AtomicU64::new(0),
        })
    })
    .as_ref()
}

/// Aborts the process if this is the planned crash point and the planned time through it.
pub fn point(name: &str) {
    if let Some(plan) = plan() {
        if plan.name == name && plan.seen.fetch_add(1, Ordering::SeqCst) + 1 == plan.at {
            std::process::abort();
        }
    }
}
