//! What the measurement prints: the table, the bars and a verdict per target.

use super::{Row, Spec};
use course_support::human;
use lesson_10::numbers::{grouped, noun, print_bars, verdict};

/// The lesson's targets on the course's 2-core machine: unbatched end to end at least this
/// share of the bare transaction rate, batched end to end at least this many jobs a second.
const UNBATCHED_SHARE: f64 = 0.5;
const BATCHED_RATE: f64 = 20_000.0;

const WHAT: usize = 42;

// ANCHOR: table
pub(super) fn table(rows: &[Row]) {
    let bare = rows[0].per_second();
    println!(
        "  | {:<WHAT$} | {:>6} | {:>8} | {:>9} | {:>7} | {:>6} |",
        "what", "count", "time", "per s", "vs bare", "tx/job"
    );
    println!(
        "  |{:-<w$}|{:-<8}|{:-<10}|{:-<11}|{:-<9}|{:-<8}|",
        "",
        "",
        "",
        "",
        "",
        "",
        w = WHAT + 2
    );
    for row in rows {
        println!(
            "  | {:<WHAT$} | {:>6} | {:>8} | {:>9} | {:>6.2}× | {:>6.3} |",
            row.spec.label(),
            row.count,
            human(row.middle.took),
            grouped(row.per_second()),
            row.per_second() / bare,
            row.middle.transactions as f64 / row.count as f64
        );
    }
    println!();
}
// ANCHOR_END: table

/// Jobs per second as bars on a doubling scale: each block is twice the rate of the block
/// before, so a few hundred and a few hundred thousand fit on one screen.
pub(super) fn picture(rows: &[Row]) {
    print_bars(
        "  Jobs per second, longer is faster; a bar starts at 1 a second and each █ doubles it:",
        WHAT,
        rows.iter().map(|row| (row.spec.label(), row.per_second())),
    );
}

// ANCHOR: targets
/// A line per target: met or MISSED, judged on the best of the end-to-end rows of its kind,
/// with every one of them shown.
pub(super) fn targets(rows: &[Row]) {
    let bare = rows[0].per_second();
    let end_to_end = |batched: bool| -> Vec<(usize, f64)> {
        rows.iter()
            .filter_map(|row| match row.spec {
                Spec::EndToEnd(p, b) if b.is_some() == batched => Some((p, row.per_second())),
                _ => None,
            })
            .collect()
    };
    let best = |list: &[(usize, f64)]| {
        list.iter().copied().fold(
            (0, 0.0),
            |best, (p, r)| if r > best.1 { (p, r) } else { best },
        )
    };
    println!("Targets (set for the course's 2-core machine), judged on this run:");
    let unbatched = end_to_end(false);
    let (p, rate) = best(&unbatched);
    let by: Vec<String> = unbatched
        .iter()
        .map(|(p, r)| format!("{p}: {:.2}×", r / bare))
        .collect();
    println!(
        "  unbatched end to end at least {UNBATCHED_SHARE}× the bare transaction rate: {} \
         (best {:.2}× with {p} {}; by processes {})",
        verdict(rate >= UNBATCHED_SHARE * bare),
        rate / bare,
        noun(p),
        by.join(", ")
    );
    let batched = end_to_end(true);
    let (p, rate) = best(&batched);
    let by: Vec<String> = batched
        .iter()
        .map(|(p, r)| format!("{p}: {}", grouped(*r)))
        .collect();
    println!(
        "  batched end to end at least {} jobs/s: {} (best {} with {p} {}; by processes {})",
        grouped(BATCHED_RATE),
        verdict(rate >= BATCHED_RATE),
        grouped(rate),
        noun(p),
        by.join(", ")
    );
}
// ANCHOR_END: targets
