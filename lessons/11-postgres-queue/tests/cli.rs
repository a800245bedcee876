//! `lesson-11` as learners and scripts use it: the demo, pinned by a snapshot, and the queue's
//! command line, the same as lesson 10's with `--database-url` in place of `--db`.

mod common;

use common::BIN;
use course_support::testing::{assert_hostile_flags, assert_rejected, normalize, report_counts};
use std::io::{BufRead as _, BufReader};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Runs the binary with `args` and `env`, colour off, killing it after `limit`.
fn run(args: &[&str], env: &[(&str, &str)], limit: Duration) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env("NO_COLOR", "1")
        .env_remove("DATABASE_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("start lesson-11");
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "lesson-11 {args:?} did not exit within {limit:?}; it printed:\n{}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().unwrap()
}

/// A queue command that must succeed on `url`; its stdout.
fn ok(cmd: &str, url: &str, more: &[&str]) -> String {
    let mut args = vec![cmd, "--database-url", url];
    args.extend(more);
    let out = run(&args, &[], Duration::from_secs(60));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{args:?} failed: {stderr}");
    String::from_utf8(out.stdout).unwrap()
}

/// A queue command that must fail with one line and exit code 1; the line.
fn refused(cmd: &str, url: &str, more: &[&str]) -> String {
    let mut args = vec![cmd, "--database-url", url];
    args.extend(more);
    let out = run(&args, &[], Duration::from_secs(30));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    assert!(
        stderr.starts_with("error: ") && !stderr.contains("panicked"),
        "{stderr}"
    );
    stderr
}

fn status_json(url: &str) -> serde_json::Value {
    serde_json::from_str(&ok("status", url, &["--json"])).expect("status --json is JSON")
}

/// Whether this machine can start a throwaway server for the demo; says so when it cannot.
fn can_start_a_server(what: &str) -> bool {
    if course_support::postgres::bin_dir().is_some() {
        return true;
    }
    // Goes through the same NOT RUN (or, in CI, failure) as every test here.
    course_support::postgres::for_tests(what).is_some()
}

#[test]
fn the_default_run_prints_what_the_book_shows() {
    if !can_start_a_server("lesson 11's demo snapshot") {
        return;
    }
    let out = run(&[], &[], Duration::from_secs(90));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the demo failed: {stderr}");
    assert!(stderr.is_empty(), "the demo wrote to stderr: {stderr}");
    let output = String::from_utf8(out.stdout).unwrap();
    insta::with_settings!({ omit_expression => true, prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("default_run", normalize(&output));
    });
}

#[test]
fn without_postgresql_or_a_url_the_demo_says_what_to_install_and_exits_2() {
    let out = run(
        &[],
        &[("COURSE_POSTGRES_BIN", "/nonexistent")],
        Duration::from_secs(20),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("apt install postgresql") && stderr.contains("--database-url"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn the_demo_on_a_given_server_adds_up_without_restarting_it() {
    let Some(server) = common::server() else {
        return;
    };
    let url = server.url();
    let out = run(
        &[
            "--database-url",
            url,
            "--workers",
            "3",
            "--threads",
            "1",
            "--jobs",
            "8",
            "--fail-percent",
            "50",
            "--max-attempts",
            "2",
            "--seed",
            "3",
        ],
        &[],
        Duration::from_secs(90),
    );
    let output = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}\n{output}",
        String::from_utf8_lossy(&out.stderr)
    );
    let [enqueued, completed, discarded, lost] = report_counts::<4>(&output);
    assert_eq!(
        (enqueued, completed + discarded, lost),
        (8, 8, 0),
        "{output}"
    );
    assert!(output.contains("does not restart it"), "{output}");
    assert!(
        output.contains("every effect applied once; 8 orders, 0 without a job"),
        "{output}"
    );
}

#[test]
fn the_command_line_mirrors_lesson_10() {
    let Some(url) = common::database("cli_commands") else {
        return;
    };
    let first = ok(
        "enqueue",
        &url,
        &[
            "--jobs",
            "5",
            "--key-prefix",
            "nightly",
            "--batch",
            "2",
            "--work-ms",
            "0",
        ],
    );
    assert!(first.contains("Enqueued 5 new jobs (0 were"), "{first}");
    let again = ok(
        "enqueue",
        &url,
        &["--jobs", "7", "--key-prefix", "nightly", "--work-ms", "0"],
    );
    assert!(again.contains("Enqueued 2 new jobs (5 were"), "{again}");
    let status = status_json(&url);
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
    assert_eq!(status["available"], 7, "{status}");
    // The last job's id, from the last `committed … (ids A..=B)` line. Not 7: in PostgreSQL an
    // insert that meets an existing key still uses up a number of the id sequence.
    let last = again
        .lines()
        .rev()
        .find_map(|l| l.split("..=").nth(1))
        .and_then(|b| b.trim_end_matches(')').parse::<i64>().ok())
        .expect("a committed line");
    assert!(last > 7, "ids after conflicts skip numbers: {again}");
    let last = last.to_string();
    ok("cancel", &url, &[&last]);
    ok("worker", &url, &["--exit-when-idle", "--name", "w1"]);
    let status = status_json(&url);
    assert_eq!(
        (
            status["completed"].as_u64(),
            status["effects_applied"].as_u64(),
            status["cancelled"].as_u64()
        ),
        (Some(6), Some(6), Some(1)),
        "{status}"
    );
    let line = ok("retry", &url, &[&last]);
    assert!(
        line.contains(&format!("retried job {last}: now available")),
        "{line}"
    );
    assert!(refused("retry", &url, &["99"]).contains("no job 99"));
    assert!(refused("cancel", &url, &["1"]).contains("job 1 is completed"));
}

#[test]
fn the_json_form_carries_each_jobs_span_fields_on_its_lines() {
    let Some(url) = common::database("json_log") else {
        return;
    };
    // One job whose two attempts both fail: took, failed, took again, discarded.
    ok(
        "enqueue",
        &url,
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
    // COURSE_LOG asks for JSON as --log-format json does.
    let out = run(
        &[
            "worker",
            "--database-url",
            &url,
            "--exit-when-idle",
            "--poll-ms",
            "5",
            "--backoff-ms",
            "1",
            "--name",
            "w7",
        ],
        &[("COURSE_LOG", "json")],
        Duration::from_secs(60),
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("every line should be JSON ({e}): {line}\n{stdout}"))
        })
        .collect();
    let expected = [
        ("INFO", 1, "took job 1 (attempt 1 of 2)"),
        (
            "WARN",
            1,
            "failed job 1 (attempt 1): injected failure on attempt 1; retry in ",
        ),
        ("INFO", 2, "took job 1 (attempt 2 of 2)"),
        (
            "ERROR",
            2,
            "failed job 1 (attempt 2): injected failure on attempt 2; no attempts left",
        ),
    ];
    assert_eq!(lines.len(), expected.len() + 1, "{lines:#?}");
    for (line, (level, attempt, start)) in lines.iter().zip(expected) {
        assert_eq!(line["level"], level, "{line}");
        assert!(
            line["message"].as_str().unwrap().starts_with(start),
            "{line} should start {start:?}"
        );
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
    }
    let last = &lines[expected.len()];
    assert_eq!(
        (&last["worker"], &last["claimed"], &last["failed"]),
        (&"w7".into(), &2.into(), &2.into()),
        "the last line holds the worker's counts: {last}"
    );
}

