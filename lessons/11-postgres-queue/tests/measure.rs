//! `lesson-11 measure` through the real binary, on a few jobs and one round: every row, its bar
//! and a verdict per target are there, and the counts add up. Speed is never asserted here; the
//! figures belong to the machine, and the book quotes them from a measured run.

#[path = "../../10-durable-queue/tests/shared/table.rs"]
mod table;

use course_support::postgres;
use course_support::testing::{assert_rejected, run_bin};
use std::time::Duration;
use table::{row, verdict};

const BIN: &str = env!("CARGO_BIN_EXE_lesson-11");

/// Every row's label, pgbench's first.
fn labels() -> Vec<String> {
    let mut labels: Vec<String> = vec!["pgbench -N, 1 client".into()];
    for c in [2, 4, 8] {
        labels.push(format!("pgbench -N, {c} clients"));
    }
    for batch in ["unbatched", "batches of 10", "batches of 100"] {
        for p in ["1 process", "2 processes", "4 processes", "8 processes"] {
            labels.push(format!("end to end, {p}, {batch}"));
        }
    }
    labels
}

#[test]
fn measure_prints_every_row_its_bar_and_a_verdict_per_target() {
    let Some(server) = postgres::for_tests("lesson 11's measurement test") else {
        return;
    };
    let args = [
        "measure",
        "--jobs",
        "40",
        "--rounds",
        "1",
        "--pgbench-seconds",
        "1",
        "--database-url",
        server.url(),
    ];
    let out = run_bin(BIN, &args, Duration::from_secs(300));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "measure failed ({}): {stderr}",
        out.status
    );
    assert!(stderr.is_empty(), "measure wrote to stderr: {stderr}");
    let output = String::from_utf8(out.stdout).expect("the output is UTF-8");
    for label in labels() {
        let cells = row(&output, &label);
        assert_eq!(cells.len(), 7, "{label}: {cells:?}");
        let count: u64 = cells[1]
            .parse()
            .unwrap_or_else(|_| panic!("{label}: a count: {cells:?}"));
        if label.starts_with("end to end") {
            assert_eq!(count, 40, "{label}: every end-to-end row has the same jobs");
        } else {
            assert!(count > 0, "{label}: pgbench did some transactions");
        }
        if label.starts_with("pgbench") {
            assert_eq!(cells[4], "1.00×", "{label}: pgbench is its own yardstick");
        }
        assert!(
            cells[4].ends_with('×'),
            "{label}: a ratio to pgbench: {cells:?}"
        );
        for per_job in &cells[5..7] {
            assert!(
                per_job.parse::<f64>().is_ok(),
                "{label}: commits and fsyncs per job are numbers on PostgreSQL 15: {cells:?}"
            );
        }
        assert!(
            output
                .lines()
                .any(|l| l.starts_with(&format!("  {label} ")) && l.contains('│')),
            "{label} has no bar in the picture:\n{output}"
        );
    }
    for target in [
        "unbatched end to end at least 0.5× pgbench's transactions a second with as many \
         clients: ",
        "batched (batches of 100) end to end at least 10 000 jobs/s: ",
    ] {
        let line = verdict(&output, target);
        assert!(line.contains("best ") && line.contains("worst "), "{line}");
    }
    // Every client count is judged for the unbatched target.
    let unbatched = output
        .lines()
        .find(|l| l.contains("unbatched end to end at least"))
        .expect("checked above");
    for p in ["1: ", "2: ", "4: ", "8: "] {
        assert!(unbatched.contains(p), "{unbatched}");
    }
}

#[test]
fn measure_states_its_limits_and_refuses_bad_flags_with_one_line() {
    let help = run_bin(BIN, &["measure", "--help"], Duration::from_secs(10));
    let help = String::from_utf8_lossy(&help.stdout);
    for limits in ["(1 to 100000)", "(1 to 20)", "(1 to 60)"] {
        assert!(help.contains(limits), "--help should say {limits}:\n{help}");
    }
    for args in [
        &["--jobs", "0"][..],
        &["--jobs", "100001"],
        &["--jobs", "-1"],
        &["--jobs", "many"],
        &["--rounds", "0"],
        &["--rounds", "21"],
        &["--pgbench-seconds", "0"],
        &["--pgbench-seconds", "61"],
        &["--nonsense"],
    ] {
        let mut all = vec!["measure"];
        all.extend_from_slice(args);
        assert_rejected(BIN, &all);
    }
}

#[test]
fn without_postgresql_measure_says_what_to_install_on_one_line() {
    let out = std::process::Command::new(BIN)
        .arg("measure")
        .env("COURSE_POSTGRES_BIN", "/nonexistent/course-postgres-bin")
        .env_remove("DATABASE_URL")
        .output()
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: ") && stderr.contains("PostgreSQL"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "nothing measured, nothing printed");
}
