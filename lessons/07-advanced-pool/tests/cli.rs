//! `cargo run -p lesson-7` as a learner sees it: the real binary, its output pinned by a snapshot.

use course_support::testing::{assert_hostile_flags, assert_rejected, normalize, stdout_of};

const BIN: &str = env!("CARGO_BIN_EXE_lesson-7");

#[test]
fn json_prints_one_object_whose_counts_add_up() {
    let output = stdout_of(BIN, &["--json"]);
    let line = output.trim();
    assert_eq!(
        output.lines().count(),
        1,
        "one line of JSON, nothing else:\n{output}"
    );
    assert!(line.starts_with('{') && line.ends_with('}'), "{line}");
    let number = |key: &str| -> u64 {
        let at = line
            .find(&format!("\"{key}\":"))
            .unwrap_or_else(|| panic!("no {key} in {line}"));
        line[at + key.len() + 3..]
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{key} is not a number in {line}"))
    };
    assert_eq!(
        number("submitted"),
        number("completed") + number("failed") + number("panicked") + number("cancelled")
    );
    assert_eq!(
        number("rejected_total"),
        ["full", "rate", "breaker", "closed", "timeout"]
            .iter()
            .map(|k| number(k))
            .sum::<u64>()
    );
}

#[test]
fn bad_flags_and_nonsense_configurations_get_a_one_line_error_and_exit_code_2() {
    for args in [
        &["--workers", "0"][..],
        &["--queue", "0"],
        &["--rate", "0"],
        &["--rate", "-3"],
        &["--rate", "fast"],
        &["--burst", "0"],
        &["--breaker-failures", "0"],
        &["--probes", "0"],
        &["--cooldown-ms", "0"],
        &["--seed", "-1"],
    ] {
        assert_rejected(BIN, args);
    }
}

#[test]
fn hostile_flags_are_refused_with_one_line() {
    // Valid one by one, but the outage scene's 5 gated jobs would never fit in 1 + 1 places.
    assert_rejected(BIN, &["--workers", "1", "--queue", "1"]);
    assert_rejected(BIN, &["--breaker-failures", "1000"]);
    assert_hostile_flags(
        BIN,
        &[
            "--workers",
            "--queue",
            "--rate",
            "--burst",
            "--breaker-failures",
            "--cooldown-ms",
            "--probes",
        ],
    );
}

course_support::book_tests! {
    fresh_run: the_default_run_prints_what_the_book_shows,
    bin: BIN,
    recording: "lesson-7",
    args: [],
    snapshot: "default_run",
    normalize: normalize,
}
