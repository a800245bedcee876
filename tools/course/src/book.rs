//! Checks that every mdBook include directive in the book points at something real.
//!
//! mdBook only logs a warning when `{{#include}}` names a missing file or anchor, then
//! builds the book anyway with a hole where the code should be. The chapters include
//! code straight from the lesson crates, so renaming a file or an anchor there would
//! silently empty a page. This module finds those directives and checks them without
//! needing mdBook installed.
//!
//! Directives are found the way mdBook finds them (the same pattern as its `links`
//! preprocessor): `{{`, optional whitespace (newlines included), `#include` or
//! `#rustdoc_include`, whitespace, then the arguments up to the first `}`, which must
//! open the closing `}}`. A backslash right before `{{#` makes the rest of that line up
//! to its last `}}` literal text, as in mdBook. One addition: a directive with no path
//! at all (`{{#include}}`), which mdBook leaves in the page as text, is reported too.
//!
//! Only each `.md` file's own directives are checked; directives inside the included
//! files themselves (which mdBook would expand too) are not followed.

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// One include directive that mdBook could not resolve, or would resolve to nothing.
///
/// It carries everything needed to find and fix the directive, because the whole point
/// of the check is to turn mdBook's quiet log line into a precise, failing report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The `.md` file holding the directive, as found under the book's source directory.
    pub file: PathBuf,
    /// The 1-based line of `file` where the directive starts, so an editor can jump there.
    pub line: usize,
    /// The directive as written, with whitespace runs collapsed to one space so it fits
    /// on one line of output.
    pub directive: String,
    /// What is wrong with it, in words a chapter author can act on.
    pub reason: String,
}

impl fmt::Display for Problem {
    /// Formats as `path:line: reason (directive)`, the shape editors and terminals turn
    /// into a clickable location.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {} ({})",
            self.file.display(),
            self.line,
            self.reason,
            self.directive
        )
    }
}

/// The outcome of checking a book: the broken directives and how many were checked.
///
/// The count exists because a check that found no directives at all cannot fail, and
/// callers need to tell "all resolve" apart from "nothing was checked".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// How many `{{#include}}` and `{{#rustdoc_include}}` directives were examined,
    /// broken ones included.
    pub checked: usize,
    /// Every directive that does not resolve, in file order then line order.
    pub problems: Vec<Problem>,
}

/// Checks every include directive in every `.md` file under `book_src` and returns
/// those that do not resolve.
///
/// This is the question most callers ask: "is anything broken?". Use [`scan_includes`]
/// when you also need to know how many directives were checked.
///
/// # Errors
///
/// Fails if `book_src` or one of its subdirectories cannot be listed, or if a `.md`
/// file cannot be read as UTF-8 text. A missing or unreadable *included* file is not an
/// error but a [`Problem`].
pub fn check_includes(book_src: &Path) -> io::Result<Vec<Problem>> {
    scan_includes(book_src).map(|report| report.problems)
}

/// Checks every include directive in every `.md` file under `book_src`, recursively,
/// and reports both the problems and the number of directives checked.
///
/// It exists alongside [`check_includes`] so that `course check-book` and the book test
/// can say how many directives they checked, and refuse to pass when that is zero.
///
/// # Errors
///
/// Same as [`check_includes`].
pub fn scan_includes(book_src: &Path) -> io::Result<Report> {
    let mut md_files = Vec::new();
    collect_md_files(book_src, &mut md_files)?;
    let mut report = Report::default();
    for md in &md_files {
        let text = fs::read_to_string(md).map_err(|e| with_path(e, md))?;
        check_markdown(md, &text, &mut report);
    }
    Ok(report)
}

/// Adds the path to an I/O error, which std's errors leave out.
fn with_path(error: io::Error, path: &Path) -> io::Error {
    io::Error::new(error.kind(), format!("{}: {error}", path.display()))
}

/// Pushes every `.md` file under `dir` onto `out`, in sorted order so reports are stable.
/// Symlinked directories are not followed (no loops); symlinked files are checked.
fn collect_md_files(dir: &Path, out: &mut Vec<PathBuf>) -> io::Result<()> {
    let mut entries = fs::read_dir(dir)
        .map_err(|e| with_path(e, dir))?
        .collect::<io::Result<Vec<_>>>()
        .map_err(|e| with_path(e, dir))?;
    entries.sort_by_key(|entry| entry.file_name());
    for entry in entries {
        let path = entry.path();
        let file_type = entry.file_type().map_err(|e| with_path(e, &path))?;
        if file_type.is_dir() {
            collect_md_files(&path, out)?;
        } else if path.extension().is_some_and(|ext| ext == "md") && path.is_file() {
            out.push(path);
        }
    }
    Ok(())
}

