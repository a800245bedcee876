//! The demo's flags, each checked with an error that names it.

use clap::Parser;
use course_support::{cli, svg};
use lesson_7::{MAX_RATE, MIN_RATE};
use std::time::Duration;

/// Lesson 7: the advanced pool.
#[derive(Parser)]
#[command(version, about)]
pub struct Args {
    /// Worker threads (1 to 1024).
    #[arg(long, default_value = "4", value_parser = cli::workers, allow_negative_numbers = true)]
    pub workers: usize,
    /// Jobs the queue holds (1 to 1000000).
    #[arg(long, default_value = "8", value_parser = cli::capacity, allow_negative_numbers = true)]
    pub queue: usize,
    /// Rate limit: jobs per second on average (0.001 to 1000000000).
    #[arg(long, default_value = "50", value_parser = rate, allow_negative_numbers = true)]
    pub rate: f64,
    /// Rate limit: jobs allowed at once (1 to 1000).
    #[arg(long, default_value = "8", value_parser = count, allow_negative_numbers = true)]
    pub burst: u32,
    /// Failures in a row that open the breaker (1 to 1000; the outage scene needs room for this
    /// many + 2 jobs at once, so --workers + --queue must be at least that).
    #[arg(long, default_value = "3", value_parser = count, allow_negative_numbers = true)]
    pub breaker_failures: u32,
    /// How long the breaker stays open, in milliseconds (1 to 60000).
    #[arg(long, default_value = "500", value_parser = cli::positive_millis, allow_negative_numbers = true)]
    pub cooldown_ms: Duration,
    /// Probe jobs the half-open breaker lets through (1 to 1000).
    #[arg(long, default_value = "2", value_parser = count, allow_negative_numbers = true)]
    pub probes: u32,
    /// Seed for job lengths.
    #[arg(long, default_value = "7")]
    pub seed: u64,
    /// Print only the final metrics, as one JSON object.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub picture: svg::SvgFlag,
}

/// Jobs per second, from `MIN_RATE` to `MAX_RATE`: checked here too, so that the error names the
/// flag (`nan` and `inf` parse as numbers, so they are checked as well).
fn rate(s: &str) -> Result<f64, String> {
    let too = || format!("expected jobs per second from {MIN_RATE} to {MAX_RATE}");
    match s.trim().parse::<f64>() {
        Ok(r) if (MIN_RATE..=MAX_RATE).contains(&r) => Ok(r),
        _ => Err(too()),
    }
}

/// A count for the script, 1 to 1000: the script submits about this many jobs in one scene, so
/// a typo such as 4294967295 must be an error, not an attempt to allocate for four billion.
fn count(s: &str) -> Result<u32, String> {
    match s.trim().parse::<u32>() {
        Ok(0) => Err("at least 1".into()),
        Ok(n) if n > 1000 => Err("at most 1000".into()),
        Ok(n) => Ok(n),
        Err(_) => Err("expected a whole number such as 3".into()),
    }
}

impl Args {
    /// Jobs the outage scene sends: enough failures in a row to open the breaker, and two more
    /// that arrive while it is open.
    pub fn failing(&self) -> usize {
        self.breaker_failures as usize + 2
    }

    /// Exits with a one-line error if the outage scene would not fit in the pool at once.
    pub fn check_room(&self) {
        // The outage scene holds all its failing jobs at a gate until the last is submitted, and
        // `submit` waits for room: with fewer places than jobs, each gate would be held until its
        // 10 s safety net, and the story told would be about those stalls, not the breaker.
        let failing = self.failing();
        if self.workers + self.queue < failing {
            eprintln!(
                "error: --breaker-failures {} needs room for {failing} jobs at once, but --workers {} \
                 + --queue {} hold {} (see --help)",
                self.breaker_failures,
                self.workers,
                self.queue,
                self.workers + self.queue
            );
            std::process::exit(2);
        }
    }
}
