//! `cargo run -p lesson-4` as a learner sees it: the real binary, its output pinned by a snapshot.

use course_support::testing::{assert_rejected, normalize, run_bin};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_lesson-4");

fn stdout_of(args: &[&str]) -> String {
    let out = run_bin(BIN, args, Duration::from_secs(30));
    assert!(
        out.status.success(),
        "lesson-4 {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("the output is UTF-8")
}

/// The four counts from `Report: N jobs = a done + b failed + c timed out + d cancelled.`
fn counts(output: &str) -> [usize; 5] {
    let line = output
        .lines()
        .find(|l| l.starts_with("Report: "))
        .unwrap_or_else(|| panic!("no report line in:\n{output}"));
    let numbers: Vec<usize> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse().ok())
        .collect();
    numbers
        .try_into()
        .unwrap_or_else(|_| panic!("odd report line: {line}"))
}

#[test]
fn the_default_run_prints_what_the_book_shows() {
    let output = stdout_of(&[]);
    insta::with_settings!({ omit_expression => true, prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("default_run", normalize(&output));
    });
}

#[test]
fn a_deadline_cancels_the_run_and_the_counts_still_add_up() {
    let output = stdout_of(&["--deadline-ms", "250", "--jobs", "30"]);
    let [jobs, done, failed, timed_out, cancelled] = counts(&output);
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
    let output = stdout_of(&["--cancel-on-error", "--jobs", "40", "--fail-percent", "20"]);
    let [jobs, done, failed, timed_out, cancelled] = counts(&output);
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
