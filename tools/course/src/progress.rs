//! Saved progress: what each exercise's tests said last time, kept with a fingerprint of
//! everything those tests depend on. `cargo run -p course` and `watch` test an exercise again
//! only when its fingerprint changed, so a second look at the list costs no build at all.
//!
//! The file lives in the build folder (`target/course-progress.txt`), one line per exercise:
//! package, fingerprint and state, separated by tabs. Deleting it, or `cargo clean`, only
//! means the next run tests everything again.

use std::collections::BTreeMap;
use std::fs;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io;
use std::path::{Path, PathBuf};

use crate::exercises::{Exercise, State};

/// The environment variables a test run reads (the PostgreSQL exercises need a server).
const ENVIRONMENT: [&str; 2] = ["DATABASE_URL", "COURSE_REQUIRE_POSTGRES"];

/// A fingerprint of what an exercise's test run depends on: every file in its folder, the
/// workspace's manifest and lock file, the shared test support crate, and the environment the
/// tests read. Equal fingerprints mean the tests would say the same again.
pub fn fingerprint(root: &Path, exercise: &Exercise) -> u64 {
    let mut hasher = DefaultHasher::new();
    for dir in [exercise.path.clone(), root.join("lessons/support/src")] {
        for (relative, bytes) in files(&dir) {
            relative.hash(&mut hasher);
            bytes.hash(&mut hasher);
        }
    }
    for file in ["Cargo.toml", "Cargo.lock"] {
        fs::read(root.join(file))
            .unwrap_or_default()
            .hash(&mut hasher);
    }
    for name in ENVIRONMENT {
        std::env::var_os(name).hash(&mut hasher);
    }
    hasher.finish()
}

/// Every file under `dir` with its bytes, sorted by path (unreadable ones are skipped).
fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut found = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(relative) = stack.pop() {
        let Ok(entries) = fs::read_dir(dir.join(&relative)) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = relative.join(entry.file_name());
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(path);
            } else if let Ok(bytes) = fs::read(entry.path()) {
                found.push((path, bytes));
            }
        }
    }
    found.sort();
    found
}

/// The saved states, by package.
#[derive(Debug)]
pub struct Saved {
    path: PathBuf,
    entries: BTreeMap<String, (u64, State)>,
}

impl Saved {
    /// Where the course keeps its progress for the workspace at `root`.
    pub fn location(root: &Path) -> PathBuf {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target"));
        let target = if target.is_absolute() {
            target
        } else {
            root.join(target)
        };
        target.join("course-progress.txt")
    }

    /// Reads the saved progress; a missing or unreadable file is an empty one.
    pub fn load(root: &Path) -> Saved {
        let path = Self::location(root);
        let entries = Self::load_from(&path);
        Saved { path, entries }
    }

    fn load_from(path: &Path) -> BTreeMap<String, (u64, State)> {
        let text = fs::read_to_string(path).unwrap_or_default();
        text.lines()
            .filter_map(|line| {
                let mut fields = line.split('\t');
                let package = fields.next()?.to_string();
                let print = u64::from_str_radix(fields.next()?, 16).ok()?;
                let state = State::parse(fields.next()?)?;
                Some((package, (print, state)))
            })
            .collect()
    }

    /// The saved state of `exercise`, if it was saved with this fingerprint.
    pub fn get(&self, exercise: &Exercise, print: u64) -> Option<State> {
        match self.entries.get(&exercise.package) {
            Some((saved, state)) if *saved == print => Some(state.clone()),
            _ => None,
        }
    }

    /// The last state saved for `exercise`, whatever its fingerprint.
    pub fn last(&self, exercise: &Exercise) -> Option<State> {
        self.entries.get(&exercise.package).map(|(_, s)| s.clone())
    }

    /// Records a state and writes the file.
    pub fn set(&mut self, exercise: &Exercise, print: u64, state: State) -> io::Result<()> {
        self.entries
            .insert(exercise.package.clone(), (print, state));
        let text: String = self
            .entries
            .iter()
            .map(|(package, (print, state))| format!("{package}\t{print:016x}\t{}\n", state.key()))
            .collect();
        if let Some(dir) = self.path.parent() {
            fs::create_dir_all(dir)?;
        }
        // Written whole and renamed into place, so a Ctrl-C cannot leave half a file.
        let partial = self.path.with_extension("txt.partial");
        fs::write(&partial, text)?;
        fs::rename(partial, &self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exercise(dir: &Path) -> Exercise {
        Exercise {
            dir: "01-demo".into(),
            package: "ex01-demo".into(),
            description: String::new(),
            path: dir.join("exercises/01-demo"),
            solution: dir.join("solutions/01-demo"),
        }
    }

    #[test]
    fn a_change_to_any_file_of_the_exercise_changes_its_fingerprint() {
        let dir = tempfile::tempdir().unwrap();
        let ex = exercise(dir.path());
        fs::create_dir_all(ex.path.join("src")).unwrap();
        fs::write(ex.path.join("src/lib.rs"), "a").unwrap();
        let first = fingerprint(dir.path(), &ex);
        assert_eq!(first, fingerprint(dir.path(), &ex), "not stable");
        fs::write(ex.path.join("src/lib.rs"), "b").unwrap();
        let second = fingerprint(dir.path(), &ex);
        assert_ne!(first, second, "an edit to lib.rs went unnoticed");
        fs::write(dir.path().join("Cargo.lock"), "x").unwrap();
        assert_ne!(second, fingerprint(dir.path(), &ex), "Cargo.lock ignored");
    }

    #[test]
    fn saved_states_come_back_only_with_the_same_fingerprint() {
        let dir = tempfile::tempdir().unwrap();
        let ex = exercise(dir.path());
        let mut saved = Saved {
            path: dir.path().join("target/course-progress.txt"),
            entries: BTreeMap::new(),
        };
        saved.set(&ex, 7, State::Passing).unwrap();
        saved.set(&ex, 8, State::Failing).unwrap();
        let text = fs::read_to_string(&saved.path).unwrap();
        assert_eq!(text, "ex01-demo\t0000000000000008\tfailing\n");
        let mut again = Saved {
            path: saved.path.clone(),
            entries: BTreeMap::new(),
        };
        again.entries = Saved::load_from(&saved.path);
        assert_eq!(again.get(&ex, 8), Some(State::Failing));
        assert_eq!(again.get(&ex, 7), None, "a stale state was used");
        assert_eq!(again.last(&ex), Some(State::Failing));
    }
}
