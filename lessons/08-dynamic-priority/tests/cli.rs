//! `cargo run -p lesson-8` as a learner sees it: the real binary, its output pinned by a snapshot.

use course_support::testing::{assert_hostile_flags, assert_rejected, normalize, stdout_of};

const BIN: &str = env!("CARGO_BIN_EXE_lesson-8");

#[test]
fn the_worker_counts_follow_the_flags() {
    let output = stdout_of(
        BIN,
        &["--min-workers", "2", "--max-workers", "3", "--jobs", "6"],
    );
    assert!(
        output.contains("started one: 3 alive (the maximum is 3)"),
        "the burst should grow the pool to --max-workers:\n{output}"
    );
    assert!(
        output.contains("workers above the minimum retired: 2 alive"),
        "idle workers should retire down to --min-workers:\n{output}"
    );
}

#[test]
fn bad_flags_and_nonsense_limits_get_a_one_line_error_and_exit_code_2() {
    for args in [
        &["--max-workers", "0"][..],
        &["--max-workers", "5000"],
        &["--min-workers", "-1"],
        &["--min-workers", "2000"],
        &["--min-workers", "5", "--max-workers", "4"],
        &["--idle-ms", "0"],
        &["--idle-ms", "soon"],
        &["--jobs", "-3"],
        &["--aging", "0"],
        &["--aging", "2000000"],
        &["--seed", "-1"],
        &["--nonsense"],
    ] {
        assert_rejected(BIN, args);
    }
}

#[test]
fn hostile_flags_are_refused_with_one_line() {
    assert_hostile_flags(
        BIN,
        &[
            "--min-workers",
            "--max-workers",
            "--jobs",
            "--work-ms",
            "--idle-ms",
            "--high-jobs",
            "--aging",
        ],
    );
}

course_support::book_tests! {
    fresh_run: the_default_run_prints_what_the_book_shows,
    bin: BIN,
    recording: "lesson-8",
    args: [],
    snapshot: "default_run",
    normalize: normalize,
}
