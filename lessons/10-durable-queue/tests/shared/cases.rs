//! The command-line tests lesson 10 and lesson 11 both run, on a [`Queue`] of either.

use super::{Queue, json_lines};
use course_support::testing::Running;
use std::process::{Command, Stdio};
use std::time::Duration;

/// The demo's numeric flags, the same in both lessons, are refused when hostile.
pub fn hostile_flags_are_refused_with_one_line(bin: &str) {
    course_support::testing::assert_hostile_flags(
        bin,
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

/// A worker with two threads on six 300 ms jobs gets SIGTERM once it took two: it claims
/// nothing more, finishes both, and exits cleanly, and the queue shows just those two done.
pub fn sigterm_stops_claiming_finishes_running_jobs_and_exits_cleanly(queue: &Queue) {
    queue.ok("enqueue", &["--jobs", "6", "--work-ms", "300"]);
    let mut run = Running::start(
        queue
            .command("worker", &["--threads", "2", "--claim-batch", "1"])
            .stderr(Stdio::null()),
    );
    run.wait_until("took 2 jobs", Duration::from_secs(10), |seen| {
        seen.iter().filter(|l| l.contains(" took job ")).count() >= 2
    });
    run.signal("TERM");
    let (code, printed) = run.finish(
        Duration::from_secs(10),
        "it should finish its 2 running jobs (300 ms each) and leave",
    );
    assert_eq!(code, Some(0), "exit {code:?}: {printed}");
    assert!(
        printed.contains("stopping: claims nothing more"),
        "{printed}"
    );
    let status = queue.status_json();
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

/// A worker asked for JSON (by the flags `json_flags`, or the variables `json_env`) on one job
/// whose two attempts both fail: each line is a JSON object at its level, in the job's span with
/// the worker's name, the job's id and the attempt; the last line holds the worker's counts.
pub fn the_json_form_carries_each_jobs_span_fields_on_its_lines(
    queue: &Queue,
    json_flags: &[&str],
    json_env: &[(&str, &str)],
) {
    // One job whose two attempts both fail: took, failed, took again, discarded.
    queue.enqueue_failing(1, 2);
    let mut worker = vec![
        "--exit-when-idle",
        "--poll-ms",
        "5",
        "--backoff-ms",
        "1",
        "--name",
        "w7",
    ];
    worker.extend(json_flags);
    let out = queue.run("worker", &worker, json_env, Duration::from_secs(60));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = json_lines(&stdout);
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
