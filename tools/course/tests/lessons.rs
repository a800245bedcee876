//! What every lesson's program must do, checked across all of them at once.

use std::path::Path;

/// Lesson 1's tests show the behaviour: piped into `head`, a lesson ends quietly with 141 once
/// the reader goes. It comes from one call at the top of `main`, made explicitly by each
/// lesson; this checks that no lesson's `main` forgot it or makes it after printing.
#[test]
fn every_lesson_asks_to_end_quietly_on_a_closed_pipe_before_anything_else() {
    let lessons = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../lessons");
    let mut checked = 0;
    for entry in std::fs::read_dir(&lessons).unwrap() {
        let main = entry.unwrap().path().join("src/main.rs");
        let Ok(text) = std::fs::read_to_string(&main) else {
            continue;
        };
        // The last `fn main()`: lessons with loom models also have a stub for the loom build.
        let body = text
            .rsplit_once("fn main()")
            .unwrap_or_else(|| panic!("{} has no fn main()", main.display()))
            .1;
        let call = body.find("quiet_on_closed_stdout();");
        let first_print = ["println!", "print!", "eprintln!", "cli::parse"]
            .iter()
            .filter_map(|p| body.find(p))
            .min();
        assert!(
            call.is_some() && call < first_print,
            "{}: main should call course_support::cli::quiet_on_closed_stdout() first, before it \
             parses flags or prints, or `cargo run -p … | head` ends it with a panic",
            main.display()
        );
        checked += 1;
    }
    assert!(
        checked >= 11,
        "only {checked} lessons found under {}",
        lessons.display()
    );
}
