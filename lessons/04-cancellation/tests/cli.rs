//! `cargo run -p lesson-4` as a learner sees it: the real binary, its output pinned by a snapshot.

use course_support::testing::{
    assert_hostile_flags, assert_rejected, normalize, report_counts, stdout_of,
};

const BIN: &str = env!("CARGO_BIN_EXE_lesson-4");

#[test]
fn a_deadline_cancels_the_run_and_the_counts_still_add_up() {
    let output = stdout_of(BIN, &["--deadline-ms", "250", "--jobs", "30"]);
    let [jobs, done, failed, timed_out, cancelled] = report_counts(&output);
    assert_eq!(jobs, 30);
    assert_eq!(done + failed + timed_out + cancelled, 30, "{output}");
    assert!(
        cancelled > 0,
        "30 jobs of ~100 ms on 4 workers cannot finish in 250 ms:\n{output}"
    );
    assert!(output.contains("its deadline (250 ms) passed"), "{output}");
}

#[test]
fn cancel_on_error_stops_the_run_at_the_first_failure() {
    let output = stdout_of(
        BIN,
        &["--cancel-on-error", "--jobs", "40", "--fail-percent", "20"],
    );
    let [jobs, done, failed, timed_out, cancelled] = report_counts(&output);
    assert_eq!(done + failed + timed_out + cancelled, jobs, "{output}");
    assert!(output.contains("failed first."), "{output}");
    assert!(cancelled > 0, "{output}");
}

#[test]
fn bad_flags_get_a_one_line_error_and_exit_code_2() {
    for args in [
        &["--workers", "0"][..],
        &["--jobs", "abc"],
        &["--jobs", "-1"],
        &["--deadline-ms", "soon"],
        &["--job-timeout-ms", "-5"],
        &["--stuck-percent", "200"],
        // No limit at all would let a stuck job run for ever.
        &["--job-timeout-ms", "0"],
    ] {
        assert_rejected(BIN, args);
    }
}

#[test]
fn hostile_flags_are_refused_with_one_line() {
    assert_hostile_flags(
        BIN,
        &[
            "--workers",
            "--jobs",
            "--work-ms",
            "--job-timeout-ms",
            "--deadline-ms",
            "--fail-percent",
            "--stuck-percent",
        ],
    );
}

course_support::book_tests! {
    fresh_run: the_default_run_prints_what_the_book_shows,
    bin: BIN,
    recording: "lesson-4",
    args: [],
    snapshot: "default_run",
    normalize: normalize,
}