/// An include directive found in a markdown file.
struct Directive<'a> {
    /// Byte offset of the opening `{{`.
    start: usize,
    /// The whole directive, `{{` to `}}`.
    text: &'a str,
    /// The arguments after the link type; may be empty or only whitespace.
    args: &'a str,
}

/// Checks the include directives of one markdown file, `md` being its path.
fn check_markdown(md: &Path, text: &str, report: &mut Report) {
    let base = md.parent().unwrap_or(Path::new(""));
    let mut line = 1;
    let mut counted_to = 0;
    for directive in find_directives(text) {
        line += text[counted_to..directive.start].matches('\n').count();
        counted_to = directive.start;
        report.checked += 1;
        if let Err(reason) = check_directive(base, directive.args) {
            report.problems.push(Problem {
                file: md.to_path_buf(),
                line,
                directive: directive
                    .text
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" "),
                reason,
            });
        }
    }
}

/// Finds the `{{#include}}` and `{{#rustdoc_include}}` directives in `text`, skipping
/// escaped ones and other link types, scanning left to right like mdBook's regex.
fn find_directives(text: &str) -> Vec<Directive<'_>> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        // `i` always sits on an ASCII byte when `text` is sliced at it, so on a char
        // boundary.
        if bytes[i] == b'\\' && text[i..].starts_with("\\{{#") {
            // mdBook's `\\\{\{\#.*\}\}`: literal up to the last `}}` on this line.
            let rest = &text[i + 4..];
            let line = &rest[..rest.find('\n').unwrap_or(rest.len())];
            if let Some(close) = line.rfind("}}") {
                i += 4 + close + 2;
                continue;
            }
        } else if bytes[i] == b'{' && text[i..].starts_with("{{") {
            if let Some((end, kind, args)) = match_link(text, i) {
                if kind == "include" || kind == "rustdoc_include" {
                    found.push(Directive {
                        start: i,
                        text: &text[i..end],
                        args,
                    });
                }
                i = end;
                continue;
            }
        }
        i += 1;
    }
    found
}

/// Matches a link at `start` (which holds `{{`): mdBook's
/// `\{\{\s*\#([a-zA-Z0-9_]+)\s+([^}]+)\}\}`, loosened to also accept no arguments at
/// all (`{{#include}}`, `{{#include }}`) so an empty path gets reported.
///
/// Returns the end offset, the link type and the raw arguments.
fn match_link(text: &str, start: usize) -> Option<(usize, &str, &str)> {
    let after_braces = &text[start + 2..];
    let hash = after_braces.len() - after_braces.trim_start().len();
    let rest = after_braces[hash..].strip_prefix('#')?;
    let kind_len = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    if kind_len == 0 {
        return None;
    }
    let (kind, rest) = rest.split_at(kind_len);
    let close = rest.find('}')?;
    if !rest[close..].starts_with("}}") {
        return None;
    }
    let args = &rest[..close];
    let well_formed = args.starts_with(char::is_whitespace) && args.chars().nth(1).is_some();
    let empty = args.trim().is_empty() && (kind == "include" || kind == "rustdoc_include");
    if !(well_formed || empty) {
        return None;
    }
    let end = text.len() - rest.len() + close + 2;
    Some((end, kind, args))
}

/// Which part of the file a directive asks for, as mdBook parses it.
#[derive(Debug, PartialEq, Eq)]
enum Selection<'a> {
    /// The whole file: `PATH`, `PATH:`, or anything mdBook reads as an unbounded range.
    Whole,
    /// The lines between `ANCHOR: name` and `ANCHOR_END: name`.
    Anchor(&'a str),
    /// A 1-based line range, each bound as written; `start..=start` for `PATH:N`.
    Lines {
        start: Option<usize>,
        end: Option<usize>,
    },
}

