//! How this run's figures compare with the course's targets.

use lesson_9::shapes::Shape;

/// How this run's figures compare with the course's targets: lesson 7's pool, given its jobs with
/// `submit_all`, should cost no more per job than the Go pool, and the batched and work-stealing pools should reach half of
/// rayon's throughput and ten times the Go pool's. Computed, not asserted: the chapter explains
/// the gaps.
pub fn targets(bars: &[(&str, f64)]) {
    let ns = |label: &str| bars.iter().find(|(l, _)| *l == label).map(|(_, ns)| *ns);
    let verdict = |met: bool| if met { "met" } else { "missed" };
    let (Some(go), Some(rayon)) = (ns(lesson_9::go::LABEL), ns(Shape::Rayon.label())) else {
        println!("  Targets: not checked, the Go row has no figures.");
        return;
    };
    println!("  Against the targets, in this run:");
    // The target is judged on `submit_all`; one `submit` per job is shown beside it, since it
    // is the same pool doing the same work with a hand-off per job.
    for (shape, judged) in [(Shape::AdvancedAll, true), (Shape::Advanced, false)] {
        if let Some(advanced) = ns(shape.label()) {
            let ratio = advanced / go;
            let verdict = if judged {
                verdict(ratio <= 1.0)
            } else {
                "for comparison"
            };
            println!(
                "    {:<31} costs {ratio:.2}× the Go pool per job (target at most 1×): {verdict}",
                shape.label(),
            );
        }
    }
    for shape in [Shape::Batched, Shape::Stealing] {
        if let Some(mine) = ns(shape.label()) {
            // Throughput is jobs per second, the inverse of the time per job.
            let (of_rayon, of_go) = (rayon / mine, go / mine);
            println!(
                "    {:<31} runs {of_rayon:.2}× rayon's jobs/s (target 0.5×) and {of_go:.1}× the Go pool's (target 10×): {}",
                shape.label(),
                verdict(of_rayon >= 0.5 && of_go >= 10.0)
            );
        }
    }
}
