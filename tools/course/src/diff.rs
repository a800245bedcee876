//! `course diff A B`: what changed in the pool from lesson A to lesson B, straight from the
//! files. Lessons that grow one pool keep its parts in files of the same names (`pool.rs`,
//! `pool/submit.rs`, `pool/worker.rs`, `pool/shutdown.rs`, `job.rs`, `rejected.rs`, …), so
//! comparing two lessons is comparing those files.
//!
//! Some of these diffs are in the book ([`PINNED`]); `course diff --write` writes them and a
//! test fails when one no longer matches the lessons, so a chapter cannot show a stale diff.

use similar::TextDiff;
use std::path::{Path, PathBuf};

/// The diffs the book shows: from lesson, to lesson, and the file under `src/` in both.
pub const PINNED: [(u32, u32, &str); 7] = [
    (3, 4, "pool/worker.rs"),
    (3, 4, "pool/submit.rs"),
    (3, 4, "pool/shutdown.rs"),
    (3, 5, "pool/submit.rs"),
    (3, 7, "pool/submit.rs"),
    (3, 7, "pool/worker.rs"),
    (3, 7, "pool/shutdown.rs"),
];

/// Where the book keeps a pinned diff, under the book's `src/`.
pub fn pinned_path(from: u32, to: u32, file: &str) -> PathBuf {
    PathBuf::from(format!(
        "diffs/lesson-{from}-to-{to}-{}.diff",
        file.trim_end_matches(".rs").replace('/', "-")
    ))
}

/// Lesson `n`'s folder, `lessons/NN-name`.
pub fn lesson_dir(root: &Path, n: u32) -> Result<PathBuf, String> {
    let prefix = format!("{n:02}-");
    let lessons = root.join("lessons");
    let found = std::fs::read_dir(&lessons)
        .map_err(|e| format!("cannot read {}: {e}", lessons.display()))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|path| {
            path.is_dir()
                && path
                    .file_name()
                    .and_then(|name| name.to_str())
                    .is_some_and(|name| name.starts_with(&prefix))
        });
    found.ok_or_else(|| format!("there is no lesson {n}"))
}

/// The files under `src/` that both lessons have, except the demo (`main.rs`, `demo/`) and the
/// table of contents (`lib.rs`), which every lesson has and which say nothing about the pool.
pub fn shared_files(a: &Path, b: &Path) -> Vec<String> {
    let mut files: Vec<String> = sources(&a.join("src"))
        .into_iter()
        .filter(|rel| b.join("src").join(rel).is_file())
        .filter(|rel| rel != "main.rs" && rel != "lib.rs" && !rel.starts_with("demo"))
        .collect();
    files.sort();
    files
}

fn sources(src: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut dirs = vec![src.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for path in entries.filter_map(Result::ok).map(|e| e.path()) {
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                if let Ok(rel) = path.strip_prefix(src) {
                    found.push(rel.to_string_lossy().replace('\\', "/"));
                }
            }
        }
    }
    found
}

/// The unified diff of `file` (under `src/`) from lesson `from` to lesson `to`, with paths
/// from the course's root in its header; empty when the two are the same. The `ANCHOR` lines
/// that mark the book's listings are left out, as the book leaves them out of every listing.
pub fn diff(root: &Path, from: u32, to: u32, file: &str) -> Result<String, String> {
    let (a, b) = (lesson_dir(root, from)?, lesson_dir(root, to)?);
    let read = |dir: &Path| {
        let path = dir.join("src").join(file);
        std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", shown(root, &path)))
    };
    let (old, new) = (without_anchors(&read(&a)?), without_anchors(&read(&b)?));
    let (a_name, b_name) = (
        shown(root, &a.join("src").join(file)),
        shown(root, &b.join("src").join(file)),
    );
    Ok(TextDiff::from_lines(&old, &new)
        .unified_diff()
        .context_radius(3)
        .header(&a_name, &b_name)
        .to_string())
}

/// The file as the book shows its listings: without the `// ANCHOR:` lines that mark them.
fn without_anchors(text: &str) -> String {
    text.lines()
        .filter(|line| !line.contains("ANCHOR:") && !line.contains("ANCHOR_END:"))
        .flat_map(|line| [line, "\n"])
        .collect()
}

fn shown(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

/// Writes every pinned diff into the book; returns the paths written.
pub fn write_pinned(root: &Path, book_src: &Path) -> Result<Vec<PathBuf>, String> {
    let mut written = Vec::new();
    for (from, to, file) in PINNED {
        let path = book_src.join(pinned_path(from, to, file));
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        std::fs::write(&path, diff(root, from, to, file)?)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

/// The pinned diffs whose file in the book differs from what the lessons give now.
pub fn stale_pinned(root: &Path, book_src: &Path) -> Result<Vec<PathBuf>, String> {
    let mut stale = Vec::new();
    for (from, to, file) in PINNED {
        let path = book_src.join(pinned_path(from, to, file));
        let kept = std::fs::read_to_string(&path).unwrap_or_default();
        if kept != diff(root, from, to, file)? {
            stale.push(path);
        }
    }
    Ok(stale)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    #[test]
    fn the_books_diffs_are_what_the_lessons_files_give() {
        let root = root();
        let stale = stale_pinned(&root, &root.join("book/src")).unwrap();
        assert!(
            stale.is_empty(),
            "these diffs in the book no longer match the lessons: {stale:?}; \
             run `cargo run -p course -- diff --write`"
        );
    }

    #[test]
    fn a_diff_shows_what_one_lesson_adds_to_the_other() {
        let root = root();
        let text = diff(&root, 3, 7, "pool/worker.rs").unwrap();
        assert!(text.starts_with("--- lessons/03-graceful-shutdown/src/pool/worker.rs\n"));
        assert!(text.contains("\n+++ lessons/07-advanced-pool/src/pool/worker.rs\n"));
        assert!(
            text.contains("\n+") && text.contains("catch_unwind"),
            "{text}"
        );
        assert!(
            !text.contains("ANCHOR"),
            "the book never shows anchor lines: {text}"
        );
        assert_eq!(diff(&root, 3, 3, "pool/worker.rs").unwrap(), "");
        let shared = shared_files(
            &lesson_dir(&root, 3).unwrap(),
            &lesson_dir(&root, 7).unwrap(),
        );
        for file in [
            "pool.rs",
            "pool/submit.rs",
            "pool/worker.rs",
            "pool/shutdown.rs",
        ] {
            assert!(shared.iter().any(|f| f == file), "{file} not in {shared:?}");
        }
        assert!(!shared.iter().any(|f| f == "main.rs" || f == "lib.rs"));
        assert!(lesson_dir(&root, 99).is_err());
    }
}
