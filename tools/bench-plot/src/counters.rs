//! The counters' figure: one shared, side by side, and padded.

use crate::format::{grouped, human_ns};
use crate::results::{Get, Svgs};
use lesson_9::groups::{SHARING, SHARING_CASES};
use lesson_9::svg::{self, Bar};
use lesson_9::{INCREMENTS, SHARING_THREADS};
use std::fmt::Write;

/// Counters shared, side by side and padded, and `false-sharing.svg`.
pub fn false_sharing(get: Get, md: &mut String, svgs: &mut Svgs) -> Result<(), String> {
    let _ = writeln!(
        md,
        "\n**Counters** ({SHARING_THREADS} threads, each adding 1 to a counter {} times):\n",
        grouped(INCREMENTS)
    );
    let _ = writeln!(md, "| counters | whole run | per increment |");
    let _ = writeln!(md, "|---|---:|---:|");
    let mut bars = Vec::new();
    for (_, id, label) in SHARING_CASES {
        let ns = get(SHARING, id)?;
        let each = ns / (SHARING_THREADS as u64 * INCREMENTS) as f64;
        let _ = writeln!(md, "| {label} | {} | {} |", human_ns(ns), human_ns(each));
        bars.push(Bar {
            label: label.into(),
            value: each,
        });
    }
    svgs.push((
        "false-sharing.svg",
        svg::bar_chart("Time per increment (shorter is better)", "ns", &bars),
    ));

    Ok(())
}
