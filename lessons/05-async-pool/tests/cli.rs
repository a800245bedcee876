//! `cargo run -p lesson-5` as a learner sees it: the real binary, its output pinned by a
//! snapshot, a deadline and a real Ctrl-C, and a small run of the threads-against-tasks table.

use course_support::testing::{
    assert_hostile_flags, assert_rejected, normalize, report_counts, run_bin,
};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_lesson-5");

fn run(args: &[&str]) -> (Option<i32>, String) {
    let out = run_bin(BIN, args, Duration::from_secs(30));
    let stdout = String::from_utf8(out.stdout).expect("the output is UTF-8");
    assert!(
        out.stderr.is_empty(),
        "lesson-5 {args:?} wrote to stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), stdout)
}

#[test]
fn the_default_run_prints_what_the_book_shows() {
    let (code, output) = run(&[]);
    assert_eq!(code, Some(0), "{output}");
    insta::with_settings!({ omit_expression => true, prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("default_run", normalize(&output));
    });
}

#[test]
fn which_jobs_time_out_is_decided_by_the_seed_not_by_the_scheduler() {
    // Hanging jobs never finish, and every other job takes at most 30 ms of its 400: a run on
    // a busy machine times out exactly the same jobs.
    let args = [
        "--jobs",
        "40",
        "--seed",
        "11",
        "--work-ms",
        "20",
        "--job-timeout-ms",
        "400",
    ];
    let first = normalize(&run(&args).1);
    let second = normalize(&run(&args).1);
    assert_eq!(first, second);
    let [submitted, done, failed, timed_out, cancelled] = report_counts(&first);
    assert_eq!(done + failed + timed_out + cancelled, submitted, "{first}");
    assert!(timed_out > 0, "seed 11 has hanging jobs:\n{first}");
}

#[test]
fn a_short_deadline_cancels_the_rest_and_the_counts_still_add_up() {
    let (code, output) = run(&["--jobs", "40", "--deadline-ms", "300"]);
    let [submitted, done, failed, timed_out, cancelled] = report_counts(&output);
    assert_eq!(done + failed + timed_out + cancelled, submitted, "{output}");
    assert!(
        cancelled > 0,
        "40 jobs of about 100 ms on 4 workers cannot finish in 300 ms:\n{output}"
    );
    assert!(
        output.contains("The deadline of 300 ms passed."),
        "{output}"
    );
    assert_eq!(code, Some(1), "work left undone exits 1:\n{output}");
}

#[test]
fn the_comparison_prints_a_row_per_shape() {
    let (code, output) = run(&[
        "--compare",
        "--compare-jobs",
        "1000",
        "--compare-width",
        "100",
    ]);
    assert_eq!(code, Some(0), "{output}");
    for row in [
        "100 threads",
        "100 worker tasks",
        "task per job, 100 permits",
    ] {
        let line = output
            .lines()
            .find(|l| l.trim_start().starts_with(row))
            .unwrap_or_else(|| panic!("no row for {row}:\n{output}"));
        assert!(
            line.contains(" ms") || line.contains(" s"),
            "the {row} row has no wall time:\n{output}"
        );
    }
}

#[test]
fn bad_flags_get_a_one_line_error_and_exit_code_2() {
    for args in [
        &["--workers", "0"][..],
        &["--workers", "abc"],
        &["--jobs", "-1"],
        &["--queue", "0"],
        &["--seed", "-3"],
        &["--hang-percent", "101"],
        &["--job-timeout-ms", "1.5"],
        &["--compare-width", "0"],
        &["--compare-one", "fibers"],
    ] {
        assert_rejected(BIN, args);
    }
}

#[cfg(unix)]
#[test]
fn ctrl_c_cancels_the_run_and_every_job_is_still_accounted_for() {
    use course_support::testing::Running;
    use std::process::Command;

    let mut run = Running::start(Command::new(BIN).args([
        "--jobs",
        "100000",
        "--hang-percent",
        "0",
        "--deadline-ms",
        "60000",
    ]));
    run.wait_for("finished job 3", Duration::from_secs(10));
    run.signal("INT");
    let (code, output) = run.finish(
        Duration::from_secs(20),
        "does the Ctrl-C listener cancel the pool's token?",
    );
    let [submitted, done, failed, timed_out, cancelled] = report_counts(&output);
    assert_eq!(
        done + failed + timed_out + cancelled,
        submitted,
        "every job is accounted for:\n{output}"
    );
    assert!(
        cancelled > 0,
        "the running and queued jobs are cancelled:\n{output}"
    );
    assert!(
        submitted < 100_000,
        "it kept submitting after Ctrl-C:\n{output}"
    );
    assert_eq!(code, Some(130), "a cancelled run exits 130:\n{output}");
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
            "--hang-percent",
            "--job-timeout-ms",
            "--deadline-ms",
            "--compare-jobs",
            "--compare-width",
        ],
    );
}

course_support::book_tests! {
    bin: BIN,
    recording: "lesson-5",
    args: [],
    snapshot: "default_run",
    normalize: normalize,
}
