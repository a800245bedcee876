//! The jobs of the demo and the tests: lesson 1's work, doubling a number, made durable.
//!
//! A payload says which number, how long the work takes, and how many of its first attempts
//! fail on purpose, so that retries, backoff and the dead-letter state show up in a seeded,
//! repeatable way.

use crate::job::Claim;
use lesson_7::Ctx;
use rand::{RngExt as _, SeedableRng as _, rngs::StdRng};
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

/// What one demo job is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Double {
    /// The number to double.
    pub n: i64,
    /// How long the work takes, in milliseconds.
    pub work_ms: u64,
    /// How many of its first attempts fail on purpose.
    pub fail_first: u32,
}

impl Double {
    /// The payload as stored in the queue.
    pub fn to_payload(self) -> String {
        serde_json::to_string(&self).expect("three numbers always serialise")
    }
}

/// `count` jobs doubling `first..`, each working between half and one and a half times
/// `work_ms`, each attempt failing with probability `fail_percent`/100 (decided here, by
/// `seed`, so a run is repeatable).
pub fn plan(first: i64, count: usize, work_ms: u64, fail_percent: u32, seed: u64) -> Vec<Double> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..count as i64)
        .map(|i| {
            let work_ms = rng.random_range(work_ms / 2..=work_ms * 3 / 2);
            let mut fail_first = 0;
            // Up to 10 failing attempts in a row, so even 100 % stays finite.
            while fail_first < 10 && rng.random_range(0..100) < fail_percent {
                fail_first += 1;
            }
            Double {
                n: first + i,
                work_ms,
                fail_first,
            }
        })
        .collect()
}

/// The jobs of `plan` that fail on purpose, as the demo lists them: `3 (1×), 7 (2×)`, or
/// `none`. Lesson 11's demo lists them the same way.
///
/// ```
/// use lesson_10::work::{Double, failing};
/// let job = |n, fail_first| Double { n, work_ms: 0, fail_first };
/// assert_eq!(failing(&[job(1, 0), job(3, 1), job(7, 2)]), "3 (1×), 7 (2×)");
/// assert_eq!(failing(&[job(1, 0)]), "none");
/// ```
pub fn failing(plan: &[Double]) -> String {
    let failing: Vec<String> = plan
        .iter()
        .filter(|d| d.fail_first > 0)
        .map(|d| format!("{} ({}×)", d.n, d.fail_first))
        .collect();
    if failing.is_empty() {
        "none".to_string()
    } else {
        failing.join(", ")
    }
}

// ANCHOR: run
/// Runs one attempt of a demo job: works for its time (stopping early if the pool aborts),
/// then fails if this attempt is one of its planned failures, else returns twice its number.
pub fn run(claim: &Claim, ctx: &Ctx) -> Result<String, String> {
    let job: Double =
        serde_json::from_str(&claim.payload).map_err(|e| format!("bad payload: {e}"))?;
    let end = Instant::now() + Duration::from_millis(job.work_ms);
    let half = Instant::now() + Duration::from_millis(job.work_ms / 2);
    let mut halfway = false;
    while let Some(left) = end.checked_duration_since(Instant::now()) {
        if ctx.is_cancelled() {
            return Err("stopped by shutdown".into());
        }
        if !halfway && Instant::now() >= half {
            halfway = true;
            crate::fault::point("mid-job");
        }
        std::thread::sleep(left.min(Duration::from_millis(5)));
    }
    if claim.attempt <= job.fail_first {
        return Err(format!("injected failure on attempt {}", claim.attempt));
    }
    Ok((job.n * 2).to_string())
}
// ANCHOR_END: run