/// Parses what follows the first `:` of an include target, like mdBook's
/// `parse_range_or_anchor`: a number starts a range, anything else non-empty is an
/// anchor name, and an unparsable end makes the range open-ended.
fn parse_selection(spec: Option<&str>) -> Selection<'_> {
    let Some(spec) = spec else {
        return Selection::Whole;
    };
    let mut parts = spec.splitn(3, ':');
    let first = parts.next().unwrap_or("");
    let start = match first.parse::<usize>() {
        Ok(n) => Some(n),
        Err(_) if first.is_empty() => None,
        Err(_) => return Selection::Anchor(first),
    };
    let end = parts.next().map(str::parse::<usize>);
    match (start, end) {
        (Some(n), None) => Selection::Lines {
            start: Some(n),
            end: Some(n.max(1)),
        },
        (Some(n), Some(Ok(m))) => Selection::Lines {
            start: Some(n),
            end: Some(m),
        },
        (Some(n), Some(Err(_))) => Selection::Lines {
            start: Some(n),
            end: None,
        },
        (None, Some(Ok(m))) => Selection::Lines {
            start: None,
            end: Some(m),
        },
        (None, None | Some(Err(_))) => Selection::Whole,
    }
}

/// Checks one directive's arguments against the file system; `base` is the directory
/// of the markdown file. Returns why it does not resolve.
fn check_directive(base: &Path, args: &str) -> Result<(), String> {
    // mdBook takes the first whitespace-separated word as the target; the rest are
    // properties it ignores for includes.
    let target = args.split_whitespace().next().unwrap_or("");
    let (path, spec) = match target.split_once(':') {
        Some((path, spec)) => (path, Some(spec)),
        None => (target, None),
    };
    if path.is_empty() {
        return Err("include has an empty path".to_string());
    }
    let full = base.join(path);
    let content = fs::read_to_string(&full).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => format!("included file {} does not exist", full.display()),
        _ => format!("included file {} cannot be read: {e}", full.display()),
    })?;
    let selection = parse_selection(spec);
    if full.extension().is_some_and(|e| e == "snap") {
        check_snapshot_body(&full, &content, &selection)?;
    }
    match selection {
        Selection::Whole => Ok(()),
        Selection::Anchor(name) => check_anchor(&full, &content, name),
        Selection::Lines { start, end } => check_lines(&full, &content, start, end),
    }
}

/// An insta snapshot starts with a `---` … `---` header (source file, settings) that a reader
/// should not see: an include of a `.snap` file must start on the first line after it. If a
/// header grows or shrinks, the chapter's line number goes stale and this says so.
fn check_snapshot_body(full: &Path, content: &str, selection: &Selection) -> Result<(), String> {
    let body = content
        .lines()
        .enumerate()
        .skip(1)
        .find(|(_, line)| *line == "---")
        .map(|(i, _)| i + 2)
        .ok_or_else(|| format!("{} has no insta header ending in `---`", full.display()))?;
    match selection {
        Selection::Lines {
            start: Some(start), ..
        } if *start == body => Ok(()),
        _ => Err(format!(
            "{} is a snapshot whose output starts at line {body}: include it as `:{body}:`",
            full.display()
        )),
    }
}

/// Checks that `content` has an `ANCHOR: name` line followed later by an
/// `ANCHOR_END: name` line, the way mdBook's `take_anchored_lines` looks for them.
fn check_anchor(full: &Path, content: &str, name: &str) -> Result<(), String> {
    let mut started = false;
    for line in content.lines() {
        if !started {
            started = anchor_name(line, "ANCHOR:") == Some(name);
        } else if anchor_name(line, "ANCHOR_END:") == Some(name) {
            return Ok(());
        }
    }
    if started {
        Err(format!(
            "{} has no `ANCHOR_END: {name}` after its `ANCHOR: {name}`",
            full.display()
        ))
    } else {
        Err(format!("{} has no `ANCHOR: {name}` line", full.display()))
    }
}

/// The anchor name on `line` after `marker` (`ANCHOR:` or `ANCHOR_END:`), taken whole
/// as mdBook's `ANCHOR:\s*([\w_-]+)` does, so `ANCHOR: run_all` names `run_all`, never
/// `run`.
fn anchor_name<'a>(line: &'a str, marker: &str) -> Option<&'a str> {
    line.match_indices(marker).find_map(|(at, _)| {
        let rest = line[at + marker.len()..].trim_start();
        let len = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
            .unwrap_or(rest.len());
        (len > 0).then(|| &rest[..len])
    })
}

