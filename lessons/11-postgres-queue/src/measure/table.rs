//! What the measurement prints: the table, the bars and a verdict per target.

use super::{Row, Spec};
use course_support::human;
use lesson_10::numbers::{grouped, noun, print_bars, verdict};

/// The lesson's targets on the course's 2-core machine: unbatched end to end at least this share
/// of pgbench's transactions a second with as many clients, batched end to end at least this
/// many jobs a second.
const UNBATCHED_SHARE: f64 = 0.5;
const BATCHED_RATE: f64 = 10_000.0;

/// The batch the batched target is judged on.
const TARGET_BATCH: usize = 100;

/// pgbench's rate with `clients` clients in this run.
fn pgbench_rate(rows: &[Row], clients: usize) -> f64 {
    rows.iter()
        .find(|r| r.spec == Spec::Pgbench(clients))
        .map_or(f64::NAN, |r| r.middle.per_second())
}

const WHAT: usize = 40;

// ANCHOR: table
pub(super) fn table(rows: &[Row]) {
    println!(
        "  | {:<WHAT$} | {:>6} | {:>7} | {:>8} | {:>10} | {:>9} | {:>8} |",
        "what", "count", "time", "per s", "vs pgbench", "commits/j", "fsyncs/j"
    );
    println!(
        "  |{:-<w$}|{:-<8}|{:-<9}|{:-<10}|{:-<12}|{:-<11}|{:-<10}|",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        w = WHAT + 2
    );
    let per_job = |x: Option<u64>, count: u64| match x {
        Some(x) => format!("{:.3}", x as f64 / count.max(1) as f64),
        None => "-".into(),
    };
    for row in rows {
        let m = &row.middle;
        println!(
            "  | {:<WHAT$} | {:>6} | {:>7} | {:>8} | {:>9.2}× | {:>9} | {:>8} |",
            row.spec.label(),
            m.count,
            human(m.took),
            grouped(m.per_second()),
            m.per_second() / pgbench_rate(rows, row.spec.clients()),
            per_job(m.commits, m.count),
            per_job(m.fsyncs, m.count),
        );
    }
    println!(
        "  (per job: per pgbench transaction in its rows. commits/j counts every transaction \
         the server\n  committed in the measured database, reads included; fsyncs/j counts the \
         server's log flushes.)\n"
    );
}
// ANCHOR_END: table

/// Jobs per second as bars on a doubling scale: each block is twice the rate of the block
/// before, so a few hundred and a few tens of thousands fit on one screen.
pub(super) fn picture(rows: &[Row]) {
    print_bars(
        "  Jobs (or pgbench transactions) per second, longer is faster; a bar starts at 1 a \
         second and each █ doubles it:",
        WHAT,
        rows.iter()
            .map(|row| (row.spec.label(), row.middle.per_second())),
    );
}

// ANCHOR: targets
/// A line per target: met or MISSED. The unbatched target is judged at every client count (met
/// only if met at each), the batched one on the best of its rows; every row is shown.
pub(super) fn targets(rows: &[Row]) {
    let end_to_end = |batch: usize| -> Vec<(usize, f64)> {
        rows.iter()
            .filter_map(|row| match row.spec {
                Spec::EndToEnd(p, b) if b == batch => Some((p, row.middle.per_second())),
                _ => None,
            })
            .collect()
    };
    let extreme = |list: &[(usize, f64)], best: bool| {
        list.iter()
            .copied()
            .reduce(|a, b| if (b.1 > a.1) == best { b } else { a })
            .unwrap_or((0, f64::NAN))
    };
    println!("Targets (set for the course's 2-core machine), judged on this run:");
    let shares: Vec<(usize, f64)> = end_to_end(1)
        .into_iter()
        .map(|(p, r)| (p, r / pgbench_rate(rows, p)))
        .collect();
    let met = shares.iter().filter(|(_, s)| *s >= UNBATCHED_SHARE).count();
    let (best_p, best) = extreme(&shares, true);
    let (worst_p, worst) = extreme(&shares, false);
    let by: Vec<String> = shares
        .iter()
        .map(|(p, s)| format!("{p}: {s:.2}× {}", verdict(*s >= UNBATCHED_SHARE)))
        .collect();
    println!(
        "  unbatched end to end at least {UNBATCHED_SHARE}× pgbench's transactions a second with \
         as many clients: {} (met at {met} of {} client counts; best {best:.2}× with {best_p} \
         {}, worst {worst:.2}× with {worst_p} {}; by processes {})",
        verdict(met == shares.len()),
        shares.len(),
        noun(best_p),
        noun(worst_p),
        by.join(", ")
    );
    let batched = end_to_end(TARGET_BATCH);
    let (best_p, best) = extreme(&batched, true);
    let (worst_p, worst) = extreme(&batched, false);
    let by: Vec<String> = batched
        .iter()
        .map(|(p, r)| format!("{p}: {}", grouped(*r)))
        .collect();
    println!(
        "  batched (batches of {TARGET_BATCH}) end to end at least {} jobs/s: {} (best {} with \
         {best_p} {}, worst {} with {worst_p} {}; by processes {})",
        grouped(BATCHED_RATE),
        verdict(best >= BATCHED_RATE),
        grouped(best),
        noun(best_p),
        grouped(worst),
        noun(worst_p),
        by.join(", ")
    );
}
// ANCHOR_END: targets
