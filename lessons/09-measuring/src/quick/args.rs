//! The quick table's flags, and the sizes a debug build uses so the tests stay quick.

use clap::Parser;
use course_support::{cli, svg};
use lesson_9::shapes::Shape;

/// Lesson 9: measuring and tuning.
#[derive(Parser)]
#[command(version, about)]
pub struct Args {
    /// Worker threads in the per-job table (1 to 1024).
    #[arg(long, default_value = "4", value_parser = cli::workers, allow_negative_numbers = true)]
    pub workers: usize,
    /// Trivial jobs per round in the per-job table, one table per count, such as
    /// `--jobs 20000,1000000` (1 to 1000000 each; default 20000 and 1000000, or 500 in a debug
    /// build).
    #[arg(long, value_parser = some_jobs, value_delimiter = ',', action = clap::ArgAction::Set, allow_negative_numbers = true)]
    pub jobs: Vec<u64>,
    /// Rounds per pool; the table shows the middle one (1 to 100; default 5, or 1 in a debug
    /// build).
    #[arg(long, value_parser = rounds, allow_negative_numbers = true)]
    pub rounds: Option<usize>,
    /// Add workers and watch: time against worker count, CPU-bound and sleep-bound jobs.
    #[arg(long)]
    pub sweep: bool,
    /// Internal: run one shape in this process and print one line for the parent to read.
    #[arg(long, hide = true, value_parser = shape)]
    pub measure_one: Option<Shape>,
    /// The per-job table's bars (each pool's time per job) also drawn as an SVG image in FILE.
    #[command(flatten)]
    pub picture: svg::SvgFlag,
}

/// A job count from 1 to `cli::MAX_JOBS`: a table of "per job" figures needs at least one job.
fn some_jobs(s: &str) -> Result<u64, String> {
    match cli::jobs(s)? {
        0 => Err("at least 1 job, so there is something to divide by".into()),
        n => Ok(n as u64),
    }
}

/// A shape by its id, as `Shape::id` spells it.
fn shape(s: &str) -> Result<Shape, String> {
    Shape::POOLS
        .into_iter()
        .chain(Shape::QUEUES)
        .find(|shape| shape.id() == s)
        .ok_or_else(|| format!("no shape called {s}"))
}

/// A round count from 1 to 100.
fn rounds(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(0) => Err("at least 1 round".into()),
        Ok(n) if n > 100 => Err("at most 100 rounds".into()),
        Ok(n) => Ok(n),
        Err(_) => Err("expected a whole number such as 5".into()),
    }
}

/// Sizes: seconds in a release build, a blink in a debug build (the tests run that one).
pub const DEBUG: bool = cfg!(debug_assertions);

impl Args {
    /// The job counts of the tables, one table each: the flag's, else the build's default.
    pub fn scales(&self) -> Vec<u64> {
        if !self.jobs.is_empty() {
            self.jobs.clone()
        } else if DEBUG {
            vec![500]
        } else {
            vec![20_000, 1_000_000]
        }
    }

    /// Rounds per pool: the flag's, else the build's default.
    pub fn rounds(&self) -> usize {
        self.rounds.unwrap_or(if DEBUG { 1 } else { 5 })
    }
}
