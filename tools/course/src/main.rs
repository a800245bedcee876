//! `cargo run -p course`: the students' progress command, and the course's own checks.
//!
//! With no arguments it lists every exercise and where you stand; `hint NAME` shows hints,
//! `watch` re-tests on every save, `verify` is CI's proof that every solution passes and every
//! exercise starts out failing, and `check-book` fails on any book include that does not
//! resolve (mdBook itself only logs one).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use course::{book, exercises};

/// The one-line usage, shown on errors and for `--help`.
const USAGE: &str = "usage: cargo run -p course -- [progress | hint EXERCISE | watch | verify | check-book [BOOK_SRC]]";

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let subcommand = args.next();
    let rest: Vec<String> = args.map(|a| a.to_string_lossy().into_owned()).collect();
    match subcommand.as_ref().and_then(|s| s.to_str()) {
        None | Some("progress") if rest.is_empty() => progress(),
        Some("hint") if rest.len() == 1 => hint(&rest[0]),
        Some("hint") => usage_error("`hint` takes the exercise's name, such as ex01-squares"),
        Some("watch") if rest.is_empty() => watch(),
        Some("verify") if rest.is_empty() => verify(),
        Some("check-book") if rest.len() <= 1 => {
            if let Some(option) = rest.first().filter(|a| a.starts_with('-')) {
                return usage_error(&format!("unknown option `{option}`"));
            }
            check_book(&book_src_or_default(rest.first().map(OsString::from)))
        }
        Some("help" | "-h" | "--help") => {
            println!("{USAGE}");
            println!();
            println!(
                "  progress    every exercise in course order, and where you stand (the default)"
            );
            println!("  hint NAME   the hints for one exercise, such as `hint ex01-squares`");
            println!("  watch       re-runs your current exercise's tests whenever you save");
            println!(
                "  verify      checks every solution passes and every exercise starts out failing"
            );
            println!("  check-book  checks every {{{{#include}}}} in the book resolves");
            ExitCode::SUCCESS
        }
        Some(other) => usage_error(&format!("unknown command or arguments: `{other}`")),
        None => usage_error("unexpected arguments"),
    }
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

fn exercises_or_exit() -> Result<Vec<exercises::Exercise>, ExitCode> {
    exercises::find(&root()).map_err(|e| {
        eprintln!("course: cannot read the exercises folder: {e}");
        ExitCode::FAILURE
    })
}

/// Lists every exercise with its state and names the next one.
fn progress() -> ExitCode {
    let list = match exercises_or_exit() {
        Ok(list) => list,
        Err(code) => return code,
    };
    println!(
        "Checking {} exercises (this builds and tests each one)...\n",
        list.len()
    );
    let mut next = None;
    let mut passing = 0;
    for ex in &list {
        let state = match exercises::check(&root(), ex) {
            Ok((state, _)) => state,
            Err(e) => {
                eprintln!("course: cannot run cargo: {e}");
                return ExitCode::FAILURE;
            }
        };
        let mark = if state == exercises::State::Passing {
            "✓"
        } else {
            "·"
        };
        println!(
            "  {mark} {:<28} {:<17} {}",
            ex.package,
            state.label(),
            ex.description
        );
        if state == exercises::State::Passing {
            passing += 1;
        } else if next.is_none() {
            next = Some(ex.clone());
        }
    }
    println!("\n{passing} of {} passing.", list.len());
    match next {
        Some(ex) => {
            println!("Next: exercises/{}/src/lib.rs", ex.dir);
            println!("  test it:  cargo test -p {}", ex.package);
            println!("  a hint:   cargo run -p course -- hint {}", ex.package);
            println!("  or let it re-test on every save:  cargo run -p course -- watch");
        }
        None => println!("Every exercise passes. Compare yours with solutions/ if you like."),
    }
    ExitCode::SUCCESS
}

