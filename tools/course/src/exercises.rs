//! The exercise track: finding the exercises, checking where a student is, and proving that
//! every solution passes and every exercise, as shipped, compiles and fails.
//!
//! An exercise lives in `exercises/NN-name` (package `exNN-name`) with its tests in `tests/` and
//! its hints in `HINTS.md`; its solution lives in `solutions/NN-name` (package
//! `exNN-name-solution`) and runs the very same test file.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::markup;

/// One exercise, as found on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exercise {
    /// The folder name, such as `01-squares`: it sets the course order.
    pub dir: String,
    /// The package a student tests: `cargo test -p <package>`.
    pub package: String,
    /// The one-line description from its `Cargo.toml`.
    pub description: String,
    /// The exercise's folder.
    pub path: PathBuf,
    /// The solution's folder (`solutions/<dir>`).
    pub solution: PathBuf,
}

impl Exercise {
    /// The solution's package name.
    pub fn solution_package(&self) -> String {
        format!("{}-solution", self.package)
    }

    /// The hints, from `HINTS.md`.
    pub fn hints(&self) -> io::Result<String> {
        fs::read_to_string(self.path.join("HINTS.md"))
    }
}

/// Every exercise under `root/exercises`, in course order.
pub fn find(root: &Path) -> io::Result<Vec<Exercise>> {
    let mut found = Vec::new();
    for entry in fs::read_dir(root.join("exercises"))? {
        let path = entry?.path();
        let manifest = path.join("Cargo.toml");
        if !manifest.is_file() {
            continue;
        }
        let text = fs::read_to_string(&manifest)?;
        let field = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(key)?.trim().strip_prefix('=').map(str::trim))
                .map(|v| v.trim_matches('"').to_string())
        };
        let dir = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        found.push(Exercise {
            package: field("name").unwrap_or_else(|| dir.clone()),
            description: field("description").unwrap_or_default(),
            solution: root.join("solutions").join(&dir),
            dir,
            path,
        });
    }
    found.sort_by(|a, b| a.dir.cmp(&b.dir));
    Ok(found)
}

/// Where a student stands on one exercise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Untouched since it was shipped (and so failing).
    NotStarted,
    /// `cargo test` cannot build it: the compiler's message says why.
    DoesNotCompile,
    /// It builds, and some test fails (or it ran past the time limit).
    Failing,
    /// Every test passes.
    Passing,
}

impl State {
    /// How the saved progress file writes it.
    pub fn key(&self) -> &'static str {
        match self {
            State::NotStarted => "not-started",
            State::DoesNotCompile => "does-not-compile",
            State::Failing => "failing",
            State::Passing => "passing",
        }
    }

    /// The state a [`State::key`] names.
    pub fn parse(key: &str) -> Option<State> {
        [
            State::NotStarted,
            State::DoesNotCompile,
            State::Failing,
            State::Passing,
        ]
        .into_iter()
        .find(|s| s.key() == key)
    }

    /// How the progress list shows it.
    pub fn label(&self) -> &'static str {
        match self {
            State::NotStarted => "not started",
            State::DoesNotCompile => "does not compile",
            State::Failing => "failing",
            State::Passing => "passing",
        }
    }
}

/// What running `cargo` said.
#[derive(Debug)]
pub struct Run {
    /// Whether it exited 0.
    pub success: bool,
    /// Whether it was stopped for running too long.
    pub timed_out: bool,
    /// Everything it printed, stdout then stderr.
    pub output: String,
}

