//! `lesson-10` as learners and scripts use it: the demo, pinned by a snapshot, and the queue's
//! command line.

use course_support::testing::{
    assert_hostile_flags, assert_rejected, normalize, report_counts, run_bin, stdout_of,
};
use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_lesson-10");

fn db_args(db: &Path) -> Vec<String> {
    vec!["--db".into(), db.display().to_string()]
}

/// Runs a queue command that must succeed and returns its stdout.
fn ok(cmd: &str, db: &Path, more: &[&str]) -> String {
    let mut args = vec![cmd.to_string()];
    args.extend(db_args(db));
    args.extend(more.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    stdout_of(BIN, &args)
}

/// Runs a queue command that must fail with a one-line error, and returns that line.
fn refused(cmd: &str, db: &Path, more: &[&str]) -> String {
    let mut args = vec![cmd.to_string()];
    args.extend(db_args(db));
    args.extend(more.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run_bin(BIN, &args, Duration::from_secs(20));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{args:?} should fail with 1: {stderr}"
    );
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

fn status_json(db: &Path) -> serde_json::Value {
    serde_json::from_str(&ok("status", db, &["--json"])).expect("status --json is JSON")
}

#[test]
fn the_default_run_prints_what_the_book_shows() {
    let output = stdout_of(BIN, &[]);
    insta::with_settings!({ omit_expression => true, prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("default_run", normalize(&output));
    });
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
    ok("enqueue", &db, &["--jobs", "3", "--work-ms", "0"]);
    let status = status_json(&db);
    for key in [
        "available",
        "scheduled",
        "running",
        "completed",
        "retryable",
        "discarded",
        "cancelled",
        "effects_applied",
    ] {
        assert!(status.get(key).is_some(), "no {key:?} in {status}");
    }
    assert_eq!(status["available"], 3, "{status}");
    ok("worker", &db, &["--exit-when-idle", "--poll-ms", "5"]);
    let status = status_json(&db);
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
    let first = ok(
        "enqueue",
        &db,
        &["--jobs", "5", "--key-prefix", "nightly", "--batch", "2"],
    );
    assert!(first.contains("Enqueued 5 new jobs (0 were"), "{first}");
    let again = ok("enqueue", &db, &["--jobs", "7", "--key-prefix", "nightly"]);
    assert!(again.contains("Enqueued 2 new jobs (5 were"), "{again}");
    assert_eq!(status_json(&db)["available"], 7);
}

#[test]
fn retry_and_cancel_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.db");
    ok(
        "enqueue",
        &db,
        &[
            "--jobs",
            "2",
            "--work-ms",
            "0",
            "--fail-percent",
            "100",
            "--max-attempts",
            "1",
        ],
    );
    ok("cancel", &db, &["2"]);
    ok("worker", &db, &["--exit-when-idle", "--poll-ms", "5"]);
    let status = status_json(&db);
    assert_eq!(
        (status["discarded"].as_u64(), status["cancelled"].as_u64()),
        (Some(1), Some(1)),
        "{status}"
    );
    let line = ok("retry", &db, &["1"]);
    assert!(
        line.contains("retried job 1: now available, 1 of 2 attempts used"),
        "{line}"
    );
    assert_eq!(status_json(&db)["available"], 1);
    let err = refused("retry", &db, &["99"]);
    assert!(err.contains("no job 99"), "{err}");
    let err = refused("cancel", &db, &["2"]);
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
        let err = refused(cmd, &notes, &[]);
        assert!(
            err.contains("notes.txt") && err.contains("not a SQLite database"),
            "{err}"
        );
    }
    assert_eq!(std::fs::read_to_string(&notes).unwrap(), text);
    let nowhere = dir.path().join("missing/q.db");
    let err = refused("enqueue", &nowhere, &[]);
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
    assert_hostile_flags(
        BIN,
        &[
            "--workers",
            "--threads",
            "--jobs",
            "--work-ms",
            "--lease-ms",
            "--fail-percent",
            "--max-attempts",
        ],
    );
}