/// Prints one exercise's hints.
fn hint(name: &str) -> ExitCode {
    let list = match exercises_or_exit() {
        Ok(list) => list,
        Err(code) => return code,
    };
    let found = list.iter().find(|e| e.package == name || e.dir == name);
    let Some(ex) = found else {
        let names: Vec<&str> = list.iter().map(|e| e.package.as_str()).collect();
        return usage_error(&format!(
            "no exercise `{name}`; the exercises are: {}",
            names.join(", ")
        ));
    };
    match ex.hints() {
        Ok(hints) => {
            println!("Hints for {} ({}):\n", ex.package, ex.description);
            println!("{hints}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("course: {} has no hints: {e}", ex.package);
            ExitCode::FAILURE
        }
    }
}

/// Re-runs the first unfinished exercise's tests whenever a file in it changes.
fn watch() -> ExitCode {
    println!("Watching your current exercise; save a file to re-test it. Ctrl-C to stop.\n");
    let mut last_seen = None;
    loop {
        let list = match exercises_or_exit() {
            Ok(list) => list,
            Err(code) => return code,
        };
        let mut current = None;
        for ex in &list {
            match exercises::check(&root(), ex) {
                Ok((exercises::State::Passing, _)) => continue,
                Ok((state, run)) => {
                    current = Some((ex.clone(), state, run));
                    break;
                }
                Err(e) => {
                    eprintln!("course: cannot run cargo: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
        let Some((ex, state, run)) = current else {
            println!("Every exercise passes. Well done.");
            return ExitCode::SUCCESS;
        };
        println!("── {} ({}) ──", ex.package, state.label());
        println!("{}", exercises::tail(&run.output, 40));
        println!(
            "\nEdit exercises/{}/src/lib.rs and save; hint: cargo run -p course -- hint {}",
            ex.dir, ex.package
        );
        // Wait for a change to the exercise's files.
        let stamp = |ex: &exercises::Exercise| newest_change(&ex.path);
        last_seen = last_seen.or(Some(stamp(&ex)));
        loop {
            std::thread::sleep(std::time::Duration::from_millis(500));
            let now = stamp(&ex);
            if Some(now) != last_seen {
                last_seen = Some(now);
                break;
            }
        }
        println!("\nChange seen; testing again...\n");
    }
}

/// The latest modification time of any file under `dir` (ignoring errors).
fn newest_change(dir: &Path) -> std::time::SystemTime {
    let mut newest = std::time::UNIX_EPOCH;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&path) else {
            continue;
        };
        for entry in entries.flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(modified) = entry.metadata().and_then(|m| m.modified()) {
                newest = newest.max(modified);
            }
        }
    }
    newest
}

/// Proves both directions for CI; exits 1 if anything is wrong.
fn verify() -> ExitCode {
    let started = std::time::Instant::now();
    let mut count = 0;
    let findings = exercises::verify(&root(), |ex| {
        count += 1;
        println!("verifying {} and its solution", ex.package);
    });
    match findings {
        Ok(findings) if findings.is_empty() => {
            println!(
                "exercises: {count} verified in {:.0?}: every solution passes, every exercise compiles and fails as shipped",
                started.elapsed()
            );
            ExitCode::SUCCESS
        }
        Ok(findings) => {
            for f in &findings {
                println!("{}: {}", f.exercise, f.problem);
            }
            println!("exercises: {} problem(s) found", findings.len());
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("course: cannot verify the exercises: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Prints a one-line usage error to stderr and returns exit code 2.
fn usage_error(message: &str) -> ExitCode {
    eprintln!("course: {message} ({USAGE})");
    ExitCode::from(2)
}

/// The book source to check: the argument if given, else `book/src` under the current
/// directory, else `book/src` at the workspace root this binary was built from.
fn book_src_or_default(arg: Option<OsString>) -> PathBuf {
    if let Some(arg) = arg {
        return PathBuf::from(arg);
    }
    let here = PathBuf::from("book/src");
    if here.exists() {
        return here;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../book/src")
}

/// Runs the include check and reports: exit 0 if everything resolves, 1 if not.
fn check_book(book_src: &Path) -> ExitCode {
    match book::scan_includes(book_src) {
        Ok(report) if report.problems.is_empty() => {
            println!("book includes: {} checked, all resolve", report.checked);
            ExitCode::SUCCESS
        }
        Ok(report) => {
            for problem in &report.problems {
                println!("{problem}");
            }
            ExitCode::FAILURE
        }
        Err(error) => {
            // The error already names the path it failed on.
            eprintln!("course: cannot check the book: {error}");
            ExitCode::FAILURE
        }
    }
}