/// Runs `cargo <args>` in `root`, for at most `limit`.
pub fn cargo(root: &Path, args: &[&str], limit: Duration) -> io::Result<Run> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out_dir = std::env::temp_dir();
    let stamp = format!(
        "course-{}-{}",
        std::process::id(),
        args.join("-").replace('/', "_")
    );
    let (out_path, err_path) = (
        out_dir.join(format!("{stamp}.out")),
        out_dir.join(format!("{stamp}.err")),
    );
    let mut child = Command::new(cargo)
        .args(args)
        .current_dir(root)
        .env("CARGO_TERM_COLOR", "never")
        // The test messages are the teaching; a backtrace under each would bury them.
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        // Files, not pipes: a chatty test cannot fill a pipe and stall while we wait.
        .stdout(fs::File::create(&out_path)?)
        .stderr(fs::File::create(&err_path)?)
        .spawn()?;
    let deadline = Instant::now() + limit;
    let (success, timed_out) = loop {
        if let Some(status) = child.try_wait()? {
            break (status.success(), false);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break (false, true);
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut output = fs::read_to_string(&out_path).unwrap_or_default();
    output.push_str(&fs::read_to_string(&err_path).unwrap_or_default());
    let _ = fs::remove_file(out_path);
    let _ = fs::remove_file(err_path);
    Ok(Run {
        success,
        timed_out,
        output,
    })
}

/// How long one exercise's tests may run before they count as failing. Each test bounds its own
/// waits well below this, so only a test run that is stuck outside a test gets here.
pub const TEST_LIMIT: Duration = Duration::from_secs(120);

/// Checks one exercise: builds its tests, runs them, and compares its source with what shipped.
pub fn check(root: &Path, exercise: &Exercise) -> io::Result<(State, Run)> {
    let build = cargo(
        root,
        &["test", "-q", "-p", &exercise.package, "--no-run"],
        TEST_LIMIT,
    )?;
    if !build.success {
        return Ok((State::DoesNotCompile, build));
    }
    let run = cargo(root, &["test", "-q", "-p", &exercise.package], TEST_LIMIT)?;
    let state = if run.success {
        State::Passing
    } else if unchanged(exercise) {
        State::NotStarted
    } else {
        State::Failing
    };
    Ok((state, run))
}

/// Whether the exercise's `src` is as shipped: exactly what its solution generates.
fn unchanged(exercise: &Exercise) -> bool {
    markup::drift(&exercise.solution, &exercise.path).is_ok_and(|d| d.is_empty())
}

/// Puts the exercise's source files back as shipped (generated from its solution), and returns
/// the files it wrote. Tests, hints and anything else in the folder are left alone.
pub fn reset(exercise: &Exercise) -> io::Result<Vec<PathBuf>> {
    let generated = markup::generate(&exercise.solution, &exercise.path)?;
    for file in &generated {
        if let Some(dir) = file.path.parent() {
            fs::create_dir_all(dir)?;
        }
        fs::write(&file.path, &file.text)?;
    }
    Ok(generated.into_iter().map(|g| g.path).collect())
}

/// The solution's source files as plain Rust (markers and the student's part left out), with
/// their paths.
pub fn solution_files(exercise: &Exercise) -> io::Result<Vec<(PathBuf, String)>> {
    let src = exercise.solution.join("src");
    let mut out = Vec::new();
    for (path, text) in rust_sources(&src)? {
        let plain = markup::solution(&text).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: {e}", path.display()),
            )
        })?;
        out.push((path, plain));
    }
    Ok(out)
}

/// One broken promise found by [`verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The exercise it concerns.
    pub exercise: String,
    /// What is wrong.
    pub problem: String,
}

