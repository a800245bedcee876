//! `lesson-10` as learners and scripts use it: the demo, pinned by a snapshot, and the queue's
//! command line.

use course_support::testing::{assert_rejected, normalize, report_counts, stdout_of};
use std::path::Path;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_lesson-10");

mod shared;

use shared::{Queue, json_lines};

/// The queue in the file `db`.
fn queue(db: &Path) -> Queue {
    Queue::new(BIN, "--db", db.display())
}

#[test]
fn the_demo_adds_up_with_other_flags_too() {
    let output = stdout_of(
        BIN,
        &[
            "--workers",
            "3",
            "--threads",
            "1",
            "--jobs",
            "9",
            "--work-ms",
            "20",
            "--fail-percent",
            "50",
            "--max-attempts",
            "2",
            "--seed",
            "3",
        ],
    );
    let [enqueued, completed, discarded, lost] = report_counts::<4>(&output);
    assert_eq!(enqueued, 9, "{output}");
    assert_eq!(completed + discarded, 9, "{output}");
    assert_eq!(lost, 0, "{output}");
    assert!(
        discarded > 0,
        "half the attempts fail and 2 are allowed: some discarded\n{output}"
    );
    assert!(output.contains("every effect applied once"), "{output}");
}

#[test]
fn status_json_has_a_key_per_state_and_the_effects() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.db");
    queue(&db).ok("enqueue", &["--jobs", "3", "--work-ms", "0"]);
    let status = queue(&db).status_json();
    assert_eq!(status["available"], 3, "{status}");
    queue(&db).ok("worker", &["--exit-when-idle", "--poll-ms", "5"]);
    let status = queue(&db).status_json();
    assert_eq!(
        (
            status["completed"].as_u64(),
            status["effects_applied"].as_u64()
        ),
        (Some(3), Some(3)),
        "{status}"
    );
}

#[test]
fn enqueue_with_a_key_prefix_twice_adds_each_job_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.db");
    let first = queue(&db).ok(
        "enqueue",
        &["--jobs", "5", "--key-prefix", "nightly", "--batch", "2"],
    );
    assert!(first.contains("Enqueued 5 new jobs (0 were"), "{first}");
    let again = queue(&db).ok("enqueue", &["--jobs", "7", "--key-prefix", "nightly"]);
    assert!(again.contains("Enqueued 2 new jobs (5 were"), "{again}");
    assert_eq!(queue(&db).status_json()["available"], 7);
}

#[test]
fn retry_and_cancel_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.db");
    queue(&db).enqueue_failing(2, 1);
    queue(&db).ok("cancel", &["2"]);
    queue(&db).ok("worker", &["--exit-when-idle", "--poll-ms", "5"]);
    let status = queue(&db).status_json();
    assert_eq!(
        (status["discarded"].as_u64(), status["cancelled"].as_u64()),
        (Some(1), Some(1)),
        "{status}"
    );
    let line = queue(&db).ok("retry", &["1"]);
    assert!(
        line.contains("retried job 1: now available, 1 of 2 attempts used"),
        "{line}"
    );
    assert_eq!(queue(&db).status_json()["available"], 1);
    let err = queue(&db).refused("retry", &["99"]);
    assert!(err.contains("no job 99"), "{err}");
    let err = queue(&db).refused("cancel", &["2"]);
    assert!(
        err.contains("job 2 is cancelled; only waiting jobs"),
        "{err}"
    );
    assert_rejected(BIN, &["retry", "--db", "x.db", "0"]);
    assert_rejected(BIN, &["retry", "--db", "x.db", "one"]);
}

#[test]
fn a_bad_database_gets_one_line_naming_the_file_and_nothing_changes() {
    let dir = tempfile::tempdir().unwrap();
    let notes = dir.path().join("notes.txt");
    let text = "not a database at all\n".repeat(100);
    std::fs::write(&notes, &text).unwrap();
    for cmd in ["status", "worker", "enqueue"] {
        let err = queue(&notes).refused(cmd, &[]);
        assert!(
            err.contains("notes.txt") && err.contains("not a SQLite database"),
            "{err}"
        );
    }
    assert_eq!(std::fs::read_to_string(&notes).unwrap(), text);
    let nowhere = dir.path().join("missing/q.db");
    let err = queue(&nowhere).refused("enqueue", &[]);
    assert!(err.contains("cannot be written"), "{err}");
}

#[test]
fn bad_flags_get_one_line_and_exit_code_2() {
    for args in [
        &["--workers", "0"][..],
        &["--workers", "9"],
        &["--threads", "0"],
        &["--lease-ms", "99"],
        &["--jobs", "0"],
        &["--nonsense"],
        &["enqueue"],
        &["enqueue", "--db", "q.db", "--jobs", "-1"],
        &["enqueue", "--db", "q.db", "--max-attempts", "0"],
        &["enqueue", "--db", "q.db", "--batch", "0"],
        &["worker", "--db", "q.db", "--threads", "0"],
        &["worker", "--db", "q.db", "--lease-ms", "10"],
        &["worker", "--db", "q.db", "--synchronous", "off"],
        &["status", "--db", "q.db", "--json", "yes"],
        &["explode"],
    ] {
        assert_rejected(BIN, args);
    }
}

#[test]
fn hostile_flags_are_refused_with_one_line() {
    shared::hostile_flags_are_refused_with_one_line(BIN);
}

#[test]
fn sigterm_stops_claiming_finishes_running_jobs_and_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    shared::sigterm_stops_claiming_finishes_running_jobs_and_exits_cleanly(&queue(
        &dir.path().join("q.db"),
    ));
}

#[test]
fn the_json_form_carries_each_jobs_span_fields_on_its_lines() {
    let dir = tempfile::tempdir().unwrap();
    let queue = queue(&dir.path().join("q.db"));
    shared::the_json_form_carries_each_jobs_span_fields_on_its_lines(
        &queue,
        &["--log-format", "json"],
        &[],
    );
}

#[test]
fn course_log_asks_for_json_and_rust_log_filters_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.db");
    queue(&db).enqueue_failing(2, 1);
    let out = queue(&db).run(
        "worker",
        &["--exit-when-idle", "--poll-ms", "5"],
        &[("COURSE_LOG", "json"), ("RUST_LOG", "error")],
        Duration::from_secs(60),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = json_lines(&String::from_utf8(out.stdout).unwrap());
    // Only the two discards: every `took` line (info) and the counts (info) are filtered out.
    assert_eq!(lines.len(), 2, "{lines:#?}");
    for line in &lines {
        assert_eq!(line["level"], "ERROR", "{line}");
        assert!(
            line["message"].as_str().unwrap().ends_with("discarded"),
            "{line}"
        );
        assert_eq!(line["span"]["attempt"], 1, "{line}");
    }
    let jobs: Vec<&serde_json::Value> = lines.iter().map(|l| &l["span"]["job"]).collect();
    assert!(
        jobs.contains(&&1.into()) && jobs.contains(&&2.into()),
        "{lines:#?}"
    );
    // A filter it cannot read is refused, not ignored.
    let err = queue(&db).refused_with(
        "worker",
        &["--exit-when-idle"],
        &[("RUST_LOG", "lesson_10=loud")],
    );
    assert!(
        err.contains("RUST_LOG") && err.contains("lesson_10=loud"),
        "{err}"
    );
}

course_support::book_tests! {
    fresh_run: the_default_run_prints_what_the_book_shows,
    bin: BIN,
    recording: "lesson-10",
    args: [],
    snapshot: "default_run",
    normalize: normalize,
}
