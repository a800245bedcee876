//! The targets the chapter sets, each with what was measured and whether it was met.

use crate::format::{grouped, human_ns};
use crate::pools::Trivial;
use crate::sweeps::Sleep100;
use lesson_9::shapes::Shape;
use lesson_9::{SLEEP, SLEEP_JOBS};
use std::fmt::Write;

/// The targets table: the fastest pool against lesson 1, lesson 7's pool against lesson 1,
/// and the sleep sweep at 100 workers against its ideal. `bound_cost` is what a bound of 64
/// alone costs per job.
pub fn table(md: &mut String, trivial: &Trivial, bound_cost: f64, sleep: &Sleep100) {
    let lesson1 = trivial.lesson1;
    let trivial = &trivial.per_job;
    let fastest = trivial
        .iter()
        .filter(|(s, _)| matches!(s, Shape::Batched | Shape::Stealing))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .copied()
        .expect("both are in the list");
    let advanced = trivial
        .iter()
        .find(|(s, _)| *s == Shape::Advanced)
        .map(|(_, ns)| *ns)
        .expect("in the list");
    let advanced_roomy = trivial
        .iter()
        .find(|(s, _)| *s == Shape::AdvancedRoomy)
        .map(|(_, ns)| *ns)
        .expect("in the list");
    let Sleep100 {
        started: sleep_ns,
        ideal: sleep_ideal,
        over: sleep_over,
        running: sleep_running,
        over_running: sleep_over_running,
    } = *sleep;
    let verdict = |ok: bool| if ok { "met" } else { "**missed**" };
    let _ = writeln!(
        md,
        "\n**Targets** (the Go program itself is measured beside the pools by the quick table, \
         `cargo run --release -p lesson-9`, not by criterion):\n"
    );
    let _ = writeln!(md, "| target | measured | verdict |");
    let _ = writeln!(md, "|---|---|---|");
    let _ = writeln!(
        md,
        "| batched or work-stealing pool at least 7× faster per job than lesson 1's | {}: {} \
         per job, {:.1}× faster | {} |",
        fastest.0.label(),
        human_ns(fastest.1),
        lesson1 / fastest.1,
        verdict(lesson1 / fastest.1 >= 7.0)
    );
    let _ = writeln!(
        md,
        "| lesson 7's advanced pool at most 1.5× lesson 1's per job | with room for every job, \
         as lesson 1 has: {} per job, {:.2}×; with its default queue of 64: {} per job, {:.2}× \
         (the bound of 64 alone costs {} per job, above) | {} |",
        human_ns(advanced_roomy),
        advanced_roomy / lesson1,
        human_ns(advanced),
        advanced / lesson1,
        human_ns(bound_cost),
        verdict(advanced_roomy / lesson1 <= 1.5)
    );
    let _ = writeln!(
        md,
        "| {} jobs of {} ms on 100 workers within 3 % of the ideal {} | pool already running: {} \
         ({sleep_over_running:+.1} %); started in the run: {} ({sleep_over:+.1} %) | {} |",
        grouped(SLEEP_JOBS),
        SLEEP.as_millis(),
        human_ns(sleep_ideal),
        human_ns(sleep_running),
        human_ns(sleep_ns),
        verdict(sleep_over_running.abs() <= 3.0)
    );
}