/// The proof CI runs: every solution passes its tests, every exercise as shipped compiles and
/// fails them, every exercise has hints and a solution that runs the same test files, and no
/// solution contains `todo!()`. Calls `progress` before each exercise.
pub fn verify(root: &Path, mut progress: impl FnMut(&Exercise)) -> io::Result<Vec<Finding>> {
    let mut findings = Vec::new();
    let exercises = find(root)?;
    if exercises.is_empty() {
        findings.push(Finding {
            exercise: "(none)".into(),
            problem: "no exercises found under exercises/".into(),
        });
    }
    for ex in &exercises {
        progress(ex);
        let mut problem = |text: String| {
            findings.push(Finding {
                exercise: ex.package.clone(),
                problem: text,
            })
        };
        if ex.hints().map_or(true, |h| h.trim().is_empty()) {
            problem("has no HINTS.md (or it is empty)".into());
        }
        let solution_manifest =
            fs::read_to_string(ex.solution.join("Cargo.toml")).unwrap_or_default();
        if solution_manifest.is_empty() {
            problem(format!("has no solution in {}", ex.solution.display()));
            continue;
        }
        for test in test_files(&ex.path)? {
            let shared = format!("../../exercises/{}/tests/{test}", ex.dir);
            if !solution_manifest.contains(&shared) {
                problem(format!(
                    "its solution does not run the same test file ({shared})"
                ));
            }
        }
        if let Err(e) = solution_files(ex) {
            problem(format!("its solution's markup is broken: {e}"));
        }
        // The marked-up file itself, the student's part included: that part writes `@todo`.
        if rust_sources(&ex.solution.join("src"))?
            .iter()
            .any(|(_, text)| text.contains("todo!"))
        {
            problem("its solution contains todo! (write @todo in the student's part)".into());
        }
        for drifted in markup::drift(&ex.solution, &ex.path).unwrap_or_else(|e| vec![e.to_string()])
        {
            problem(drifted);
        }
        let build = cargo(
            root,
            &["test", "-q", "-p", &ex.package, "--no-run"],
            TEST_LIMIT,
        )?;
        if !build.success {
            problem(format!(
                "does not compile as shipped:\n{}",
                tail(&build.output, 15)
            ));
        } else {
            let run = cargo(root, &["test", "-q", "-p", &ex.package], TEST_LIMIT)?;
            if run.success {
                problem("passes its tests as shipped: it is already solved".into());
            }
        }
        let solved = cargo(
            root,
            &["test", "-q", "-p", &ex.solution_package()],
            TEST_LIMIT,
        )?;
        if !solved.success {
            let why = if solved.timed_out {
                " (it ran past the time limit)"
            } else {
                ""
            };
            problem(format!(
                "its solution fails its tests{why}:\n{}",
                tail(&solved.output, 25)
            ));
        }
    }
    Ok(findings)
}

fn test_files(exercise: &Path) -> io::Result<Vec<String>> {
    let mut files = Vec::new();
    for entry in fs::read_dir(exercise.join("tests"))? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if name.ends_with(".rs") {
            files.push(name);
        }
    }
    files.sort();
    Ok(files)
}

/// Every `.rs` file under `dir` with its text, sorted by path.
fn rust_sources(dir: &Path) -> io::Result<Vec<(PathBuf, String)>> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        for entry in fs::read_dir(&folder)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = fs::read_to_string(&path)?;
                found.push((path, text));
            }
        }
    }
    found.sort();
    Ok(found)
}

/// The last `n` lines of `text`.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    #[test]
    fn exercises_are_found_in_course_order_with_their_packages() {
        let found = find(&root()).unwrap();
        assert!(!found.is_empty(), "no exercises found");
        let dirs: Vec<&str> = found.iter().map(|e| e.dir.as_str()).collect();
        let mut sorted = dirs.clone();
        sorted.sort();
        assert_eq!(dirs, sorted);
        let first = &found[0];
        assert_eq!(first.dir, "01-squares");
        assert_eq!(first.package, "ex01-squares");
        assert_eq!(first.solution_package(), "ex01-squares-solution");
        assert!(first.hints().unwrap().contains("for job in jobs"));
    }

    #[test]
    fn every_exercise_has_hints_and_a_solution_folder() {
        for ex in find(&root()).unwrap() {
            assert!(
                ex.hints().is_ok_and(|h| !h.trim().is_empty()),
                "{} has no hints",
                ex.package
            );
            assert!(
                ex.solution.join("Cargo.toml").is_file(),
                "{} has no solution",
                ex.package
            );
        }
    }

    #[test]
    fn every_exercise_is_what_its_solution_generates() {
        for ex in find(&root()).unwrap() {
            let drift = markup::drift(&ex.solution, &ex.path).unwrap();
            assert!(
                drift.is_empty(),
                "{}: {drift:?}; edit the solution's markup and run `cargo run -p course -- gen`",
                ex.package
            );
            let sources = rust_sources(&ex.solution.join("src")).unwrap();
            assert!(
                sources.iter().all(|(_, text)| !text.contains("todo!")),
                "{}'s solution has a todo! (its student's part writes @todo)",
                ex.package
            );
        }
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        assert_eq!(tail("a\nb\nc\nd", 2), "c\nd");
        assert_eq!(tail("a", 5), "a");
    }
}
