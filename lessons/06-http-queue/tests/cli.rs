//! `cargo run -p lesson-6 -- --demo` as a learner sees it, pinned by a snapshot, and the flags
//! a learner can get wrong.

use course_support::testing::{assert_hostile_flags, assert_rejected, normalize, run_bin};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_lesson-6");

/// The demo listens on a free port, which differs from run to run.
fn hide_port(output: &str) -> String {
    let mut out = String::new();
    let mut rest = output;
    while let Some(i) = rest.find("127.0.0.1:") {
        let (before, after) = rest.split_at(i + "127.0.0.1:".len());
        out.push_str(before);
        let digits = after.chars().take_while(char::is_ascii_digit).count();
        out.push_str(if digits > 0 { "‹port›" } else { "" });
        rest = &after[digits..];
    }
    out.push_str(rest);
    out
}

/// The demo's output as the snapshot pins it: the port hidden, and the histograms' sums, which
/// add up measured durations, hidden too (their counts stay).
fn stable(output: &str) -> String {
    let sums_hidden: Vec<String> = hide_port(output)
        .lines()
        .map(|line| match line.split_once("_seconds_sum ") {
            Some((name, _)) => format!("{name}_seconds_sum ‹varies›"),
            None => line.to_string(),
        })
        .collect();
    normalize(&sums_hidden.join("\n"))
}

#[test]
fn the_demo_prints_what_the_book_shows() {
    let out = run_bin(BIN, &["--demo"], Duration::from_secs(60));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the demo failed: {stderr}");
    let output = String::from_utf8(out.stdout).unwrap();
    // The burst meets paused workers, so these are exact, not "about": 16 accepted, 8 turned away.
    assert!(
        output.contains(
            "Report: 16 accepted = 15 completed + 1 failed + 0 cancelled; 8 turned away with 503."
        ),
        "{output}"
    );
    for line in [
        "    taskqueue_tasks_accepted_total 16",
        "    taskqueue_tasks_rejected_total 8",
        "    taskqueue_task_run_seconds_count 16",
    ] {
        assert!(
            output.contains(&format!("\n{line}\n")),
            "{line:?} in\n{output}"
        );
    }
    insta::with_settings!({ omit_expression => true, prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("demo", stable(&output));
    });
}

#[test]
fn the_demo_picture_has_a_row_per_worker_and_a_box_per_accepted_task() {
    let out = run_bin(
        BIN,
        &["--demo", "--workers", "3", "--queue", "5", "--seed", "9"],
        Duration::from_secs(60),
    );
    assert!(out.status.success());
    let output = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<&str> = output
        .lines()
        .filter(|l| l.starts_with("worker "))
        .collect();
    assert_eq!(rows.len(), 3, "{output}");
    for id in 1..=5 {
        let boxes = rows
            .iter()
            .map(|r| r.matches(&format!("[{id}")).count())
            .sum::<usize>();
        assert_eq!(boxes, 1, "task {id} should have exactly one box:\n{output}");
    }
    assert!(
        output.contains("requests 6 to 13 → 503 Service Unavailable"),
        "{output}"
    );
}

#[test]
fn bad_flags_get_a_one_line_error_and_exit_code_2() {
    for args in [
        &["--workers", "0"][..],
        &["--workers", "abc"],
        &["--workers", "-1"],
        &["--queue", "0"],
        &["--queue", "many"],
        &["--addr", "nonsense"],
        &["--addr", "127.0.0.1"],
        &["--addr", "127.0.0.1:99999"],
        &["--seed", "-3"],
        &["--log-format", "xml"],
        &["--log-format"],
        &["--nonsense"],
    ] {
        assert_rejected(BIN, args);
    }
}

#[test]
fn an_address_in_use_is_a_one_line_error_not_a_panic() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = run_bin(BIN, &["--addr", &addr], Duration::from_secs(10));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("cannot listen on") && !stderr.contains("panicked"),
        "{stderr}"
    );
}

#[test]
fn hostile_flags_are_refused_with_one_line() {
    assert_hostile_flags(
        BIN,
        &[
            "--workers",
            "--queue",
            "--request-timeout-ms",
            "--max-connections",
        ],
    );
}

course_support::book_tests! {
    bin: BIN,
    recording: "lesson-6",
    args: ["--demo"],
    snapshot: "demo",
    normalize: stable,
}