#[test]
fn sigterm_stops_claiming_finishes_running_jobs_and_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.db");
    ok("enqueue", &db, &["--jobs", "6", "--work-ms", "300"]);
    let mut child = Command::new(BIN)
        .args(["worker", "--db"])
        .arg(&db)
        .args(["--threads", "2", "--claim-batch", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (tx, lines) = mpsc::channel();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut seen = Vec::new();
    while seen
        .iter()
        .filter(|l: &&String| l.contains(" took job "))
        .count()
        < 2
    {
        match lines.recv_timeout(Duration::from_secs(10)) {
            Ok(line) => seen.push(line),
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "the worker took no 2 jobs within 10 s; it printed:\n{}",
                    seen.join("\n")
                );
            }
        }
    }
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let status = course_support::testing::within(
        Duration::from_secs(10),
        "the worker after SIGTERM",
        "it should finish its 2 running jobs (300 ms each) and leave",
        move || child.wait().unwrap(),
    );
    seen.extend(lines.try_iter());
    let printed = seen.join("\n");
    assert!(status.success(), "exit {status}: {printed}");
    assert!(
        printed.contains("stopping: claims nothing more"),
        "{printed}"
    );
    let status = status_json(&db);
    assert_eq!(status["running"], 0, "nothing left running: {status}");
    assert_eq!(status["completed"], status["effects_applied"], "{status}");
    let took = printed.matches(" took job ").count() as u64;
    assert_eq!(
        status["completed"].as_u64(),
        Some(took),
        "every job it took finished: {printed}"
    );
    assert_eq!(
        status["available"].as_u64(),
        Some(6 - took),
        "the rest still waits: {status}"
    );
}

/// The JSON lines a worker printed, each parsed.
fn json_lines(stdout: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("every line should be JSON ({e}): {line}\n{stdout}"))
        })
        .collect()
}

#[test]
fn the_json_form_carries_each_jobs_span_fields_on_its_lines() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.db");
    // One job whose two attempts both fail: took, failed, took again, discarded.
    ok(
        "enqueue",
        &db,
        &[
            "--jobs",
            "1",
            "--work-ms",
            "0",
            "--fail-percent",
            "100",
            "--max-attempts",
            "2",
        ],
    );
    let worker = [
        "--exit-when-idle",
        "--poll-ms",
        "5",
        "--backoff-ms",
        "1",
        "--name",
        "w7",
        "--log-format",
        "json",
    ];
    let lines = json_lines(&ok("worker", &db, &worker));
    let messages: Vec<&str> = lines
        .iter()
        .map(|l| l["message"].as_str().unwrap())
        .collect();
    let expected = [
        "took job 1 (attempt 1 of 2)",
        "failed job 1 (attempt 1): injected failure on attempt 1; retry in ",
        "took job 1 (attempt 2 of 2)",
        "failed job 1 (attempt 2): injected failure on attempt 2; no attempts left: discarded",
        "leaving: claimed 2, completed 0, failed 2",
    ];
    assert_eq!(messages.len(), expected.len(), "{lines:#?}");
    for (message, start) in messages.iter().zip(expected) {
        assert!(
            message.starts_with(start),
            "{message:?} should start {start:?}"
        );
    }
    for (line, attempt) in lines[..4].iter().zip([1, 1, 2, 2]) {
        let span = &line["span"];
        assert_eq!(
            (
                &span["name"],
                &span["job"],
                &span["attempt"],
                &span["worker"]
            ),
            (&"job".into(), &1.into(), &attempt.into(), &"w7".into()),
            "the line should be in job 1's span for attempt {attempt}: {line}"
        );
        assert_eq!(line["spans"][0], *span, "{line}");
    }
    let levels: Vec<&str> = lines.iter().map(|l| l["level"].as_str().unwrap()).collect();
    assert_eq!(
        levels,
        ["INFO", "WARN", "INFO", "ERROR", "INFO"],
        "{lines:#?}"
    );
    // The last line, the worker's counts, is JSON too.
    let last = &lines[4];
    assert_eq!(
        (&last["worker"], &last["claimed"], &last["failed"]),
        (&"w7".into(), &2.into(), &2.into()),
        "{last}"
    );
}

#[test]
fn course_log_asks_for_json_and_rust_log_filters_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.db");
    ok(
        "enqueue",
        &db,
        &[
            "--jobs",
            "2",
            "--work-ms",
            "0",
            "--fail-percent",
            "100",
            "--max-attempts",
            "1",
        ],
    );
    let out = Command::new(BIN)
        .args(["worker", "--exit-when-idle", "--poll-ms", "5"])
        .args(db_args(&db))
        .env("COURSE_LOG", "json")
        .env("RUST_LOG", "error")
        .stderr(Stdio::piped())
        .output()
        .unwrap();
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
    let err = refused_with_env("RUST_LOG", "lesson_10=loud", &db);
    assert!(
        err.contains("RUST_LOG") && err.contains("lesson_10=loud"),
        "{err}"
    );
}

/// Runs a worker with one variable set, which must fail with a one-line error; that line.
fn refused_with_env(key: &str, value: &str, db: &Path) -> String {
    let out = Command::new(BIN)
        .args(["worker", "--exit-when-idle"])
        .args(db_args(db))
        .env(key, value)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    stderr
}

course_support::book_tests! {
    bin: BIN,
    recording: "lesson-10",
    args: [],
    snapshot: "default_run",
    normalize: normalize,
}
