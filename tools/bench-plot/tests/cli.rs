//! `cargo run --release -p bench-plot -- DIR` as the book's maintainers run it: the real binary,
//! on fake criterion results.

use course_support::testing::{assert_rejected, run_bin, stdout_of};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_bench-plot");

#[test]
fn writes_every_figure_from_criterion_results_and_refuses_when_there_are_none() {
    let dir = std::env::temp_dir().join(format!("bench-plot-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let criterion = dir.join("criterion");
    // Fake results: a median of 1 ms for every benchmark the plot reads.
    let median = r#"{"median":{"point_estimate":1000000.0}}"#;
    let mut benches: Vec<(String, String)> = Vec::new();
    for shape in lesson_9::groups::TRIVIAL_SHAPES {
        benches.push((lesson_9::groups::TRIVIAL.into(), shape.id().into()));
        benches.push((lesson_9::groups::TRIVIAL_MILLION.into(), shape.id().into()));
    }
    for shape in lesson_9::shapes::Shape::QUEUES {
        benches.push((lesson_9::groups::QUEUES.into(), shape.id().into()));
    }
    for shape in lesson_9::groups::SPAWN_SHAPES {
        benches.push((lesson_9::groups::SPAWN.into(), shape.id().into()));
    }
    for w in lesson_9::CPU_WORKERS {
        benches.push((lesson_9::groups::CPU.into(), w.to_string()));
    }
    for w in lesson_9::SLEEP_WORKERS {
        benches.push((lesson_9::groups::SLEEPY.into(), w.to_string()));
        benches.push((lesson_9::groups::SLEEPY_RUNNING.into(), w.to_string()));
    }
    for (_, id, _) in lesson_9::groups::SHARING_CASES {
        benches.push((lesson_9::groups::SHARING.into(), id.into()));
    }
    benches.push((
        lesson_9::groups::CLOCK.into(),
        lesson_9::groups::CLOCK_NOW.into(),
    ));
    let out = dir.join("out");
    let (c, o) = (criterion.to_str().unwrap(), out.to_str().unwrap());

    // Nothing there yet: a one-line error naming the missing file, not a panic.
    let refused = run_bin(BIN, &[o, "--criterion", c], Duration::from_secs(30));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success(),
        "plotting without results should fail"
    );
    assert!(stderr.contains("cargo bench -p lesson-9"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    for (group, bench) in &benches {
        let at = criterion.join(group).join(bench).join("new");
        std::fs::create_dir_all(&at).unwrap();
        std::fs::write(at.join("estimates.json"), median).unwrap();
    }
    let printed = stdout_of(BIN, &[o, "--criterion", c]);
    for name in [
        "trivial-jobs.svg",
        "queues.svg",
        "thread-per-job.svg",
        "cpu-sweep.svg",
        "sleep-sweep.svg",
        "false-sharing.svg",
        "results.md",
    ] {
        let text = std::fs::read_to_string(out.join(name)).unwrap_or_else(|e| {
            panic!("{name} was not written ({e}); the run printed:\n{printed}")
        });
        if name.ends_with(".svg") {
            assert!(
                text.starts_with("<svg") && text.trim_end().ends_with("</svg>"),
                "{name}"
            );
        }
    }
    let results = std::fs::read_to_string(out.join("results.md")).unwrap();
    // 1 ms for 10 000 jobs is 100 ns per job, the same for every pool.
    assert!(
        results.contains("| lesson 1 pool (crossbeam) | 100 ns | 10 M | 1.00× |"),
        "{results}"
    );
    // 1 ms against the ideal 100 ms for 100 sleepers: far off, so the target is missed.
    assert!(results.contains("**missed**"), "{results}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_flags_get_a_one_line_error_and_exit_code_2() {
    for args in [
        &[][..],
        &["--criterion", "somewhere"],
        &["out", "--nonsense"],
    ] {
        assert_rejected(BIN, args);
    }
}
