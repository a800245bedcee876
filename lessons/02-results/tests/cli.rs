//! `cargo run -p lesson-2` as a learner sees it: the real binary, its output pinned by a snapshot.

use course_support::testing::{assert_hostile_flags, assert_rejected, normalize, stdout_of};

const BIN: &str = env!("CARGO_BIN_EXE_lesson-2");

#[test]
fn the_same_seed_gives_the_same_jobs_and_failures() {
    let args = [
        "--workers",
        "3",
        "--jobs",
        "15",
        "--seed",
        "42",
        "--work-ms",
        "5",
    ];
    let first = normalize(&stdout_of(BIN, &args));
    let second = normalize(&stdout_of(BIN, &args));
    assert_eq!(
        first, second,
        "a seeded run should replay exactly (once times are redacted)"
    );
    let other = normalize(&stdout_of(
        BIN,
        &[
            "--workers",
            "3",
            "--jobs",
            "15",
            "--seed",
            "43",
            "--work-ms",
            "5",
        ],
    ));
    assert_ne!(
        first, other,
        "a different seed should give different failures"
    );
}

#[test]
fn the_report_counts_add_up() {
    let output = stdout_of(
        BIN,
        &[
            "--workers",
            "2",
            "--jobs",
            "30",
            "--seed",
            "1",
            "--work-ms",
            "2",
            "--fail-percent",
            "30",
        ],
    );
    let rows = output.lines().filter(|l| l.starts_with("  job ")).count();
    let failed_rows = output
        .lines()
        .filter(|l| l.starts_with("  job ") && l.contains("FAILED"))
        .count();
    assert_eq!(rows, 30, "one row per job:\n{output}");
    assert!(
        output.contains(&format!(
            "30 jobs: {} ok, {failed_rows} failed.",
            30 - failed_rows
        )),
        "{output}"
    );
}

#[test]
fn bad_flags_get_a_one_line_error_and_exit_code_2() {
    for args in [
        &["--workers", "0"][..],
        &["--workers", "abc"],
        &["--jobs", "-1"],
        &["--seed", "x"],
        &["--fail-percent", "101"],
        &["--work-ms", "1.5"],
    ] {
        assert_rejected(BIN, args);
    }
}

#[test]
fn hostile_flags_are_refused_with_one_line() {
    assert_hostile_flags(BIN, &["--workers", "--jobs", "--work-ms", "--fail-percent"]);
}

course_support::book_tests! {
    fresh_run: the_books_run_prints_what_the_book_shows,
    bin: BIN,
    recording: "lesson-2",
    args: ["--workers", "4", "--jobs", "20", "--seed", "7"],
    snapshot: "workers_4_jobs_20_seed_7",
    normalize: normalize,
}
