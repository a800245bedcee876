//! `cargo run -p lesson-3` as a learner sees it: the real binary, its output pinned by a
//! snapshot, and Ctrl-C sent to it for real.

use course_support::testing::{assert_hostile_flags, assert_rejected, normalize};

const BIN: &str = env!("CARGO_BIN_EXE_lesson-3");

#[test]
fn bad_flags_get_a_one_line_error_and_exit_code_2() {
    for args in [
        &["--workers", "0"][..],
        &["--workers", "abc"],
        &["--jobs", "-1"],
        &["--queue", "0"],
        &["--seed", "-3"],
    ] {
        assert_rejected(BIN, args);
    }
}

#[cfg(unix)]
mod ctrl_c {
    use super::BIN;
    use course_support::testing::{Running, report_counts};
    use std::process::Command;
    use std::time::Duration;

    /// The binary on a long run, read line by line.
    fn start(args: &[&str]) -> Running {
        Running::start(Command::new(BIN).args(args))
    }

    /// Why it would not exit after Ctrl-C.
    const STUCK: &str = "is the drain waiting on a queue that never closes?";

    const LONG_RUN: &[&str] = &[
        "--jobs",
        "100000",
        "--workers",
        "2",
        "--queue",
        "6",
        "--work-ms",
        "200",
        "--fail-percent",
        "0",
    ];

    #[test]
    fn one_ctrl_c_stops_accepting_drains_the_queue_and_exits_0() {
        let mut run = start(LONG_RUN);
        run.wait_for("took job 3", Duration::from_secs(10));
        run.signal("INT");
        run.wait_for("Ctrl-C: stopped taking jobs", Duration::from_secs(10));
        let (code, output) = run.finish(Duration::from_secs(20), STUCK);
        assert_eq!(code, Some(0), "a drained run exits 0:\n{output}");
        let [submitted, done, failed, cancelled] = report_counts(&output);
        assert_eq!(
            done + failed + cancelled,
            submitted,
            "every job is accounted for:\n{output}"
        );
        assert_eq!(cancelled, 0, "one Ctrl-C cancels nothing:\n{output}");
        assert!(
            submitted < 100_000,
            "it kept submitting after Ctrl-C:\n{output}"
        );
        let drained_line = output
            .lines()
            .find(|l| l.starts_with("Drained after Ctrl-C: "))
            .unwrap();
        assert!(
            !drained_line.contains(": 0 jobs"),
            "the queue was full, so something drained:\n{output}"
        );
    }

    #[test]
    fn a_second_ctrl_c_stops_now_and_reports_what_was_cancelled() {
        let mut run = start(LONG_RUN);
        run.wait_for("took job 3", Duration::from_secs(10));
        run.signal("INT");
        run.wait_for("Ctrl-C again to stop now", Duration::from_secs(10));
        run.signal("INT");
        run.wait_for("stopping now", Duration::from_secs(10));
        let (code, output) = run.finish(Duration::from_secs(20), STUCK);
        let [submitted, done, failed, cancelled] = report_counts(&output);
        assert_eq!(
            done + failed + cancelled,
            submitted,
            "every job is accounted for:\n{output}"
        );
        assert!(
            cancelled > 0,
            "six queued jobs take 600 ms to drain; some should be cancelled:\n{output}"
        );
        assert_eq!(code, Some(130), "cancelling jobs exits 130:\n{output}");
        assert!(
            output.contains("Cancelled (never started): jobs "),
            "{output}"
        );
    }

    #[test]
    fn after_everything_is_submitted_ctrl_c_twice_still_stops_now() {
        // Two workers and a queue of four take all six jobs at once, so the run is already
        // draining when Ctrl-C comes: the first press confirms the drain, the second stops now.
        let mut run = start(&[
            "--jobs",
            "6",
            "--workers",
            "2",
            "--queue",
            "4",
            "--work-ms",
            "1000",
            "--fail-percent",
            "0",
        ]);
        run.wait_for("took job 2", Duration::from_secs(10));
        run.signal("INT");
        run.wait_for("every job is already submitted", Duration::from_secs(10));
        run.signal("INT");
        run.wait_for("stopping now", Duration::from_secs(10));
        let (code, output) = run.finish(Duration::from_secs(20), STUCK);
        let [submitted, done, failed, cancelled] = report_counts(&output);
        assert_eq!(submitted, 6, "{output}");
        assert_eq!(
            done + failed + cancelled,
            6,
            "every job is accounted for:\n{output}"
        );
        assert!(
            cancelled > 0,
            "four jobs were queued behind two long ones:\n{output}"
        );
        assert_eq!(code, Some(130), "{output}");
    }
}

#[test]
fn hostile_flags_are_refused_with_one_line() {
    assert_hostile_flags(
        BIN,
        &[
            "--workers",
            "--queue",
            "--jobs",
            "--work-ms",
            "--fail-percent",
        ],
    );
}

course_support::book_tests! {
    fresh_run: the_default_run_prints_what_the_book_shows,
    bin: BIN,
    recording: "lesson-3",
    args: [],
    snapshot: "default_run",
    normalize: normalize,
}
