//! CPU-heavy work in an async pool: the busy loop runs on tokio's blocking threads, and checks
//! the job's token between steps.

use std::time::Duration;
use tokio_util::sync::CancellationToken;

// ANCHOR: blocking
/// CPU-heavy work done without stalling the runtime: the busy loop runs on tokio's blocking
/// threads, and the job's task only awaits it.
///
/// Dropping the awaited handle would not stop the loop (a dropped `JoinHandle` detaches the
/// work, it does not cancel it), and nothing can stop a thread from the outside, so the loop
/// checks `token` between steps. The pool cancels a job's token when the job ends for any
/// reason, so the loop of a job that timed out stops as well.
pub async fn crunch(work: Duration, token: CancellationToken) -> Result<(), String> {
    tokio::task::spawn_blocking(move || busy_loop(work, &token))
        .await
        .map_err(|e| format!("the blocking work panicked: {e}"))?
        .map(|_steps| ())
}

/// Keeps one CPU busy for `work`, in steps of about a millisecond, and gives up early once
/// `token` is cancelled. Returns how many steps it did.
pub fn busy_loop(work: Duration, token: &CancellationToken) -> Result<u64, String> {
    let start = std::time::Instant::now();
    let mut steps = 0;
    while start.elapsed() < work {
        // Cooperative cancellation by hand: this code never awaits, so nothing else can stop it.
        if token.is_cancelled() {
            return Err(format!("cancelled after {steps} steps"));
        }
        let step = std::time::Instant::now();
        while step.elapsed() < Duration::from_millis(1) {
            std::hint::spin_loop();
        }
        steps += 1;
    }
    Ok(steps)
}
// ANCHOR_END: blocking
