//! `course`: the course's own command-line tooling.
//!
//! `course check-book [BOOK_SRC]` checks that every include directive in the book
//! resolves, because mdBook itself only logs a broken include and still exits 0.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use course::book;

/// The one-line usage, shown on errors and for `--help`.
const USAGE: &str = "usage: course check-book [BOOK_SRC]";

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let Some(subcommand) = args.next() else {
        return usage_error("no subcommand given");
    };
    match subcommand.to_str() {
        Some("check-book") => {
            let book_src = args.next();
            if let Some(extra) = args.next() {
                return usage_error(&format!(
                    "unexpected argument `{}`",
                    extra.to_string_lossy()
                ));
            }
            // Let-chains would need Rust 1.88; the workspace's rust-version is 1.85.
            let option = book_src
                .as_ref()
                .map(|arg| arg.to_string_lossy())
                .filter(|arg| arg.starts_with('-'));
            if let Some(option) = option {
                return usage_error(&format!("unknown option `{option}`"));
            }
            check_book(&book_src_or_default(book_src))
        }
        Some("help" | "-h" | "--help") => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => usage_error(&format!(
            "unknown subcommand `{}`",
            subcommand.to_string_lossy()
        )),
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