/// Checks that a 1-based line range selects at least one line of `content`. mdBook's
/// range is `start - 1 .. end` over `content.lines()`.
fn check_lines(
    full: &Path,
    content: &str,
    start: Option<usize>,
    end: Option<usize>,
) -> Result<(), String> {
    let first = start.unwrap_or(1).max(1);
    let line_count = content.lines().count();
    if first > line_count {
        return Err(format!(
            "line range starts at line {first} but {} has only {line_count} line{}",
            full.display(),
            if line_count == 1 { "" } else { "s" }
        ));
    }
    match end {
        Some(end) if end < first => Err(match start {
            Some(_) => format!("line range ends at line {end}, before it starts at line {first}"),
            None => format!("line range ends at line {end}, so it includes nothing"),
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A throwaway book source tree in its own temp directory, removed on drop (also
    /// when the test panics).
    struct Fixture {
        root: PathBuf,
    }

    impl Fixture {
        fn new() -> Self {
            static COUNTER: AtomicUsize = AtomicUsize::new(0);
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let root =
                std::env::temp_dir().join(format!("course-book-check-{}-{n}", std::process::id()));
            let _ = fs::remove_dir_all(&root);
            fs::create_dir_all(&root).unwrap();
            Fixture { root }
        }

        fn write(&self, relative: &str, contents: &str) -> &Self {
            let path = self.root.join(relative);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, contents).unwrap();
            self
        }

        fn scan(&self) -> Report {
            scan_includes(&self.root).unwrap()
        }
    }

    #[test]
    fn a_snapshot_must_be_included_from_the_line_after_its_header() {
        let fixture = Fixture::new();
        fixture
            .write("out.snap", "---\nsource: tests/cli.rs\n---\nhello\nworld\n")
            .write("good.md", "{{#include out.snap:4:}}\n")
            .write(
                "bad.md",
                "{{#include out.snap:3:}}\n{{#include out.snap}}\n{{#include out.snap:5:}}\n",
            );
        let report = fixture.scan();
        assert_eq!(report.checked, 4);
        assert_eq!(report.problems.len(), 3, "{:?}", report.problems);
        assert!(
            report
                .problems
                .iter()
                .all(|p| p.file.ends_with("bad.md") && p.reason.contains("include it as `:4:`"))
        );
    }

    impl Drop for Fixture {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.root);
        }
    }

    /// Five lines holding anchors `run` and `setup`.
    const CODE: &str = "\
// ANCHOR: setup
let x = 1;
// ANCHOR_END: setup
// ANCHOR: run
run(x); // ANCHOR_END: run
";

    /// Checks a one-directive chapter against `CODE` and returns the report.
    fn check_one(directive: &str) -> Report {
        let fixture = Fixture::new();
        fixture
            .write("code.rs", CODE)
            .write("chapter.md", &format!("# Chapter\n\n{directive}\n"));
        fixture.scan()
    }

    /// Asserts that `directive` is checked and reported, with a reason containing `needle`.
    fn assert_reported(directive: &str, needle: &str) {
        let report = check_one(directive);
        assert_eq!(report.checked, 1, "{directive} was not checked");
        assert_eq!(
            report.problems.len(),
            1,
            "{directive}: {:?}",
            report.problems
        );
        let reason = &report.problems[0].reason;
        assert!(
            reason.contains(needle),
            "{directive}: reason {reason:?} does not mention {needle:?}"
        );
    }

    #[test]
    fn a_good_include_of_each_form_passes() {
        let forms = [
            "{{#include code.rs}}",
            "{{#include code.rs:run}}",
            "{{#include code.rs:setup}}",
            "{{#include code.rs:2}}",
            "{{#include code.rs:2:4}}",
            "{{#include code.rs:3:3}}",
            "{{#include code.rs::3}}",
            "{{#include code.rs:5:}}",
            "{{#include code.rs:}}",
            "{{#include code.rs:1:99}}",
            "{{ #include   code.rs:run }}",
            "{{#include\n    code.rs:2:4\n}}",
            "{{#include ./code.rs}}",
        ];
        for form in forms {
            for directive in [form.to_string(), form.replace("include", "rustdoc_include")] {
                let report = check_one(&directive);
                assert_eq!(report.checked, 1, "{directive} was not checked");
                assert_eq!(report.problems, [], "{directive} should resolve");
            }
        }
    }

    #[test]
    fn paths_are_relative_to_the_chapter_directory() {
        let fixture = Fixture::new();
        fixture
            .write("code.rs", CODE)
            .write("part/chapter.md", "{{#include ../code.rs:run}}\n")
            .write("part/deeper/more.md", "{{#include ../../code.rs}}\n")
            .write("part/wrong.md", "{{#include code.rs}}\n");
        let report = fixture.scan();
        assert_eq!(report.checked, 3);
        assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
        assert!(report.problems[0].file.ends_with("part/wrong.md"));
    }

    #[test]
    fn a_missing_file_is_reported() {
        assert_reported("{{#include nowhere.rs}}", "does not exist");
        assert_reported("{{#rustdoc_include nowhere.rs:run}}", "does not exist");
        assert_reported("{{#include nowhere/code.rs:2:3}}", "does not exist");
    }

    #[test]
    fn a_missing_anchor_start_is_reported() {
        assert_reported("{{#include code.rs:teardown}}", "no `ANCHOR: teardown`");
        assert_reported(
            "{{#rustdoc_include code.rs:teardown}}",
            "no `ANCHOR: teardown`",
        );
    }

    #[test]
    fn a_missing_anchor_end_is_reported() {
        let fixture = Fixture::new();
        fixture
            .write("open.rs", "// ANCHOR: open\nlet x = 1;\n")
            .write(
                "backwards.rs",
                "// ANCHOR_END: b\n// ANCHOR: b\nlet x = 1;\n",
            )
            .write(
                "chapter.md",
                "{{#include open.rs:open}}\n{{#include backwards.rs:b}}\n",
            );
        let report = fixture.scan();
        assert_eq!(report.checked, 2);
        assert_eq!(report.problems.len(), 2, "{:?}", report.problems);
        for problem in &report.problems {
            assert!(problem.reason.contains("no `ANCHOR_END:"), "{problem}");
        }
    }

    #[test]
    fn anchor_names_match_as_whole_words() {
        let fixture = Fixture::new();
        fixture
            .write(
                "longer.rs",
                "// ANCHOR: run_all\nrun_all();\n// ANCHOR_END: run_all\n",
            )
            .write(
                "end_only_longer.rs",
                "// ANCHOR: run\nrun();\n// ANCHOR_END: run-fast\n",
            )
            .write(
                "both.rs",
                "// ANCHOR: run_all\n// ANCHOR: run\nrun();\n// ANCHOR_END: run\n// ANCHOR_END: run_all\n",
            )
            .write(
                "chapter.md",
                "{{#include longer.rs:run}}\n\
                 {{#include end_only_longer.rs:run}}\n\
                 {{#include both.rs:run}}\n\
                 {{#include both.rs:run_all}}\n\
                 {{#include longer.rs:run_all}}\n",
            );
        let report = fixture.scan();
        assert_eq!(report.checked, 5);
        let lines: Vec<usize> = report.problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, [1, 2], "{:?}", report.problems);
        assert!(report.problems[0].reason.contains("no `ANCHOR: run`"));
        assert!(report.problems[1].reason.contains("no `ANCHOR_END: run`"));
    }

    #[test]
    fn a_range_starting_past_the_end_is_reported() {
        // CODE has 5 lines.
        assert_reported("{{#include code.rs:6}}", "only 5 lines");
        assert_reported("{{#include code.rs:6:}}", "only 5 lines");
        assert_reported("{{#include code.rs:9:12}}", "only 5 lines");
        assert_reported("{{#rustdoc_include code.rs:6:8}}", "only 5 lines");
    }

    #[test]
    fn a_range_ending_before_it_starts_is_reported() {
        assert_reported("{{#include code.rs:4:2}}", "before it starts");
        assert_reported("{{#rustdoc_include code.rs:3:1}}", "before it starts");
        assert_reported("{{#include code.rs::0}}", "includes nothing");
    }

    #[test]
    fn an_empty_path_is_reported() {
        assert_reported("{{#include}}", "empty path");
        assert_reported("{{#include }}", "empty path");
        assert_reported("{{ #include   }}", "empty path");
        assert_reported("{{#rustdoc_include}}", "empty path");
        assert_reported("{{#include :2}}", "empty path");
    }

    #[test]
    fn escaped_directives_are_ignored() {
        let fixture = Fixture::new();
        fixture.write(
            "chapter.md",
            "Write \\{{#include missing.rs}} to include a file.\n\
             ```hbs\n\
             \\{{#include missing.rs:anchor}}\n\
             \\{{#rustdoc_include missing.rs:1:2}}\n\
             \\{{#include}}\n\
             ```\n\
             Both \\{{#include a.rs}} and {{#include b.rs}} are literal on one line.\n",
        );
        let report = fixture.scan();
        assert_eq!(report, Report::default());
    }

    #[test]
    fn other_link_types_and_look_alikes_are_not_includes() {
        let fixture = Fixture::new();
        fixture.write(
            "chapter.md",
            "{{#title A title}}\n\
             {{#playground missing.rs}}\n\
             {{#includes missing.rs}}\n\
             {{#include_str missing.rs}}\n\
             {{include missing.rs}}\n\
             {#include missing.rs}\n",
        );
        assert_eq!(fixture.scan(), Report::default());
    }

    #[test]
    fn only_markdown_files_are_checked_at_any_depth() {
        let fixture = Fixture::new();
        fixture
            .write("notes.txt", "{{#include missing.rs}}\n")
            .write("code.rs", "// {{#include missing.rs}}\n")
            .write("a/b/c/deep.md", "intro\n\n{{#include missing.rs}}\n");
        let report = fixture.scan();
        assert_eq!(report.checked, 1);
        assert_eq!(report.problems.len(), 1);
        let problem = &report.problems[0];
        assert!(problem.file.ends_with("a/b/c/deep.md"));
        assert_eq!(problem.line, 3);
    }

    #[test]
    fn a_problem_names_file_line_and_directive() {
        let fixture = Fixture::new();
        fixture.write(
            "chapter.md",
            "# Title\n\nSome text.\nSee {{#include  gone.rs:run }} here,\nand {{#include\n   gone.rs:1:2\n}}.\n",
        );
        let report = fixture.scan();
        assert_eq!(report.checked, 2);
        let chapter = fixture.root.join("chapter.md");
        let gone = fixture.root.join("gone.rs");
        assert_eq!(
            report.problems,
            [
                Problem {
                    file: chapter.clone(),
                    line: 4,
                    directive: "{{#include gone.rs:run }}".to_string(),
                    reason: format!("included file {} does not exist", gone.display()),
                },
                Problem {
                    file: chapter.clone(),
                    line: 5,
                    directive: "{{#include gone.rs:1:2 }}".to_string(),
                    reason: format!("included file {} does not exist", gone.display()),
                },
            ]
        );
        assert_eq!(
            report.problems[0].to_string(),
            format!(
                "{}:4: included file {} does not exist ({{{{#include gone.rs:run }}}})",
                chapter.display(),
                gone.display()
            )
        );
    }

    #[test]
    fn check_includes_returns_the_same_problems() {
        let fixture = Fixture::new();
        fixture.write("chapter.md", "{{#include gone.rs}}\n{{#include}}\n");
        assert_eq!(
            check_includes(&fixture.root).unwrap(),
            fixture.scan().problems
        );
        assert_eq!(fixture.scan().problems.len(), 2);
    }

    #[test]
    fn a_missing_book_is_an_error_not_an_empty_report() {
        let fixture = Fixture::new();
        let error = scan_includes(&fixture.root.join("no-such-dir")).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::NotFound);
        assert!(error.to_string().contains("no-such-dir"));
    }

    #[test]
    fn selections_parse_like_mdbook() {
        use Selection::*;
        let lines = |start, end| Lines { start, end };
        assert_eq!(parse_selection(None), Whole);
        assert_eq!(parse_selection(Some("")), Whole);
        assert_eq!(parse_selection(Some("::")), Whole);
        assert_eq!(parse_selection(Some(":x")), Whole);
        assert_eq!(parse_selection(Some("run")), Anchor("run"));
        assert_eq!(parse_selection(Some("run:3")), Anchor("run"));
        assert_eq!(parse_selection(Some("4")), lines(Some(4), Some(4)));
        assert_eq!(parse_selection(Some("0")), lines(Some(0), Some(1)));
        assert_eq!(parse_selection(Some("2:7")), lines(Some(2), Some(7)));
        assert_eq!(parse_selection(Some("2:")), lines(Some(2), None));
        assert_eq!(parse_selection(Some("2:x")), lines(Some(2), None));
        assert_eq!(parse_selection(Some(":7")), lines(None, Some(7)));
    }
}
