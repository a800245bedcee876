//! The demo's flags, and the check both pools make of them before anything runs.

use clap::Parser;
use course_support::{cli, svg};
use lesson_8::dynamic::Limits;
use lesson_8::priority::Config;
use std::time::Duration;

/// Lesson 8: dynamic and priority pools.
#[derive(Parser)]
#[command(version, about)]
pub struct Args {
    /// Dynamic pool: workers kept alive when idle (0 to 1024, at most --max-workers).
    #[arg(long, default_value = "1", value_parser = at_most_max_workers, allow_negative_numbers = true)]
    pub min_workers: usize,
    /// Dynamic pool: the most workers it may grow to (1 to 1024).
    #[arg(long, default_value = "4", value_parser = cli::workers, allow_negative_numbers = true)]
    pub max_workers: usize,
    /// Dynamic pool: jobs in the first burst (the second has half as many) (0 to 1000000).
    #[arg(long, default_value = "12", value_parser = cli::jobs, allow_negative_numbers = true)]
    pub jobs: usize,
    /// Dynamic pool: mean job length in milliseconds (0 to 60000).
    #[arg(long, default_value = "40", value_parser = cli::millis, allow_negative_numbers = true)]
    pub work_ms: Duration,
    /// Dynamic pool: how long a worker waits for work before retiring, in milliseconds (1 to 60000).
    #[arg(long, default_value = "50", value_parser = cli::positive_millis, allow_negative_numbers = true)]
    pub idle_ms: Duration,
    /// Priority pool: high-priority jobs that keep arriving, one per pick (0 to 1000000).
    #[arg(long, default_value = "40", value_parser = cli::jobs, allow_negative_numbers = true)]
    pub high_jobs: usize,
    /// Priority pool: arrivals after which a waiting job gains one level (1 to 1000000).
    #[arg(long, default_value = "3", value_parser = aging_step, allow_negative_numbers = true)]
    pub aging: u32,
    /// Seed for job lengths and for which waiting jobs are low priority.
    #[arg(long, default_value = "4")]
    pub seed: u64,
    #[command(flatten)]
    pub picture: svg::SvgFlag,
}

impl Args {
    /// The dynamic pool's limits, as the flags give them.
    pub fn limits(&self) -> Limits {
        Limits {
            min: self.min_workers,
            max: self.max_workers,
            idle: self.idle_ms,
        }
    }

    /// Both pools check their own configuration; a refusal is shown like a bad flag, and the
    /// program exits with code 2.
    pub fn check_pools(&self) {
        let checked = self.limits().check().and_then(|()| {
            Config {
                workers: 1,
                aging: Some(self.aging),
            }
            .check()
        });
        if let Err(err) = checked {
            eprintln!("error: {err} (see --help)");
            std::process::exit(2);
        }
    }
}

/// A worker count that may be 0: the floor of a pool that sleeps when idle.
fn at_most_max_workers(s: &str) -> Result<usize, String> {
    let n = s
        .trim()
        .parse::<usize>()
        .map_err(|_| "expected a whole number such as 1".to_string())?;
    if n > cli::MAX_WORKERS {
        return Err(format!("at most {} workers", cli::MAX_WORKERS));
    }
    Ok(n)
}

/// An aging step: 1 to 1000000 arrivals.
fn aging_step(s: &str) -> Result<u32, String> {
    match s.trim().parse::<u32>() {
        Ok(n @ 1..=1_000_000) => Ok(n),
        _ => Err("expected a whole number of arrivals from 1 to 1000000".into()),
    }
}
