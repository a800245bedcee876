//! `cargo run -p course -- record`: runs every lesson the way its chapter shows it and keeps
//! what it printed, un-redacted, for the book.
//!
//! Each recording is `book/src/runs/NAME.txt`: its first line is the command a learner types
//! (`$ cargo run -p lesson-1`), the rest is what that command printed on a real run. The same
//! run draws its picture into `book/src/img/run-NAME.svg` (the lesson's `--svg FILE`). Each
//! lesson has a test that normalises its recording as it normalises a fresh run and compares
//! both with one snapshot, so a recording that no longer matches its program fails `cargo test`
//! until it is recorded again.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// One recording: its name, its file and the command it was made with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recording {
    /// `lesson-1`: the file's stem.
    pub name: String,
    /// `book/src/runs/lesson-1.txt`.
    pub path: PathBuf,
    /// The first line, without its `$ `.
    pub command: String,
}

impl Recording {
    /// Where the same run's picture goes.
    pub fn picture(&self, root: &Path) -> PathBuf {
        root.join("book/src/img")
            .join(format!("run-{}.svg", self.name))
    }

    /// The arguments for `cargo`: the command's own, quiet, plus `--svg` for the picture.
    pub fn cargo_args(&self, root: &Path) -> Result<Vec<String>, String> {
        let words: Vec<&str> = self.command.split_whitespace().collect();
        if words.get(..2) != Some(&["cargo", "run"][..]) {
            return Err(format!(
                "{}: the first line must be `$ cargo run …`, not `$ {}`",
                self.path.display(),
                self.command
            ));
        }
        let mut args: Vec<String> = vec!["run".into(), "-q".into()];
        args.extend(words[2..].iter().map(|w| w.to_string()));
        if !words.contains(&"--") {
            args.push("--".into());
        }
        args.push("--svg".into());
        args.push(self.picture(root).display().to_string());
        Ok(args)
    }
}

/// Every recording under `root/book/src/runs`, sorted by lesson number.
pub fn find(root: &Path) -> io::Result<Vec<Recording>> {
    let mut found = Vec::new();
    for entry in fs::read_dir(root.join("book/src/runs"))? {
        let path = entry?.path();
        if path.extension().is_none_or(|e| e != "txt") {
            continue;
        }
        let text = fs::read_to_string(&path)?;
        let first = text.lines().next().unwrap_or_default();
        let name = path
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        found.push(Recording {
            name,
            command: first.strip_prefix("$ ").unwrap_or(first).to_string(),
            path,
        });
    }
    found.sort_by_key(|r| {
        let number: u32 = r
            .name
            .trim_start_matches(|c: char| !c.is_ascii_digit())
            .parse()
            .unwrap_or(u32::MAX);
        (number, r.name.clone())
    });
    Ok(found)
}

/// Runs one recording's command and writes what it printed, and its picture. Stderr goes to
/// the terminal, so a person recording sees progress and errors.
pub fn record(root: &Path, recording: &Recording) -> Result<(), String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .args(recording.cargo_args(root)?)
        .current_dir(root)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "`{}` failed ({}); nothing was written",
            recording.command, out.status
        ));
    }
    let stdout = String::from_utf8(out.stdout)
        .map_err(|_| format!("`{}` printed bytes that are not UTF-8", recording.command))?;
    fs::write(
        &recording.path,
        format!("$ {}\n{stdout}", recording.command),
    )
    .map_err(|e| format!("cannot write {}: {e}", recording.path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    #[test]
    fn every_lesson_has_a_recording_and_its_picture() {
        let found = find(&root()).unwrap();
        let names: Vec<&str> = found.iter().map(|r| r.name.as_str()).collect();
        let lessons = fs::read_dir(root().join("lessons"))
            .unwrap()
            .filter(|e| {
                let name = e.as_ref().unwrap().file_name();
                name.to_string_lossy()
                    .starts_with(|c: char| c.is_ascii_digit())
            })
            .count();
        for n in 1..=lessons {
            assert!(
                names.contains(&format!("lesson-{n}").as_str()),
                "lesson {n} has no recording: {names:?}"
            );
        }
        for r in &found {
            assert!(
                r.picture(&root()).is_file(),
                "{} has no picture; `cargo run -p course -- record {}` draws it",
                r.name,
                r.name
            );
            let args = r.cargo_args(&root()).unwrap();
            assert!(args.contains(&"--svg".to_string()));
        }
    }

    #[test]
    fn the_command_gets_quiet_and_a_picture() {
        let r = Recording {
            name: "lesson-2".into(),
            path: PathBuf::from("runs/lesson-2.txt"),
            command: "cargo run -p lesson-2 -- --workers 4".into(),
        };
        let args = r.cargo_args(Path::new("/c")).unwrap();
        assert_eq!(
            args,
            [
                "run",
                "-q",
                "-p",
                "lesson-2",
                "--",
                "--workers",
                "4",
                "--svg",
                "/c/book/src/img/run-lesson-2.svg"
            ]
        );
        let bare = Recording {
            command: "cargo run -p lesson-1".into(),
            ..r.clone()
        };
        assert_eq!(bare.cargo_args(Path::new("/c")).unwrap()[4], "--");
        let wrong = Recording {
            command: "ls".into(),
            ..r
        };
        assert!(wrong.cargo_args(Path::new("/c")).is_err());
    }
}
