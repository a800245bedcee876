//! `cargo run -p lesson-9` as a learner sees it: the real binary, its output pinned by a
//! snapshot with every measured figure redacted.

use course_support::testing::{
    assert_hostile_flags, assert_rejected, normalize, recording, stdout_of,
};

const BIN: &str = env!("CARGO_BIN_EXE_lesson-9");

/// `normalize` redacts durations after `took`, but not the table's columns (nanoseconds, jobs
/// per second, ratios, MiB), which it has no rule for. So this keeps each table row's label
/// and replaces every other cell of a row whose first figure is a number with `‹n›`; header
/// rows (`ns/job`, …) stay as they are. The picture's bars become `‹varies›`.
///
/// The Go row is there only where `go` is installed: its figures, or its reason for having none,
/// become one fixed line, and its bar is left out.
fn redact_table(output: &str) -> String {
    output
        .lines()
        .filter(|line| !(line.trim_start().starts_with("Go:") && line.contains(" │")))
        .filter(|line| !(line.starts_with("    ") && line.contains("(target")))
        .map(|line| {
            // The targets are computed from the figures, and only when Go ran.
            if line.starts_with("  Against the targets") || line.starts_with("  Targets:") {
                return "  ‹targets, when the Go row has figures›".to_string();
            }
            if line.starts_with("  | Go:") {
                return "  | Go: the article's pool (goroutines) | ‹figures, or why there are none›"
                    .to_string();
            }
            // A bar of the picture: its length and figure are measured.
            if let Some((label, _bar)) = line.split_once(" │") {
                return format!("{label} │‹varies›");
            }
            let cells: Vec<&str> = line.split('|').collect();
            let figures = cells
                .get(2)
                .is_some_and(|c| c.trim().starts_with(|ch: char| ch.is_ascii_digit()));
            if !line.starts_with("  |") || cells.len() < 4 || !figures {
                return line.to_string();
            }
            let mut out = format!("  |{}|", cells[1]);
            for _ in &cells[2..cells.len() - 1] {
                out.push_str(" ‹n› |");
            }
            out
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_pool_gets_a_row_with_figures_not_an_error() {
    let output = stdout_of(BIN, &["--jobs", "200", "--rounds", "1"]);
    for shape in lesson_9::shapes::Shape::POOLS
        .into_iter()
        .chain(lesson_9::shapes::Shape::QUEUES)
    {
        let row = output
            .lines()
            .find(|l| l.starts_with(&format!("  | {:<35} |", shape.label())))
            .unwrap_or_else(|| panic!("no row for {}:\n{output}", shape.label()));
        let ns: f64 = row
            .split('|')
            .nth(2)
            .and_then(|c| c.trim().parse().ok())
            .unwrap_or_else(|| {
                panic!(
                    "the row for {} has no ns/job figure (did its child process fail?): {row}",
                    shape.label()
                )
            });
        assert!(ns > 0.0, "{row}");
    }
}

#[test]
fn the_sweep_times_every_worker_count() {
    let output = stdout_of(BIN, &["--sweep"]);
    for workers in lesson_9::CPU_WORKERS.iter().chain(&lesson_9::SLEEP_WORKERS) {
        let noun = if *workers == 1 { "worker " } else { "workers" };
        assert!(
            output.contains(&format!("{workers:>3} {noun} took ")),
            "no line for {workers} workers:\n{output}"
        );
    }
    // The sleep-bound lines name their ideal, which is planned, not measured.
    assert!(output.contains("(ideal 2 ms)"), "{output}");
}

#[test]
fn bad_flags_get_a_one_line_error_and_exit_code_2() {
    for args in [
        &["--workers", "0"][..],
        &["--workers", "5000"],
        &["--jobs", "0"],
        &["--jobs", "-1"],
        &["--jobs", "abc"],
        &["--jobs", "2000000"],
        &["--rounds", "0"],
        &["--rounds", "101"],
        &["--measure-one", "nonsense"],
        &["--nonsense"],
    ] {
        assert_rejected(BIN, args);
    }
}

#[test]
fn hostile_flags_are_refused_with_one_line() {
    assert_hostile_flags(BIN, &["--workers", "--jobs", "--rounds"]);
}

course_support::book_tests! {
    fresh_run: a_tiny_run_prints_the_table_the_book_shows,
    bin: BIN,
    recording: "lesson-9",
    args: ["--jobs", "300", "--rounds", "1", "--workers", "2"],
    snapshot: "tiny_run",
    normalize: |output| normalize(&redact_table(output)),
}

/// `redact_table`, and then what differs between a million jobs and a few hundred: the job count
/// in the heading, and the thread-per-job row, which is not run above 100 000 jobs.
/// The counters at the end count to a number that depends on the build, and every time is
/// measured.
fn scale_free(output: &str) -> String {
    let text = redact_table(output)
        .lines()
        .filter(|line| !line.starts_with("  a thread per job "))
        .map(|line| {
            if let Some((head, _count)) = line.split_once(" each adding 1 ") {
                return format!("{head} each adding 1 ‹n› times");
            }
            if let Some((_count, rest)) = line.split_once(" trivial jobs (") {
                return format!("‹jobs› trivial jobs ({rest}");
            }
            if line.starts_with("  | a thread per job") {
                return "  | a thread per job | ‹figures, or not run at this scale›".to_string();
            }
            line.to_string()
        })
        .collect::<Vec<_>>()
        .join("\n");
    normalize(&text)
}

#[test]
fn the_books_million_job_run_is_a_real_run_of_this_program() {
    // Recorded in a release build, where a million jobs take seconds; the same program with a
    // few hundred jobs must print the same table, figures aside.
    let recorded = recording("lesson-9-million");
    assert_eq!(recorded.args, ["--jobs", "1000000"]);
    assert!(
        recorded.output.contains("1000000 trivial jobs"),
        "{}",
        recorded.output
    );
    let fresh = stdout_of(BIN, &["--jobs", "300", "--rounds", "5"]);
    assert_eq!(scale_free(&recorded.output), scale_free(&fresh));
}
