//! One source for an exercise and its solution.
//!
//! Each solution file is the source. Where the student's file differs, the solution marks it up
//! with three comment lines, so the solution still compiles and reads as plain Rust:
//!
//! ```text
//!     // course: exercise
//!     // @todo("loop over the jobs and send each answer")
//!     // course: solution
//!     for n in jobs {
//!         results.send(square(n))?;
//!     }
//!     // course: end
//! ```
//!
//! The lines between `exercise` and `solution` are the student's, each commented out with `// `
//! (a bare `//`, or a blank line, is an empty line). The lines between `solution` and `end` are the answer. Either
//! part may be missing: `exercise` straight to `end` is text only the student sees, `solution`
//! straight to `end` is code only the solution has. In the student's part, `@todo` stands for the
//! `todo!` macro, so that no solution file holds one, even in a comment. [`exercise`] turns a marked-up file into the
//! student's file, and [`solution`] into the plain answer. `cargo run -p course -- gen` writes
//! every exercise from its solution, and `verify` fails when one differs.

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The prefix every marker line starts with, after its indentation.
const MARKER: &str = "// course:";

/// What the student's part writes for the `todo!` macro.
const TODO: &str = "@todo";

/// Which part of a marked-up file a line belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// Outside any markers: both files have it.
    Shared,
    /// Between `exercise` and `solution` (or `end`): only the student's file has it.
    Exercise,
    /// Between `solution` and `end`: only the solution has it.
    Solution,
}

/// A marked-up file that cannot be read, with the line (1-based) where it went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkupError {
    /// The line the problem is on.
    pub line: usize,
    /// What is wrong there.
    pub problem: String,
}

impl fmt::Display for MarkupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.problem)
    }
}

impl std::error::Error for MarkupError {}

/// Splits a marked-up file into its lines, each with its part; marker lines are left out.
/// Exercise lines come back with their `// ` removed.
fn parse(source: &str) -> Result<Vec<(Part, String)>, MarkupError> {
    let mut lines = Vec::new();
    let mut part = Part::Shared;
    let mut opened_at = 0;
    for (index, line) in source.split('\n').enumerate() {
        let number = index + 1;
        let indent = &line[..line.len() - line.trim_start().len()];
        let text = line.trim_start();
        let error = |problem: String| MarkupError {
            line: number,
            problem,
        };
        if let Some(directive) = text.strip_prefix(MARKER) {
            let before = part;
            part = match (part, directive.trim()) {
                (Part::Shared, "exercise") => Part::Exercise,
                (Part::Shared | Part::Exercise, "solution") => Part::Solution,
                (Part::Exercise | Part::Solution, "end") => Part::Shared,
                (Part::Shared, "end") => {
                    return Err(error("`end` with no section open".into()));
                }
                (_, "exercise" | "solution") => {
                    return Err(error(format!(
                        "`{}` inside the section opened on line {opened_at}; close it with `{MARKER} end` first",
                        text.trim_end()
                    )));
                }
                (_, other) => {
                    return Err(error(format!(
                        "unknown marker `{MARKER} {other}`: use exercise, solution or end"
                    )));
                }
            };
            if before == Part::Shared {
                opened_at = number;
            }
            continue;
        }
        match part {
            Part::Exercise => {
                let uncommented = if text == "//" || text.is_empty() {
                    Some(String::new())
                } else {
                    text.strip_prefix("// ")
                        .map(|rest| format!("{indent}{}", rest.replace(TODO, "todo!")))
                };
                match uncommented {
                    Some(student) => lines.push((Part::Exercise, student)),
                    None => {
                        return Err(error(
                            "a line of the exercise's part must be commented out with `// `".into(),
                        ));
                    }
                }
            }
            _ => lines.push((part, line.to_string())),
        }
    }
    if part != Part::Shared {
        return Err(MarkupError {
            line: opened_at,
            problem: "this section has no `// course: end`".into(),
        });
    }
    Ok(lines)
}

/// Keeps the lines of the shared part and of `wanted`, and joins them back into a file.
fn keep(source: &str, wanted: Part) -> Result<String, MarkupError> {
    let lines = parse(source)?;
    let kept: Vec<&str> = lines
        .iter()
        .filter(|(part, _)| *part == Part::Shared || *part == wanted)
        .map(|(_, line)| line.as_str())
        .collect();
    Ok(kept.join("\n"))
}

/// The student's file, generated from a marked-up solution file.
pub fn exercise(source: &str) -> Result<String, MarkupError> {
    keep(source, Part::Exercise)
}

/// The solution as plain Rust, with the markers and the student's part left out.
pub fn solution(source: &str) -> Result<String, MarkupError> {
    keep(source, Part::Solution)
}

