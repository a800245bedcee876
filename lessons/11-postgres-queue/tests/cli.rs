//! `lesson-11` as learners and scripts use it: the demo, pinned by a snapshot, and the queue's
//! command line, the same as lesson 10's with `--database-url` in place of `--db`.

mod common;

use common::BIN;
use course_support::testing::{assert_rejected, normalize, report_counts};
use std::process::Output;
use std::time::Duration;

use common::shared::{self, Queue};

/// The queue on the server at `url`.
fn queue(url: &str) -> Queue {
    Queue::new(BIN, "--database-url", url)
}

/// Runs the binary with `args` and `env`, colour off, killing it after `limit`.
fn run(args: &[&str], env: &[(&str, &str)], limit: Duration) -> Output {
    shared::run(BIN, args, env, limit)
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
    let first = queue(&url).ok(
        "enqueue",
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
    let again = queue(&url).ok(
        "enqueue",
        &["--jobs", "7", "--key-prefix", "nightly", "--work-ms", "0"],
    );
    assert!(again.contains("Enqueued 2 new jobs (5 were"), "{again}");
    let status = queue(&url).status_json();
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
    queue(&url).ok("cancel", &[&last]);
    queue(&url).ok("worker", &["--exit-when-idle", "--name", "w1"]);
    let status = queue(&url).status_json();
    assert_eq!(
        (
            status["completed"].as_u64(),
            status["effects_applied"].as_u64(),
            status["cancelled"].as_u64()
        ),
        (Some(6), Some(6), Some(1)),
        "{status}"
    );
    let line = queue(&url).ok("retry", &[&last]);
    assert!(
        line.contains(&format!("retried job {last}: now available")),
        "{line}"
    );
    assert!(queue(&url).refused("retry", &["99"]).contains("no job 99"));
    assert!(
        queue(&url)
            .refused("cancel", &["1"])
            .contains("job 1 is completed")
    );
}

#[test]
fn the_json_form_carries_each_jobs_span_fields_on_its_lines() {
    let Some(url) = common::database("json_log") else {
        return;
    };
    // COURSE_LOG asks for JSON as --log-format json does.
    shared::the_json_form_carries_each_jobs_span_fields_on_its_lines(
        &queue(&url),
        &[],
        &[("COURSE_LOG", "json")],
    );
}

#[test]
fn an_unreachable_or_malformed_server_gets_one_line() {
    let err = queue("postgresql://postgres@127.0.0.1:1/nowhere").refused("status", &[]);
    assert!(
        err.contains("127.0.0.1:1/nowhere"),
        "names the server: {err}"
    );
    let err = queue("postgresql://me:secret@127.0.0.1:1/nowhere").refused("status", &[]);
    assert!(!err.contains("secret"), "never prints a password: {err}");
    let err = queue("not a url at all").refused("enqueue", &[]);
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
    shared::hostile_flags_are_refused_with_one_line(BIN);
}

#[test]
fn sigterm_stops_claiming_finishes_running_jobs_and_exits_cleanly() {
    let Some(url) = common::database("sigterm") else {
        return;
    };
    shared::sigterm_stops_claiming_finishes_running_jobs_and_exits_cleanly(&queue(&url));
}

course_support::book_tests! {
    bin: BIN,
    recording: "lesson-11",
    args: [],
    snapshot: "default_run",
    normalize: normalize,
}
