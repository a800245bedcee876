//! The report shutdown returns, as the program shows it: lines and a picture for a person, or
//! one event with the counts in fields of their own for a log tool.

use course_support::timeline;
use lesson_6::{Report, TaskState};

/// `task 8` or `tasks 3, 8, 11`.
fn tasks(ids: Vec<u64>) -> String {
    let ids: Vec<String> = ids.iter().map(u64::to_string).collect();
    match ids.len() {
        1 => format!("task {}", ids[0]),
        _ => format!("tasks {}", ids.join(", ")),
    }
}

/// `Report: 16 accepted = 15 completed + 1 failed + 0 cancelled; 8 turned away with 503.`
fn report_line(report: &Report) -> String {
    format!(
        "Report: {} accepted = {} completed + {} failed + {} cancelled; {} turned away with 503.",
        report.accepted(),
        report.count(TaskState::Completed),
        report.count(TaskState::Failed),
        report.count(TaskState::Cancelled),
        report.metrics.rejected
    )
}

/// The report in the structured form: one event, its counts and ids in fields of their own,
/// and no picture in the terminal (`--svg` still draws one). An `ERROR` if a task was lost (a
/// worker panicked), a `WARN` if some were cancelled (exit code 130), else `INFO`.
pub fn log_report(report: &Report) {
    let message = report_line(report);
    let failed = report.ids(TaskState::Failed);
    let cancelled = report.ids(TaskState::Cancelled);
    // A level must be a constant in `tracing`'s macros, so the one event is written once here.
    macro_rules! report {
        ($level:expr) => {
            tracing::event!(
                // Under the program's name, like the lines `main` logs, not this file's.
                target: "lesson_6",
                $level,
                accepted = report.accepted(),
                completed = report.count(TaskState::Completed),
                failed = failed.len(),
                cancelled = cancelled.len(),
                rejected = report.metrics.rejected,
                lost = report.lost(),
                failed_ids = ?failed,
                cancelled_ids = ?cancelled,
                "{message}"
            )
        };
    }
    if report.lost() > 0 {
        report!(tracing::Level::ERROR);
    } else if !cancelled.is_empty() {
        report!(tracing::Level::WARN);
    } else {
        report!(tracing::Level::INFO);
    }
}

pub fn print_report(report: &Report, workers: usize) {
    println!("\n{}", report_line(report));
    if report.count(TaskState::Failed) > 0 {
        println!("Failed: {}", tasks(report.ids(TaskState::Failed)));
    }
    let (interrupted, never_started): (Vec<_>, Vec<_>) = report
        .tasks
        .iter()
        .filter(|t| t.state == TaskState::Cancelled)
        .partition(|t| t.started.is_some());
    if !interrupted.is_empty() {
        let ids = interrupted.iter().map(|t| t.id).collect();
        println!("Cancelled while running (interrupted): {}", tasks(ids));
    }
    if !never_started.is_empty() {
        let ids = never_started.iter().map(|t| t.id).collect();
        println!("Cancelled before they started: {}", tasks(ids));
    }
    if report.lost() > 0 {
        println!(
            "Lost: {} tasks never ended, because a worker panicked.",
            report.lost()
        );
    }
    println!(
        "\nThe run, one row per worker (each box is a task; failed or interrupted ones are \
         filled with !):"
    );
    print!(
        "{}",
        timeline::render(&report.spans(), workers, timeline::Style::for_stdout())
    );
}
