//! The scenes, in the order `main.rs` plays them: the dynamic pool meets a burst, is resized
//! while it runs, and shuts down; then the priority pool runs one workload without aging and
//! with it.

use crate::demo::args::Args;
use crate::demo::jobs::{HIGH, LOW, WAITING};
use crate::demo::picks::run_priority;
use crate::demo::show::{alive_chart, describe};
use crate::demo::stage::Stage;
use course_support::{plural, timeline, workload};
use std::time::Duration;

/// Says what the dynamic pool's limits are, before its first worker starts.
pub fn introduction(args: &Args) {
    let limits = args.limits();
    println!(
        "A dynamic pool: at least {}, at most {} workers; a worker above the minimum retires \
         after {} with nothing to do.",
        limits.min,
        limits.max,
        course_support::human(limits.idle)
    );
}

/// Scene 1: a burst, all of whose jobs wait at a gate until the last one is in.
pub fn burst(stage: &mut Stage, args: &Args) {
    let burst = args.jobs;
    println!("\n1. A burst: {burst} jobs arrive at once.");
    let (open, _) = stage.burst(burst);
    println!(
        "   Each job that found no free worker started one: {} alive (the maximum is {}).",
        stage.pool.alive(),
        stage.limits.max
    );
    drop(open);
    stage.settle(burst);
    println!(
        "   All {burst} ran. With nothing left to do, workers above the minimum retired: {} alive.",
        stage.pool.alive()
    );
}

/// Scene 2: resizing while the pool runs.
pub fn resize(stage: &mut Stage, args: &Args) {
    let limits = stage.limits;
    let second = args.jobs / 2;
    let small = limits.max.div_ceil(2);
    println!(
        "\n2. resize({}, {small}), then {second} jobs arrive.",
        limits.min.min(small)
    );
    stage
        .pool
        .resize(limits.min.min(small), small)
        .expect("at least 1, at most max");
    let (open, each_started) = stage.burst(second);
    println!("   The pool grew only to {} alive.", stage.pool.alive());
    let large = (limits.max + 2).min(lesson_8::MAX_WORKERS);
    stage
        .pool
        .resize(limits.min, large)
        .expect("within the limits");
    println!(
        "   resize({}, {large}) while jobs still wait: a worker starts at once for each, {} alive.",
        limits.min,
        stage.pool.alive()
    );
    // Wait until every worker holds a job, so the next resize finds them all mid-run.
    for _ in 0..second.min(stage.pool.alive()) {
        each_started
            .recv_timeout(Duration::from_secs(30))
            .expect("every worker takes a job within 30 s");
    }
    let medium = (limits.max - 1).max(limits.min).max(1);
    stage
        .pool
        .resize(limits.min, medium)
        .expect("within the limits");
    println!(
        "   resize({}, {medium}) while every worker is in the middle of a job: none is \
         interrupted; the surplus retire as their jobs end.",
        limits.min
    );
    drop(open);
    stage.settle(second);
    println!("   All {second} ran: {} alive.", stage.pool.alive());
}

/// Shuts the dynamic pool down and shows its report, the chart of workers alive, and the run.
pub fn closing_time(stage: Stage, args: &Args) {
    let report = stage.pool.shutdown();
    println!(
        "\nReport: {} jobs ran; {} started = {} retired idle + {} retired as surplus + {} \
         stopped at shutdown; {} joined.",
        report.ran,
        plural(report.started, "worker"),
        report.retired_idle,
        report.retired_surplus,
        report.started - report.retired_idle - report.retired_surplus,
        report.joined
    );
    let seen = stage.seen.lock().expect("the observer does not panic");
    println!("\nWorkers alive after each change (▲ a worker started, ▼ one retired):");
    print!("{}", alive_chart(&seen.alive));
    println!(
        "\nThe run, one row per worker thread (numbers are never reused, so a row is one thread's \
         life):"
    );
    print!(
        "{}",
        timeline::render(&seen.spans, report.started, timeline::Style::for_stdout())
    );
    let title = format!(
        "Lesson 8: a dynamic pool; {} worker threads over the run, each row one thread's life",
        report.started
    );
    args.picture
        .draw_workers(&seen.spans, report.started, &title);
}

/// Says what the priority workload is: who waits, at which priority, and who keeps arriving.
pub fn priority_introduction(args: &Args) {
    let lows = workload::pick(WAITING, args.seed, 50);
    let low_ids: Vec<String> = lows
        .iter()
        .enumerate()
        .filter(|(_, low)| **low)
        .map(|(i, _)| (i + 2).to_string())
        .collect();
    println!(
        "\nA priority pool with 1 worker, so the order of picks is exact. Job 1 holds the worker \
         while jobs 2 to {} arrive: {} low (priority {LOW}), the rest high (priority {HIGH}). \
         Then every time a job is picked, one more high job arrives, {} in all.",
        WAITING + 1,
        if low_ids.is_empty() {
            "none of them".to_string()
        } else {
            format!(
                "job{} {} {}",
                if low_ids.len() == 1 { "" } else { "s" },
                low_ids.join(", "),
                if low_ids.len() == 1 { "is" } else { "are" }
            )
        },
        args.high_jobs
    );
}

/// Scene 3: strict priority.
pub fn strict_priority(args: &Args) {
    println!("\n3. Strict priority: the heap always gives the highest first.");
    let order = run_priority(args, None);
    describe(&order, None);
}

/// Scene 4: the same workload with aging.
pub fn aging(args: &Args) {
    let step = args.aging;
    println!(
        "\n4. The same workload with aging: a waiting job gains a level every {step} arrivals."
    );
    let order = run_priority(args, Some(step));
    describe(&order, Some(step));
}
