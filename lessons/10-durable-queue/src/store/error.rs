//! Errors that name the file: one line a person can act on.

use crate::job::State;
use std::fmt;
use std::path::{Path, PathBuf};

use super::SCHEMA_VERSION;

/// Why the queue could not be opened or used; its message names the file.
#[derive(Debug)]
pub struct StoreError {
    /// The database file.
    pub path: PathBuf,
    /// What went wrong.
    pub kind: ErrorKind,
}

/// What went wrong with the database.
#[derive(Debug)]
pub enum ErrorKind {
    /// The file is not a SQLite database at all.
    NotADatabase,
    /// A SQLite database, but not one of this queue's.
    Foreign,
    /// A queue of another schema version.
    Version(i32),
    /// The file or its folder cannot be written.
    ReadOnly,
    /// No job has this id.
    NoSuchJob(i64),
    /// The job is in a state the request does not apply to; the text says which states it
    /// applies to.
    WrongState(i64, State, &'static str),
    /// Anything else SQLite reported.
    Sqlite(rusqlite::Error),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display();
        match &self.kind {
            ErrorKind::NotADatabase => write!(f, "{path}: not a SQLite database"),
            ErrorKind::Foreign => write!(
                f,
                "{path}: a SQLite database, but not a lesson-10 queue (left untouched)"
            ),
            ErrorKind::Version(v) => write!(
                f,
                "{path}: a queue of schema version {v}; this lesson reads version \
                 {SCHEMA_VERSION} (left untouched)"
            ),
            ErrorKind::ReadOnly => write!(f, "{path}: cannot be written"),
            ErrorKind::NoSuchJob(id) => write!(f, "{path}: no job {id}"),
            ErrorKind::WrongState(id, state, only) => {
                write!(f, "{path}: job {id} is {state}; {only}")
            }
            ErrorKind::Sqlite(e) => {
                let text = e.to_string();
                write!(
                    f,
                    "{path}: {}",
                    text.lines().next().unwrap_or("database error")
                )
            }
        }
    }
}

impl std::error::Error for StoreError {}

pub(super) fn err(path: &Path, e: rusqlite::Error) -> StoreError {
    fail(path, classify(e))
}

pub(super) fn fail(path: &Path, kind: ErrorKind) -> StoreError {
    StoreError {
        path: path.to_path_buf(),
        kind,
    }
}

pub(super) fn classify(e: rusqlite::Error) -> ErrorKind {
    use rusqlite::ErrorCode;
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => ErrorKind::NotADatabase,
        Some(ErrorCode::ReadOnly)
        | Some(ErrorCode::CannotOpen)
        | Some(ErrorCode::PermissionDenied) => ErrorKind::ReadOnly,
        _ => ErrorKind::Sqlite(e),
    }
}
