//! The table's bars: as text on a doubling scale, and as an SVG bar chart with `--svg`.

use lesson_9::svg::{Bar, bar_chart};
use std::path::Path;

/// The pools' cost per job as an SVG bar chart, for the book; one line and exit code 1 when the
/// file cannot be written.
pub fn draw(file: &Path, bars: &[(&str, f64)], workers: usize, jobs: u64) {
    let bars: Vec<Bar> = bars
        .iter()
        .map(|(label, ns)| Bar {
            label: label.to_string(),
            value: *ns,
        })
        .collect();
    let title = format!(
        "Lesson 9: time per job, {jobs} trivial jobs on {workers} workers (shorter is faster)"
    );
    let chart = bar_chart(&title, "ns", &bars);
    if let Err(e) = std::fs::write(file, chart) {
        eprintln!("error: cannot write the picture to {}: {e}", file.display());
        std::process::exit(1);
    }
}

/// The pools' cost per job as bars on a doubling scale: each block is twice the time of the
/// block before, so 7 ns and 50 µs fit on one screen and equal ratios look equally long.
pub fn picture(bars: &[(&str, f64)]) {
    println!("  Time per job, shorter is faster; a bar starts at 1 ns and each █ doubles it:");
    for (label, ns) in bars {
        // log2 of the nanoseconds, in eighths of a block.
        let eighths = (ns.max(1.0).log2() * 8.0).round() as usize;
        let partial = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"][eighths % 8];
        let figure = if *ns < 1_000.0 {
            format!("{ns:.0} ns")
        } else {
            format!("{:.1} µs", ns / 1_000.0)
        };
        println!(
            "  {label:<35} │{}{partial} {figure}",
            "█".repeat(eighths / 8)
        );
    }
    println!();
}
