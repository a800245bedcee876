//! The checker, run in the real browser on a tiny generated book that has one of each problem.
//! Skipped, saying so, only where Chromium is missing and `COURSE_REQUIRE_CHROMIUM` is unset;
//! `.ci/run` sets it, so CI never skips.

use std::path::{Path, PathBuf};

use book_check::{DEFAULT_CHROMIUM, Options, Problem, check_book};

/// The Chromium to use, or `None` (after saying why) when the test must be skipped.
fn chromium() -> Option<PathBuf> {
    let chromium = std::env::var_os("CHROMIUM")
        .filter(|c| !c.is_empty())
        .map_or_else(|| PathBuf::from(DEFAULT_CHROMIUM), PathBuf::from);
    if chromium.is_file() {
        return Some(chromium);
    }
    if std::env::var_os("COURSE_REQUIRE_CHROMIUM").is_some() {
        panic!(
            "COURSE_REQUIRE_CHROMIUM is set but there is no Chromium at {} \
             (install Debian's `chromium`, or set CHROMIUM)",
            chromium.display()
        );
    }
    eprintln!(
        "SKIPPED: no Chromium at {} (install Debian's `chromium`, or set CHROMIUM; \
         set COURSE_REQUIRE_CHROMIUM=1 to make this a failure)",
        chromium.display()
    );
    None
}

fn write(root: &Path, path: &str, text: &str) {
    let file = root.join(path);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(file, text).unwrap();
}

fn page(body: &str) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <link rel=\"icon\" href=\"data:,\"><title>t</title></head><body><main>{body}</main></body></html>"
    )
}

#[test]
fn a_tiny_book_with_one_of_each_problem_gets_each_reported_and_nothing_else() {
    let Some(chromium) = chromium() else { return };
    let book = tempfile::tempdir().unwrap();
    let root = book.path();
    let svg = r#"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>"#;
    write(root, "img/ok.svg", svg);
    write(
        root,
        "index.html",
        &page(
            r##"<h1 id="top-heading"><a href="#top-heading">Index</a></h1>
            <img src="img/ok.svg" alt="fine">
            <img src="img/missing.svg" alt="broken">
            <a href="lesson-1.html#the-idea">fine</a>
            <a href="chapters/">a folder with an index</a>
            <a href="nowhere.html">broken link</a>
            <a href="lesson-1.html#no-such-id">broken anchor</a>
            <a href="lesson-1.html#renamed">an id a script made: fine</a>
            <a href="lesson-1.html#made-later">an id a script took away</a>
            <a href="https://example.com/never-fetched">external</a>
            <a href="mailto:someone@example.com">mail</a>"##,
        ),
    );
    write(
        root,
        "lesson-1.html",
        &page(
            r##"<h1 id="the-idea">Lesson 1</h1>
            <p id="made-later"></p>
            <a href="../../outside.html">escapes</a>
            <script>document.getElementById('made-later').id = 'renamed';
              const a = document.createElement('a'); a.href = 'index.html#made-by-script';
              document.body.append(a);</script>"##,
        ),
    );
    write(
        root,
        "chapters/index.html",
        &page(
            r##"<a href="../index.html#top-heading">back</a>
            <script>null.boom();</script>"##,
        ),
    );
    let shots = tempfile::tempdir().unwrap();
    let options = Options {
        chromium,
        screenshots: Some(shots.path().to_path_buf()),
        search: false,
    };

    let report = check_book(root, &options).expect("the check runs");

    let problems: Vec<(&str, &str)> = report
        .problems
        .iter()
        .map(|Problem { page, what }| (page.as_str(), what.as_str()))
        .collect();
    let expected_start = [
        ("index.html", "image `img/missing.svg` did not load"),
        (
            "index.html",
            "link `nowhere.html`: no file `nowhere.html` in the book",
        ),
        (
            "index.html",
            "link `lesson-1.html#no-such-id`: `lesson-1.html` has no element with id `no-such-id`",
        ),
        (
            "index.html",
            "link `lesson-1.html#made-later`: `lesson-1.html` has no element with id `made-later`",
        ),
        (
            "lesson-1.html",
            "link `../../outside.html` points outside the book",
        ),
        (
            "lesson-1.html",
            "link `index.html#made-by-script`: `index.html` has no element with id `made-by-script`",
        ),
        (
            "chapters/index.html",
            "console: uncaught exception: TypeError: Cannot read properties of null",
        ),
    ];
    assert_eq!(
        problems.len(),
        expected_start.len(),
        "expected exactly these problems, got:\n{problems:#?}"
    );
    for ((page, what), (want_page, want_start)) in problems.iter().zip(expected_start) {
        assert_eq!(*page, want_page, "in {problems:#?}");
        assert!(
            what.starts_with(want_start),
            "`{what}` should start with `{want_start}`"
        );
    }
    assert_eq!((report.pages, report.images), (3, 2));
    // Internal links: 7 on index.html (the heading's own, the chapter, the folder, the broken
    // file, the broken anchor, the two ids of the script), 2 on lesson-1.html (one of them made
    // by its script), 1 on chapters/index.html.
    assert_eq!(report.links, 10);
    assert_eq!(
        report.external.keys().collect::<Vec<_>>(),
        ["https://example.com/never-fetched"]
    );
    assert_eq!(report.screenshots, [shots.path().join("lesson-1.png")]);
    let png = std::fs::read(&report.screenshots[0]).unwrap();
    assert!(png.starts_with(b"\x89PNG"), "the screenshot is a PNG");
}
