//! The real book's include directives, checked on every `cargo test`.

use std::path::Path;

use course::book::scan_includes;

#[test]
fn every_include_in_the_book_resolves() {
    let book_src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../book/src");
    assert!(
        book_src.is_dir(),
        "the book is missing: {} does not exist, so there is nothing to check",
        book_src.display()
    );
    let book_src = book_src.canonicalize().unwrap_or(book_src);
    let report = scan_includes(&book_src)
        .unwrap_or_else(|error| panic!("cannot check {}: {error}", book_src.display()));

    if !report.problems.is_empty() {
        let list: Vec<String> = report.problems.iter().map(ToString::to_string).collect();
        panic!(
            "{} of {} includes in book/src do not resolve:\n{}\n\
             mdBook only logs a broken include and still exits 0, so this test is what catches it",
            report.problems.len(),
            report.checked,
            list.join("\n")
        );
    }
    assert!(
        report.checked > 0,
        "no {{{{#include}}}} found in book/src: the chapters should include code from the lesson crates"
    );
}
