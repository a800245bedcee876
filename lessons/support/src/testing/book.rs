//! The two tests every lesson's `tests/cli.rs` holds to keep its chapter true: the book's
//! recording is a real run of the program, and the `--help` the book shows is the program's.
//!
//! They are one macro, [`book_tests!`](crate::book_tests), so that each lesson states only what
//! differs (its binary, its recording's flags, its snapshot's name, how its output is made
//! stable) and the tests stay the same words in every lesson.

/// A real run of a lesson, recorded for the book by `cargo run -p course -- record` in
/// `book/src/runs/NAME.txt`: the command on the first line (`$ cargo run -p lesson-1 -- …`), then
/// everything the run printed, exactly as printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recording {
    /// The flags after `--` on the command line (none for a plain `cargo run -p lesson-N`).
    pub args: Vec<String>,
    /// What the run printed on stdout.
    pub output: String,
}

/// Reads the recording `book/src/runs/NAME.txt`. A lesson's test compares it, normalised, with
/// the very snapshot its fresh run is compared with, so a recording that no longer matches the
/// program fails `cargo test`.
///
/// # Panics
///
/// If the file is missing or its first line is not a `$ cargo run` command, with what to do.
pub fn recording(name: &str) -> Recording {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../book/src/runs")
        .join(format!("{name}.txt"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read the book's recording {}: {e}; `cargo run -p course -- record {name}` makes it",
            path.display()
        )
    });
    let (command, output) = text.split_once('\n').unwrap_or((&text, ""));
    let Some(command) = command.strip_prefix("$ cargo run") else {
        panic!(
            "{} must start with the `$ cargo run …` line it was recorded with",
            path.display()
        );
    };
    let args = command
        .split_once(" -- ")
        .map(|(_, flags)| flags.split_whitespace().map(String::from).collect())
        .unwrap_or_default();
    Recording {
        args,
        output: output.to_string(),
    }
}

/// The output of the book's recording `book/src/runs/NAME.txt`, after checking that it was made
/// with exactly the flags `args`: the ones the lesson's own snapshot test runs, so that both are
/// compared with one snapshot.
///
/// # Panics
///
/// If the recording is missing, or was made with other flags.
#[track_caller]
pub fn recorded_output(name: &str, args: &[&str]) -> String {
    let recorded = recording(name);
    assert_eq!(
        recorded.args, args,
        "the book's recording must run the command this file snapshots"
    );
    recorded.output
}

/// Writes a lesson's two book tests into the calling test file:
/// `the_books_recording_is_a_real_run_of_this_program` (the recording `book/src/runs/NAME.txt`,
/// made stable by `normalize`, matches the snapshot `snapshot` that the lesson's fresh run is
/// also compared with) and `the_help_the_book_shows_is_the_programs_help` (`BIN --help` matches
/// the snapshot `help` the chapter includes).
///
/// It is a macro, not a function, because insta finds a snapshot next to the file its macro is
/// written in: expanded in the lesson's `tests/cli.rs`, the tests keep reading that lesson's
/// `tests/snapshots/`. The calling crate needs `insta` as a dev-dependency, as every lesson has.
///
/// ```ignore
/// course_support::book_tests! {
///     fresh_run: the_books_run_prints_what_the_book_shows,
///     bin: BIN,
///     recording: "lesson-2",
///     args: ["--workers", "4", "--jobs", "20", "--seed", "7"],
///     snapshot: "workers_4_jobs_20_seed_7",
///     normalize: course_support::testing::normalize,
/// }
/// ```
///
/// With `fresh_run: NAME` first, it also writes the test `NAME`: a fresh run of the same command
/// (`BIN` with the recording's flags) matches the same snapshot, so the program, its snapshot and
/// the book's recording all agree.
#[macro_export]
macro_rules! book_tests {
    (
        $(fresh_run: $fresh:ident,)?
        bin: $bin:expr,
        recording: $name:literal,
        args: $args:tt,
        snapshot: $snapshot:literal,
        normalize: $normalize:expr $(,)?
    ) => {
        $(
            #[test]
            fn $fresh() {
                let output = $crate::testing::stdout_of($bin, &$args);
                let stable: fn(&str) -> String = $normalize;
                $crate::book_tests!(@snapshot $snapshot, stable(&output));
            }
        )?

        #[test]
        fn the_books_recording_is_a_real_run_of_this_program() {
            // `cargo run -p course -- record NAME` makes the recording; the book shows it as is.
            let output = $crate::testing::recorded_output($name, &$args);
            let stable: fn(&str) -> String = $normalize;
            $crate::book_tests!(@snapshot $snapshot, stable(&output));
        }

        #[test]
        fn the_help_the_book_shows_is_the_programs_help() {
            let help = $crate::testing::stdout_of($bin, &["--help"]);
            $crate::book_tests!(@snapshot "help", help);
        }
    };
    // The course's snapshot settings: no expression in the file, no module in its name.
    (@snapshot $snapshot:literal, $value:expr) => {
        ::insta::with_settings!({ omit_expression => true, prepend_module_to_snapshot => false }, {
            ::insta::assert_snapshot!($snapshot, $value);
        })
    };
}