#[test]
fn an_unreachable_or_malformed_server_gets_one_line() {
    let err = refused("status", "postgresql://postgres@127.0.0.1:1/nowhere", &[]);
    assert!(
        err.contains("127.0.0.1:1/nowhere"),
        "names the server: {err}"
    );
    let err = refused("status", "postgresql://me:secret@127.0.0.1:1/nowhere", &[]);
    assert!(!err.contains("secret"), "never prints a password: {err}");
    let err = refused("enqueue", "not a url at all", &[]);
    assert!(err.contains("not a PostgreSQL URL"), "{err}");
}

#[test]
fn bad_flags_get_one_line_and_exit_code_2() {
    for args in [
        &["--workers", "0"][..],
        &["--workers", "9"],
        &["--threads", "0"],
        &["--lease-ms", "999"],
        &["--jobs", "0"],
        &["--nonsense"],
        &["enqueue", "--database-url", "x", "--jobs", "-1"],
        &["worker", "--database-url", "x", "--threads", "0"],
        &["worker", "--database-url", "x", "--lease-ms", "10"],
        &["worker", "--database-url", "x", "--rescue-ms", "0"],
        &["retry", "--database-url", "x", "0"],
        &["explode"],
    ] {
        assert_rejected(BIN, args);
    }
}

#[test]
fn a_command_without_a_server_url_gets_one_line_and_exit_code_2() {
    // `run` clears DATABASE_URL, which would otherwise stand in for --database-url.
    for cmd in ["enqueue", "worker", "status", "retry"] {
        let out = run(&[cmd], &[], Duration::from_secs(10));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{cmd}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{cmd}: {stderr}");
        assert!(stderr.contains("--database-url"), "{cmd}: {stderr}");
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
    let Some(url) = common::database("sigterm") else {
        return;
    };
    ok("enqueue", &url, &["--jobs", "6", "--work-ms", "300"]);
    let mut child = Command::new(BIN)
        .args([
            "worker",
            "--database-url",
            &url,
            "--threads",
            "2",
            "--claim-batch",
            "1",
        ])
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
    let mut seen: Vec<String> = Vec::new();
    while seen.iter().filter(|l| l.contains(" took job ")).count() < 2 {
        match lines.recv_timeout(Duration::from_secs(10)) {
            Ok(line) => seen.push(line),
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "the worker took no 2 jobs within 10 s:\n{}",
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
    let status = status_json(&url);
    let took = printed.matches(" took job ").count() as u64;
    assert_eq!(status["running"], 0, "{status}");
    assert_eq!(status["completed"].as_u64(), Some(took), "{printed}");
    assert_eq!(status["available"].as_u64(), Some(6 - took), "{status}");
}

course_support::book_tests! {
    bin: BIN,
    recording: "lesson-11",
    args: [],
    snapshot: "default_run",
    normalize: normalize,
}
