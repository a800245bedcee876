//! `lesson-10 measure` through the real binary, on a few jobs: every row, the picture and a
//! verdict per target are there, and the counts of transactions add up. Speed is never asserted
//! here; the figures belong to the machine, and the book quotes them from a measured run.

mod shared;

use course_support::testing::{assert_rejected, run_bin};
use shared::table::{row, verdict};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_lesson-10");

/// Runs `measure` with `args`, which must succeed quietly, and returns its output.
fn measure(args: &[&str]) -> String {
    let mut all = vec!["measure"];
    all.extend_from_slice(args);
    let out = run_bin(BIN, &all, Duration::from_secs(180));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{all:?} failed ({}): {stderr}",
        out.status
    );
    assert!(stderr.is_empty(), "{all:?} wrote to stderr: {stderr}");
    String::from_utf8(out.stdout).expect("the output is UTF-8")
}

fn rows(batch: usize) -> Vec<String> {
    let mut rows: Vec<String> = vec![
        "bare transactions, one row each".into(),
        "enqueue, 1 job per transaction".into(),
        format!("enqueue, {batch} jobs per transaction"),
        "claim and complete, 1 job per turn".into(),
        format!("claim and complete, {batch} jobs per turn"),
    ];
    for p in ["1 process", "2 processes", "4 processes"] {
        rows.push(format!("end to end, {p}, unbatched"));
    }
    for p in ["1 process", "2 processes", "4 processes"] {
        rows.push(format!("end to end, {p}, batches of {batch}"));
    }
    rows
}

#[test]
fn measure_prints_every_row_the_picture_and_a_verdict_per_target() {
    let output = measure(&["--jobs", "50", "--rounds", "1"]);
    for label in rows(64) {
        let cells = row(&output, &label);
        assert_eq!(cells.len(), 6, "{label}: {cells:?}");
        assert_eq!(cells[1], "50", "{label}: every row has the same jobs");
        assert!(
            cells[5].parse::<f64>().is_ok(),
            "{label}: transactions per job is a number: {cells:?}"
        );
        assert!(
            output
                .lines()
                .any(|l| l.starts_with(&format!("  {label} ")) && l.contains('│')),
            "{label} has no bar in the picture:\n{output}"
        );
    }
    // The counts of transactions are exact where this process makes them: one per job, one
    // per batch, and the claim loops' last turn, which only completes.
    for (label, per_job) in [
        ("bare transactions, one row each", "1.000"),
        ("enqueue, 1 job per transaction", "1.000"),
        ("enqueue, 64 jobs per transaction", "0.020"),
        ("claim and complete, 1 job per turn", "1.020"),
        ("claim and complete, 64 jobs per turn", "0.040"),
    ] {
        assert_eq!(row(&output, label)[5], per_job, "{label}");
    }
    for target in [
        "unbatched end to end at least 0.5× the bare transaction rate: ",
        "batched end to end at least 20 000 jobs/s: ",
    ] {
        verdict(&output, target);
    }
}

#[test]
fn measure_runs_with_synchronous_normal_and_a_batch_of_two() {
    let output = measure(&[
        "--jobs",
        "20",
        "--batch",
        "2",
        "--rounds",
        "2",
        "--synchronous",
        "normal",
    ]);
    assert!(output.contains("synchronous=NORMAL"), "{output}");
    for label in rows(2) {
        assert_eq!(row(&output, &label)[1], "20", "{label}");
    }
    // 20 jobs, 2 to a turn: 10 turns that claim and one that only completes.
    assert_eq!(
        row(&output, "claim and complete, 2 jobs per turn")[5],
        "0.550"
    );
}

#[test]
fn measure_states_its_limits_and_refuses_bad_flags_with_one_line() {
    let help = run_bin(BIN, &["measure", "--help"], Duration::from_secs(10));
    let help = String::from_utf8_lossy(&help.stdout);
    for limits in ["(1 to 100000)", "(2 to 1024)", "(1 to 20)"] {
        assert!(help.contains(limits), "--help should say {limits}:\n{help}");
    }
    assert!(
        !help.contains("worker-db"),
        "the internal flags stay out of --help:\n{help}"
    );
    for args in [
        &["--jobs", "0"][..],
        &["--jobs", "100001"],
        &["--jobs", "-1"],
        &["--jobs", "many"],
        &["--batch", "1"],
        &["--batch", "1025"],
        &["--rounds", "0"],
        &["--rounds", "21"],
        &["--synchronous", "off"],
        &["--nonsense"],
    ] {
        let mut all = vec!["measure"];
        all.extend_from_slice(args);
        assert_rejected(BIN, &all);
    }
}
