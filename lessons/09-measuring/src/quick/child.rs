//! The measuring child process: each shape runs in a process of its own (`--measure-one`), so
//! its peak memory is its own, and prints one line that the parent reads back.

use lesson_9::shapes::Shape;
use std::time::Instant;

/// Reads `ok NANOS PEAK_KIB` (peak `-` when unknown) or `error MESSAGE`.
pub fn parse(text: &str) -> Result<(u128, Option<u64>), String> {
    let line = text.lines().last().unwrap_or("");
    if let Some(message) = line.strip_prefix("error ") {
        return Err(message.to_string());
    }
    let mut words = line.strip_prefix("ok ").unwrap_or("").split(' ');
    match (words.next().and_then(|w| w.parse().ok()), words.next()) {
        (Some(ns), Some(peak)) => Ok((ns, peak.parse().ok())),
        _ => Err(format!("the measuring process failed: {text:?}")),
    }
}

/// Runs `shape` once to warm up, then `rounds` times, and prints the middle round's time and
/// this process's peak memory.
pub fn measure_one(shape: Shape, workers: usize, jobs: u64, rounds: usize) {
    let mut times = Vec::with_capacity(rounds);
    for round in 0..=rounds {
        let clock = Instant::now();
        // A thread the machine refuses to start panics inside the shape; the row says why.
        let ran = match std::panic::catch_unwind(|| shape.run(workers, jobs)) {
            Ok(ran) => ran,
            Err(panic) => {
                let why = panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("it panicked");
                println!("error {}", why.lines().next().unwrap_or(why));
                return;
            }
        };
        let took = clock.elapsed();
        if ran != jobs {
            println!("error only {ran} of {jobs} jobs ran (did the machine refuse a thread?)");
            return;
        }
        if round > 0 {
            times.push(took.as_nanos());
        }
    }
    times.sort_unstable();
    let peak = lesson_9::status_kib("VmHWM").map_or("-".into(), |k| k.to_string());
    println!("ok {} {peak}", times[times.len() / 2]);
}
