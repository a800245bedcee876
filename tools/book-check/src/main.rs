//! `book-check [--screenshots DIR] BOOK_DIR`: checks the built book in headless Chromium
//! (`$CHROMIUM`, else Debian's `/usr/bin/chromium`). Exit 0 when all is well, 1 with the list
//! of problems, 2 on bad arguments.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use book_check::{DEFAULT_CHROMIUM, Options, check_book};

const USAGE: &str =
    "usage: book-check [--screenshots DIR] BOOK_DIR (default DIR: target/book-check)";

/// The book's folder and the screenshots' folder, or the one line that says what is wrong.
fn parse(args: &[String]) -> Result<Option<(PathBuf, PathBuf)>, String> {
    let mut book = None;
    let mut screenshots = PathBuf::from("target/book-check");
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--screenshots" => match args.next() {
                Some(dir) if !dir.is_empty() => screenshots = PathBuf::from(dir),
                _ => return Err("--screenshots needs a folder".into()),
            },
            flag if flag.starts_with('-') => return Err(format!("unknown flag `{flag}`")),
            _ if book.is_some() => return Err(format!("one book folder only, not also `{arg}`")),
            _ => book = Some(PathBuf::from(arg)),
        }
    }
    let book = book.ok_or("no book folder given")?;
    if !book.join("index.html").is_file() {
        return Err(format!(
            "`{}` is not a built book (no index.html; run `mdbook build book` first)",
            book.display()
        ));
    }
    Ok(Some((book, screenshots)))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (book, screenshots) = match parse(&args) {
        Ok(Some(parsed)) => parsed,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(what) => {
            eprintln!("book-check: {what}; {USAGE}");
            return ExitCode::from(2);
        }
    };
    let chromium = std::env::var_os("CHROMIUM")
        .filter(|c| !c.is_empty())
        .map_or_else(|| PathBuf::from(DEFAULT_CHROMIUM), PathBuf::from);
    if !chromium.is_file() {
        eprintln!(
            "book-check: no Chromium at {} (install Debian's `chromium`, or set CHROMIUM)",
            chromium.display()
        );
        return ExitCode::FAILURE;
    }
    let options = Options {
        chromium,
        screenshots: Some(screenshots),
        search: true,
    };

    let started = Instant::now();
    let report = match check_book(&book, &options) {
        Ok(report) => report,
        Err(what) => {
            eprintln!("book-check: {what}");
            return ExitCode::FAILURE;
        }
    };
    let seconds = started.elapsed().as_secs_f64();

    for file in &report.screenshots {
        println!("screenshot: {}", file.display());
    }
    for (page, word) in &report.searches {
        println!("searched: `{word}` for {page}");
    }
    if !report.external.is_empty() {
        println!("external links, listed and not fetched:");
        for (url, pages) in &report.external {
            let first = pages.iter().next().map_or("", String::as_str);
            let more = match pages.len() {
                1 => String::new(),
                n => format!(" and {} more", n - 1),
            };
            println!("  {url} (on {first}{more})");
        }
    }
    for skipped in &report.skipped {
        println!("skipped: {}: {}", skipped.page, skipped.what);
    }
    let summary = format!(
        "{} pages, {} images, {} internal links ({} external listed), {} searches checked in {seconds:.1} s",
        report.pages,
        report.images,
        report.links,
        report.external.len(),
        report.searches.len(),
    );
    if report.problems.is_empty() {
        println!("book-check: ok: {summary}");
        ExitCode::SUCCESS
    } else {
        for problem in &report.problems {
            println!("problem: {}: {}", problem.page, problem.what);
        }
        let n = report.problems.len();
        let problems = if n == 1 { "problem" } else { "problems" };
        println!("book-check: {n} {problems}: {summary}");
        ExitCode::FAILURE
    }
}