/// One file an exercise should have, and what it should say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    /// Where the exercise's copy lives.
    pub path: PathBuf,
    /// What [`exercise`] makes of the solution's file.
    pub text: String,
}

/// Every source file of the exercise at `exercise_dir`, generated from the solution at
/// `solution_dir` (the `.rs` files under `src/`, at the same paths).
pub fn generate(solution_dir: &Path, exercise_dir: &Path) -> io::Result<Vec<Generated>> {
    let mut out = Vec::new();
    for relative in rust_files(&solution_dir.join("src"))? {
        let from = solution_dir.join("src").join(&relative);
        let text = fs::read_to_string(&from)?;
        let text = exercise(&text).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: {e}", from.display()),
            )
        })?;
        out.push(Generated {
            path: exercise_dir.join("src").join(relative),
            text,
        });
    }
    Ok(out)
}

/// How an exercise's files differ from what its solution generates: one line per difference,
/// empty when they agree.
pub fn drift(solution_dir: &Path, exercise_dir: &Path) -> io::Result<Vec<String>> {
    let generated = generate(solution_dir, exercise_dir)?;
    let mut problems = Vec::new();
    for file in &generated {
        match fs::read_to_string(&file.path) {
            Ok(text) if text == file.text => {}
            Ok(text) => problems.push(format!(
                "{} differs from what its solution generates (first at line {}); run `cargo run -p course -- gen`",
                file.path.display(),
                first_difference(&text, &file.text)
            )),
            Err(_) => problems.push(format!(
                "{} is missing; run `cargo run -p course -- gen`",
                file.path.display()
            )),
        }
    }
    for relative in rust_files(&exercise_dir.join("src"))? {
        let path = exercise_dir.join("src").join(&relative);
        if !generated.iter().any(|g| g.path == path) {
            problems.push(format!(
                "{} has no counterpart in the solution",
                path.display()
            ));
        }
    }
    Ok(problems)
}

/// The first line (1-based) where two texts differ.
fn first_difference(a: &str, b: &str) -> usize {
    let mut left = a.split('\n');
    let mut right = b.split('\n');
    let mut line = 1;
    loop {
        match (left.next(), right.next()) {
            (Some(x), Some(y)) if x == y => line += 1,
            _ => return line,
        }
    }
}

/// The `.rs` files under `dir`, as paths relative to it, sorted.
fn rust_files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(relative) = stack.pop() {
        for entry in fs::read_dir(dir.join(&relative))? {
            let entry = entry?;
            let path = relative.join(entry.file_name());
            if entry.file_type()?.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MARKED: &str = "\
use std::sync::Arc;
// course: solution
use std::sync::Mutex;
// course: end

fn f() -> u32 {
    // course: exercise
    // @todo(\"add\")
    //
    //     // nested indent
    // course: solution
    1 + 1
    // course: end
}
// course: exercise
// // a note for the student
// course: end
";

    #[test]
    fn the_exercise_keeps_the_students_lines_uncommented_at_their_indent() {
        assert_eq!(
            exercise(MARKED).unwrap(),
            "use std::sync::Arc;\n\nfn f() -> u32 {\n    todo!(\"add\")\n\n        // nested indent\n}\n// a note for the student\n"
        );
    }

    #[test]
    fn the_solution_drops_the_markers_and_the_students_lines() {
        assert_eq!(
            solution(MARKED).unwrap(),
            "use std::sync::Arc;\nuse std::sync::Mutex;\n\nfn f() -> u32 {\n    1 + 1\n}\n"
        );
    }

    #[test]
    fn a_file_without_markers_is_the_same_for_both() {
        let plain = "fn main() {}\n";
        assert_eq!(exercise(plain).unwrap(), plain);
        assert_eq!(solution(plain).unwrap(), plain);
    }

    #[test]
    fn broken_markup_names_the_line() {
        let unclosed = "a\n// course: exercise\n// b\n";
        assert_eq!(exercise(unclosed).unwrap_err().line, 2);
        let uncommented = "// course: exercise\nlet x = 1;\n// course: end\n";
        let err = exercise(uncommented).unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.problem.contains("commented out"), "{err}");
        let stray_end = "a\n    // course: end\n";
        assert_eq!(solution(stray_end).unwrap_err().line, 2);
        let unknown = "// course: answer\n";
        assert!(
            solution(unknown)
                .unwrap_err()
                .problem
                .contains("unknown marker")
        );
        let twice = "// course: solution\n// course: exercise\n// course: end\n";
        assert_eq!(solution(twice).unwrap_err().line, 2);
    }
}
