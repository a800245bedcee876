//! `cargo run -p course`: the students' progress command, and the course's own checks.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use course::exercises::{self, State};
use course::track::{Found, Track};
use course::{book, diff, markup, record, watch};

/// Your way through the course's exercises: where you stand, hints, a watch mode, and the
/// solutions once you are done.
#[derive(Parser, Debug)]
#[command(name = "course", after_help = EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

const EXAMPLES: &str = "\
An exercise can be named by package, folder, number or short name: ex01-squares, 01-squares,
1 and squares are the same exercise. With no command, `list` runs.";

#[derive(Subcommand, Debug)]
enum Command {
    /// Every exercise in course order and where you stand; only what changed is tested again
    #[command(alias = "progress")]
    List {
        /// Test every exercise again, whatever the saved progress says
        #[arg(long)]
        fresh: bool,
    },
    /// The hints for an exercise (the one you are on when no name is given)
    Hint { name: Option<String> },
    /// Re-test the exercise you are on whenever you save; n next, h hint, l list, q quit
    Watch,
    /// Put an exercise's source back as it shipped (your changes to it are lost)
    Reset { name: String },
    /// Show an exercise's solution, once your exercise passes
    Solution { name: String },
    /// Write every exercise's source from its solution's markup
    Gen {
        /// Change nothing; fail if an exercise differs from what its solution generates
        #[arg(long)]
        check: bool,
    },
    /// Run every lesson as its chapter shows it, and keep the output and picture for the book
    Record {
        /// Only these recordings, such as lesson-1 (all when none is named)
        names: Vec<String>,
    },
    /// What changed in the pool from one lesson to another, as a diff of the files both have
    Diff {
        /// The earlier lesson, such as 3
        from: Option<u32>,
        /// The later lesson, such as 7
        to: Option<u32>,
        /// Only these files under src/, such as pool/worker.rs [default: every file both have]
        files: Vec<String>,
        /// Write the diffs the book shows into book/src/diffs/ instead
        #[arg(long, conflicts_with_all = ["from", "to", "files"])]
        write: bool,
    },
    /// For CI: every solution passes, every exercise as shipped compiles, fails and matches
    /// its solution's markup
    Verify,
    /// For CI: every {{#include}} in the book resolves
    CheckBook {
        /// The book's source folder [default: book/src]
        book_src: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    course_support::cli::quiet_on_closed_stdout();
    let cli: Cli = course_support::cli::parse();
    let root = root();
    let result = match cli.command.unwrap_or(Command::List { fresh: false }) {
        Command::List { fresh } => list(&root, fresh),
        Command::Hint { name } => hint(&root, name.as_deref()),
        Command::Watch => watch::run(&root),
        Command::Reset { name } => reset(&root, &name),
        Command::Solution { name } => solution(&root, &name),
        Command::Gen { check } => generate(&root, check),
        Command::Record { names } => record(&root, &names),
        Command::Diff {
            from,
            to,
            files,
            write,
        } => diff(&root, from.zip(to), &files, write),
        Command::Verify => verify(&root),
        Command::CheckBook { book_src } => {
            check_book(&book_src.unwrap_or_else(|| root.join("book/src")))
        }
    };
    result.unwrap_or_else(|e| {
        eprintln!("course: {e}");
        ExitCode::FAILURE
    })
}

/// The course's root: the nearest folder at or above the current one that has `exercises/` and
/// a `Cargo.toml` (where `cargo run` is usually typed), else the workspace this binary was
/// built from.
fn root() -> PathBuf {
    let here = std::env::current_dir().ok();
    here.iter()
        .flat_map(|dir| dir.ancestors())
        .find(|dir| dir.join("exercises").is_dir() && dir.join("Cargo.toml").is_file())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

type Outcome = Result<ExitCode, Box<dyn std::error::Error>>;

/// Lists every exercise with its state and names the one to do next.
fn list(root: &Path, fresh: bool) -> Outcome {
    let mut track = Track::open(root)?;
    let stale: Vec<_> = track
        .list
        .iter()
        .filter(|ex| fresh || track.saved(ex).is_none())
        .cloned()
        .collect();
    if !stale.is_empty() {
        println!(
            "Testing {} of {} exercises (those that changed since last time)...",
            stale.len(),
            track.list.len()
        );
        let bar = course_support::progress::bar(stale.len() as u64, "exercises tested");
        for ex in &stale {
            bar.set_message(ex.package.clone());
            track.test(ex)?;
            bar.inc(1);
        }
        bar.finish_and_clear();
    }
    println!();
    let mut next = None;
    let mut passing = 0;
    for ex in track.list.clone() {
        let state = track.state(&ex)?.state().clone();
        println!("{}", watch::list_line(&ex, Some(&state)));
        if state == State::Passing {
            passing += 1;
        } else if next.is_none() {
            next = Some(ex);
        }
    }
    println!("\n{passing} of {} passing.", track.list.len());
    match next {
        Some(ex) => {
            println!("Next: exercises/{}/src/lib.rs", ex.dir);
            println!("  test it:  cargo test -p {}", ex.package);
            println!("  a hint:   cargo run -p course -- hint");
            println!("  or let it re-test on every save:  cargo run -p course -- watch");
        }
        None => println!(
            "Every exercise passes. `cargo run -p course -- solution NAME` shows how the course solved one."
        ),
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints the diff of the files two lessons share, or writes the book's pinned diffs.
fn diff(root: &Path, lessons: Option<(u32, u32)>, files: &[String], write: bool) -> Outcome {
    if write {
        for path in diff::write_pinned(root, &root.join("book/src"))? {
            println!(
                "wrote {}",
                path.strip_prefix(root).unwrap_or(&path).display()
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let Some((from, to)) = lessons else {
        eprintln!("course: diff needs two lessons, such as `cargo run -p course -- diff 3 7`");
        return Ok(ExitCode::from(2));
    };
    let files = if files.is_empty() {
        let (a, b) = (diff::lesson_dir(root, from)?, diff::lesson_dir(root, to)?);
        diff::shared_files(&a, &b)
    } else {
        files.to_vec()
    };
    if files.is_empty() {
        println!("Lessons {from} and {to} have no pool file in common.");
    }
    for file in files {
        print!("{}", diff::diff(root, from, to, &file)?);
    }
    Ok(ExitCode::SUCCESS)
}

/// Finds a named exercise, or says which names exist (exit 2).
fn named(track: &Track, name: &str) -> Result<exercises::Exercise, ExitCode> {
    track.named(name).cloned().ok_or_else(|| {
        let names: Vec<&str> = track.list.iter().map(|e| e.package.as_str()).collect();
        eprintln!(
            "course: no exercise `{name}`; the exercises are {}",
            names.join(", ")
        );
        ExitCode::from(2)
    })
}

/// Prints the hints for the named exercise, or for the current one.
fn hint(root: &Path, name: Option<&str>) -> Outcome {
    let mut track = Track::open(root)?;
    let ex = match name {
        Some(name) => match named(&track, name) {
            Ok(ex) => ex,
            Err(code) => return Ok(code),
        },
        None => match track.current()? {
            Some(ex) => ex,
            None => {
                println!(
                    "Every exercise passes: no hints needed. Name one to see its hints anyway."
                );
                return Ok(ExitCode::SUCCESS);
            }
        },
    };
    println!("Hints for {} ({}):\n", ex.package, ex.description);
    println!("{}", ex.hints()?);
    Ok(ExitCode::SUCCESS)
}

/// Restores an exercise's source as shipped.
fn reset(root: &Path, name: &str) -> Outcome {
    let track = Track::open(root)?;
    let ex = match named(&track, name) {
        Ok(ex) => ex,
        Err(code) => return Ok(code),
    };
    for path in exercises::reset(&ex)? {
        let shown = path.strip_prefix(root).unwrap_or(&path);
        println!("{} is back as shipped.", shown.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// Shows the solution, but only to a student whose exercise passes.
fn solution(root: &Path, name: &str) -> Outcome {
    let mut track = Track::open(root)?;
    let ex = match named(&track, name) {
        Ok(ex) => ex,
        Err(code) => return Ok(code),
    };
    let found = track.state(&ex)?;
    if *found.state() != State::Passing {
        eprintln!(
            "course: {} does not pass yet ({}); its solution opens once it does. Stuck? `cargo run -p course -- hint {}`",
            ex.package,
            found.state().label(),
            ex.package
        );
        if let Found::Tested(_, run) = &found {
            eprintln!("\n{}", exercises::tail(&run.output, 15));
        }
        return Ok(ExitCode::FAILURE);
    }
    for (path, text) in exercises::solution_files(&ex)? {
        let shown = path.strip_prefix(root).unwrap_or(&path);
        println!("── {} ──\n{text}", shown.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes (or with `check`, compares) every exercise's source from its solution.
fn generate(root: &Path, check: bool) -> Outcome {
    let list = exercises::find(root)?;
    let mut problems = Vec::new();
    let mut written = 0;
    for ex in &list {
        if check {
            problems.extend(markup::drift(&ex.solution, &ex.path)?);
        } else {
            written += exercises::reset(ex)?.len();
        }
    }
    for p in &problems {
        println!("{p}");
    }
    if !problems.is_empty() {
        println!(
            "gen: {} exercise file(s) differ from their solutions",
            problems.len()
        );
        return Ok(ExitCode::FAILURE);
    }
    if check {
        println!(
            "gen: all {} exercises match what their solutions generate",
            list.len()
        );
    } else {
        println!("gen: wrote {written} file(s) for {} exercises", list.len());
    }
    Ok(ExitCode::SUCCESS)
}

/// Re-records the book's runs (all, or the named ones).
fn record(root: &Path, names: &[String]) -> Outcome {
    let all = record::find(root)?;
    for name in names {
        if !all.iter().any(|r| &r.name == name) {
            let known: Vec<&str> = all.iter().map(|r| r.name.as_str()).collect();
            eprintln!(
                "course: no recording `{name}`; the recordings are {}",
                known.join(", ")
            );
            return Ok(ExitCode::from(2));
        }
    }
    let mut failed = 0;
    for r in all
        .iter()
        .filter(|r| names.is_empty() || names.contains(&r.name))
    {
        println!("recording {}: $ {}", r.name, r.command);
        if let Err(e) = record::record(root, r) {
            eprintln!("course: {e}");
            failed += 1;
        }
    }
    if failed > 0 {
        return Ok(ExitCode::FAILURE);
    }
    println!("recorded; `cargo test` now checks each recording against its lesson's snapshot");
    Ok(ExitCode::SUCCESS)
}

/// Proves both directions for CI; exits 1 if anything is wrong.
fn verify(root: &Path) -> Outcome {
    let started = std::time::Instant::now();
    let mut count = 0;
    let findings = exercises::verify(root, |ex| {
        count += 1;
        println!("verifying {} and its solution", ex.package);
    })?;
    if findings.is_empty() {
        println!(
            "exercises: {count} verified in {:.0?}: every solution passes, every exercise compiles, fails as shipped and matches its solution's markup",
            started.elapsed()
        );
        return Ok(ExitCode::SUCCESS);
    }
    for f in &findings {
        println!("{}: {}", f.exercise, f.problem);
    }
    println!("exercises: {} problem(s) found", findings.len());
    Ok(ExitCode::FAILURE)
}

/// Runs the include check and reports: exit 0 if everything resolves, 1 if not.
fn check_book(book_src: &Path) -> Outcome {
    let report = book::scan_includes(book_src)?;
    if report.problems.is_empty() {
        println!("book includes: {} checked, all resolve", report.checked);
        return Ok(ExitCode::SUCCESS);
    }
    for problem in &report.problems {
        println!("{problem}");
    }
    Ok(ExitCode::FAILURE)
}
