//! `cargo run --release -p bench-plot -- book/src/img/lesson-9`: reads the results of
//! `cargo bench -p lesson-9` and writes the book's plots (SVG) and `results.md`, a markdown
//! table of every figure, so nothing in lesson 9's chapter is typed by hand.
//!
//! `results.rs` writes the files in the chapter's order; `pools.rs`, `sweeps.rs`, `counters.rs`
//! and `targets.rs` each write one part of them; `criterion.rs` finds and reads the results;
//! `format.rs` writes a figure as the tables print it; `line_chart.rs` draws the sweeps. The
//! benchmarks' names, and the bar chart, are the lesson's own (`lesson_9::groups`,
//! `lesson_9::svg`).

mod counters;
mod criterion;
mod format;
mod line_chart;
mod pools;
mod results;
mod sweeps;
mod targets;

use clap::Parser;
use course_support::cli;
use std::path::PathBuf;
use std::process::ExitCode;

/// Writes lesson 9's plots and results table from criterion's results.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Where to write the plots and results table (the book's is book/src/img/lesson-9); run
    /// `cargo bench -p lesson-9` first.
    #[arg(value_name = "DIR")]
    dir: PathBuf,
    /// Where criterion's results are (default: $CRITERION_HOME, else
    /// $CARGO_TARGET_DIR/criterion, else target/criterion).
    #[arg(long, value_name = "DIR")]
    criterion: Option<PathBuf>,
}

fn main() -> ExitCode {
    cli::quiet_on_closed_stdout();
    let args: Args = cli::parse();
    let criterion = args
        .criterion
        .unwrap_or_else(criterion::default_criterion_dir);
    match results::write_all(&criterion, &args.dir) {
        Ok(files) => {
            for file in files {
                println!("wrote {}", file.display());
            }
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
