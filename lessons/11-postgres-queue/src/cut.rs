//! Connection cuts for the fault tests: a worker's connection is killed by the server at a
//! named point of a turn, as a network failure or a server restart would kill it.
//!
//! With `LESSON11_CUT=NAME:N` in its environment, a process's connection is terminated the N-th
//! time it reaches point `NAME`: `mid-claim` (claimed, not committed), `mid-completion` (results
//! written, not committed) or `lost-answer` (committed, but the answer never reaches the worker).
//! Without the variable every point does nothing.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

struct Plan {
    name: String,
    at: u64,
    seen: AtomicU64,
}

/// Whether this is the planned point and time to cut the connection.
pub fn now(name: &str) -> bool {
    static PLAN: OnceLock<Option<Plan>> = OnceLock::new();
    let plan = PLAN.get_or_init(|| {
        let spec = std::env::var("LESSON11_CUT").ok()?;
        let (name, at) = spec.split_once(':').unwrap_or((&spec, "1"));
        Some(Plan {
            name: name.to_string(),
            at: at.parse().ok()?,
            seen: AtomicU64::new(0),
        })
    });
    plan.as_ref()
        .is_some_and(|p| p.name == name && p.seen.fetch_add(1, Ordering::SeqCst) + 1 == p.at)
}
