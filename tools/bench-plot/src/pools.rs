//! The figures of time per job: trivial jobs through every pool, the queue's hand-off against
//! its bound, and a thread per job against a pool.

use crate::format::{grouped, human_ns, markdown};
use crate::results::{Get, Svgs};
use lesson_9::groups::{
    CLOCK, CLOCK_NOW, MILLION, QUEUES, SPAWN, SPAWN_SHAPES, TRIVIAL, TRIVIAL_MILLION,
    TRIVIAL_SHAPES,
};
use lesson_9::shapes::Shape;
use lesson_9::svg::{self, Bar, per_second};
use lesson_9::{JOBS, SPAWN_JOBS, WORKERS};
use std::fmt::Write;

/// What the targets need from the trivial jobs: lesson 1's time per job, and every pool's.
pub struct Trivial {
    /// Lesson 1's pool, per job: what every other pool is compared with.
    pub lesson1: f64,
    /// Each pool of the group and its time per job, in the group's order.
    pub per_job: Vec<(Shape, f64)>,
}

/// Trivial jobs: a row per pool at both scales, the clock's cost, and `trivial-jobs.svg`.
pub fn trivial(get: Get, md: &mut String, svgs: &mut Svgs) -> Result<Trivial, String> {
    let lesson1 = get(TRIVIAL, Shape::Lesson1.id())? / JOBS as f64;
    let _ = writeln!(
        md,
        "**Trivial jobs** ({} jobs that each double a number, {WORKERS} workers; the pool \
         is started and shut down in every iteration), and the same pools at {} jobs per \
         iteration:\n",
        grouped(JOBS),
        grouped(MILLION)
    );
    let _ = writeln!(
        md,
        "| pool | per job | jobs per second | against lesson 1 | per job at {0} | jobs per \
         second at {0} |",
        grouped(MILLION)
    );
    let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|");
    let mut bars = Vec::new();
    let per_job =
        |shape: Shape| -> Result<f64, String> { Ok(get(TRIVIAL, shape.id())? / JOBS as f64) };
    let mut trivial = Vec::new();
    for shape in TRIVIAL_SHAPES {
        let ns = per_job(shape)?;
        let at_scale = get(TRIVIAL_MILLION, shape.id())? / MILLION as f64;
        trivial.push((shape, ns));
        let _ = writeln!(
            md,
            "| {} | {} | {} | {:.2}× | {} | {} |",
            markdown(shape.label()),
            human_ns(ns),
            per_second(ns),
            ns / lesson1,
            human_ns(at_scale),
            per_second(at_scale)
        );
        bars.push(Bar {
            label: shape.label().into(),
            value: ns,
        });
    }
    let clock = get(CLOCK, CLOCK_NOW)?;
    let _ = writeln!(
        md,
        "\nReading the clock (`Instant::now`) takes {} here. Lesson 1's pool reads it twice per \
         job and sends back a `Done` of {} bytes; the Go article's shape sends back a bare \
         `u64`.",
        human_ns(clock),
        std::mem::size_of::<lesson_1::Done>()
    );
    svgs.push((
        "trivial-jobs.svg",
        svg::bar_chart(
            &format!("Time per trivial job, {WORKERS} workers (shorter is better)"),
            "ns",
            &bars,
        ),
    ));
    Ok(Trivial {
        lesson1,
        per_job: trivial,
    })
}

/// The queue: hand-off against bound, and `queues.svg`. Returns what the bound alone costs per
/// job, which the targets quote.
pub fn queues(get: Get, md: &mut String, svgs: &mut Svgs) -> Result<f64, String> {
    let _ = writeln!(
        md,
        "\n**The queue: hand-off against bound** (the same {} jobs and {WORKERS} workers, no \
         results channel):\n",
        grouped(JOBS)
    );
    let _ = writeln!(
        md,
        "| workers share the queue through | unbounded | bounded to 64 |"
    );
    let _ = writeln!(md, "|---|---:|---:|");
    let mut bars = Vec::new();
    let mut matrix = Vec::new();
    for (name, unbounded, bounded) in [
        (
            "cloned crossbeam receivers",
            Shape::CrossbeamUnbounded,
            Shape::CrossbeamBounded,
        ),
        (
            "`Arc<Mutex<mpsc::Receiver>>`",
            Shape::MutexUnbounded,
            Shape::MutexBounded,
        ),
    ] {
        let u = get(QUEUES, unbounded.id())? / JOBS as f64;
        let b = get(QUEUES, bounded.id())? / JOBS as f64;
        let _ = writeln!(md, "| {name} | {} | {} |", human_ns(u), human_ns(b));
        matrix.push((u, b));
        for (shape, ns) in [(unbounded, u), (bounded, b)] {
            bars.push(Bar {
                label: shape.label().into(),
                value: ns,
            });
        }
    }
    let bound_cost = matrix[0].1 - matrix[0].0;
    let _ = writeln!(
        md,
        "\nWith crossbeam, the bound alone adds {} per job; with the queue unbounded, the mutex \
         alone adds {} per job; with both, the mutex pool pays {} more than crossbeam's \
         unbounded queue.",
        human_ns(bound_cost),
        human_ns(matrix[1].0 - matrix[0].0),
        human_ns(matrix[1].1 - matrix[0].0)
    );
    svgs.push((
        "queues.svg",
        svg::bar_chart("Time per job: hand-off and bound", "ns", &bars),
    ));

    Ok(bound_cost)
}

/// A thread per job against a pool, and `thread-per-job.svg`.
pub fn thread_per_job(get: Get, md: &mut String, svgs: &mut Svgs) -> Result<(), String> {
    let _ = writeln!(
        md,
        "\n**A thread per job against a pool** ({} trivial jobs):\n",
        grouped(SPAWN_JOBS)
    );
    let _ = writeln!(md, "| shape | per job | jobs per second |");
    let _ = writeln!(md, "|---|---:|---:|");
    let mut bars = Vec::new();
    for shape in SPAWN_SHAPES {
        let ns = get(SPAWN, shape.id())? / SPAWN_JOBS as f64;
        let _ = writeln!(
            md,
            "| {} | {} | {} |",
            markdown(shape.label()),
            human_ns(ns),
            per_second(ns)
        );
        bars.push(Bar {
            label: shape.label().into(),
            value: ns,
        });
    }
    svgs.push((
        "thread-per-job.svg",
        svg::bar_chart(&format!("Time per job, {SPAWN_JOBS} jobs"), "ns", &bars),
    ));

    Ok(())
}
