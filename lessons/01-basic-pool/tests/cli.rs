//! `cargo run -p lesson-1` as a learner sees it: the real binary, its output pinned by a snapshot.

use course_support::testing::{assert_hostile_flags, assert_rejected, normalize, stdout_of};

const BIN: &str = env!("CARGO_BIN_EXE_lesson-1");

#[test]
fn the_picture_has_a_row_per_worker_and_a_box_per_job() {
    let output = stdout_of(BIN, &["--workers", "4", "--jobs", "12", "--work-ms", "20"]);
    let rows: Vec<&str> = output
        .lines()
        .filter(|l| l.starts_with("worker ") && l.contains('│'))
        .collect();
    assert_eq!(rows.len(), 4, "one row per worker:\n{output}");
    let picture = rows.join("\n");
    for job in 1..=12 {
        assert_eq!(
            picture.matches(&format!("[{job}─")).count(),
            1,
            "job {job} should have exactly one box:\n{picture}"
        );
    }
    assert!(
        output.contains("Results, sorted by job: 1→2  2→4"),
        "{output}"
    );
    assert!(output.contains("12→24"), "{output}");
}

#[test]
fn bad_flags_get_a_one_line_error_and_exit_code_2() {
    for args in [
        &["--workers", "0"][..],
        &["--workers", "abc"],
        &["--jobs", "-1"],
        &["--jobs", "abc"],
        &["--work-ms", "-5"],
        &["--workers", "99999"],
        &["--no-such-flag"],
    ] {
        assert_rejected(BIN, args);
    }
}

#[test]
fn the_sweep_times_the_same_jobs_with_more_and_more_workers() {
    let output = stdout_of(BIN, &["--sweep", "--jobs", "6", "--work-ms", "5"]);
    let rows: Vec<&str> = output
        .lines()
        .filter(|l| {
            l.trim_start()
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit())
        })
        .collect();
    assert_eq!(rows.len(), 6, "one row per worker count:\n{output}");
    for (row, (workers, rounds)) in
        rows.iter()
            .zip([(1, 6), (2, 3), (3, 2), (4, 2), (6, 1), (12, 1)])
    {
        assert!(
            row.trim_start().starts_with(&format!("{workers} ")),
            "{row}"
        );
        assert!(
            row.contains(&format!("{rounds} × 5 ms = {} ms", rounds * 5)),
            "{row}"
        );
    }
    assert!(
        !output.contains("took job"),
        "the sweep runs quietly:\n{output}"
    );
}

#[test]
fn hostile_flags_are_refused_with_one_line() {
    assert_hostile_flags(BIN, &["--workers", "--jobs", "--work-ms"]);
}

#[test]
fn output_piped_into_a_reader_that_stops_early_ends_quietly() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    // Far more output than a pipe holds, so the lesson is still writing when the reader goes,
    // as with `cargo run -p lesson-1 -- --jobs 100000 | head -1`.
    let mut child = Command::new(BIN)
        .args(["--jobs", "100000", "--work-ms", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start lesson-1");
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .expect("read the first line");
    // The reader is dropped here: the pipe closes under the lesson.
    let output = course_support::testing::within(
        std::time::Duration::from_secs(30),
        "lesson-1 after its reader went away",
        "does a failed write keep it waiting?",
        move || child.wait_with_output().expect("wait for lesson-1"),
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!first.is_empty(), "lesson-1 printed nothing");
    assert!(
        !stderr.contains("panicked"),
        "a closed pipe should end the lesson quietly, not with a panic:\n{stderr}"
    );
    assert_eq!(
        output.status.code(),
        Some(141),
        "a closed pipe ends the lesson with 141, as SIGPIPE would: {stderr}"
    );
}

course_support::book_tests! {
    fresh_run: the_default_run_prints_what_the_book_shows,
    bin: BIN,
    recording: "lesson-1",
    args: [],
    snapshot: "default_run",
    normalize: normalize,
}
