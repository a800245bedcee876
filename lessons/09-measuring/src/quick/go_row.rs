//! The Go original's row of the table, measured in the same run as the pools.

use crate::quick::child::parse;
use crate::quick::table::measuring;
use lesson_9::svg::per_second;

/// The Go original's row, measured in the same run: the same jobs, workers and rounds.
pub fn go_row(
    workers: usize,
    jobs: u64,
    rounds: usize,
    lesson1: Option<f64>,
    bars: &mut Vec<(&'static str, f64)>,
) {
    let label = lesson_9::go::LABEL;
    let spinner = measuring(label);
    let measured = lesson_9::go::measure(workers, jobs, rounds);
    spinner.finish_and_clear();
    let line = match measured {
        Ok(line) => line,
        Err(why) => {
            println!("  | {label:<35} | {why}");
            return;
        }
    };
    match parse(&line) {
        Ok((ns, peak_kib)) => {
            let ns = ns as f64 / jobs as f64;
            let base = lesson1.unwrap_or(ns);
            let peak = peak_kib.map_or("n/a".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0));
            println!(
                "  | {label:<35} | {:>9.0} | {:>9} | {:>10.2}× | {:>10} |",
                ns,
                per_second(ns),
                ns / base,
                peak
            );
            bars.push((label, ns));
        }
        Err(why) => println!("  | {label:<35} | {why}"),
    }
}
