//! Errors that name the server (never a password), and which of them mean the connection is
//! gone.

use super::SCHEMA_VERSION;
use lesson_10::job::State;
use postgres::error::SqlState;
use std::fmt;

/// Why the queue could not be used; its message names the server (never a password).
#[derive(Debug)]
pub struct StoreError {
    /// `host:port/database`.
    pub server: String,
    /// What went wrong.
    pub kind: ErrorKind,
}

/// What went wrong.
#[derive(Debug)]
pub enum ErrorKind {
    /// The URL is not one PostgreSQL understands.
    BadUrl(String),
    /// A database with a `jobs` table that is not this queue's.
    Foreign,
    /// A queue of another schema version.
    Version(i32),
    /// No job has this id.
    NoSuchJob(i64),
    /// The job is in a state the request does not apply to; the text says which it applies to.
    WrongState(i64, State, &'static str),
    /// What the server or the connection reported.
    Postgres(postgres::Error),
}

impl StoreError {
    /// Whether the connection is gone (the server restarted, the network failed, the
    /// connection was cut): then reconnecting, and doing the same again, is the cure.
    pub fn is_connection_lost(&self) -> bool {
        match &self.kind {
            ErrorKind::Postgres(e) => connection_lost(e),
            _ => false,
        }
    }
}

/// Whether an error means the connection is gone rather than the request was wrong.
pub fn connection_lost(e: &postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    match e.code() {
        // Class 08: connection exceptions. 57P01-57P03: the server is shutting down, crashed,
        // or is still starting. 40001/40P01: retry the transaction.
        Some(code) => {
            code.code().starts_with("08")
                || [
                    SqlState::ADMIN_SHUTDOWN,
                    SqlState::CRASH_SHUTDOWN,
                    SqlState::CANNOT_CONNECT_NOW,
                    SqlState::T_R_SERIALIZATION_FAILURE,
                    SqlState::T_R_DEADLOCK_DETECTED,
                ]
                .contains(code)
        }
        // No SQL state: the error came from the connection itself (I/O, a closed socket).
        None => true,
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let server = &self.server;
        match &self.kind {
            ErrorKind::BadUrl(why) => write!(f, "{server}: not a PostgreSQL URL ({why})"),
            ErrorKind::Foreign => write!(
                f,
                "{server}: has a `jobs` table that is not a lesson-11 queue (left untouched)"
            ),
            ErrorKind::Version(v) => write!(
                f,
                "{server}: a queue of schema version {v}; this lesson reads version \
                 {SCHEMA_VERSION} (left untouched)"
            ),
            ErrorKind::NoSuchJob(id) => write!(f, "{server}: no job {id}"),
            ErrorKind::WrongState(id, state, only) => {
                write!(f, "{server}: job {id} is {state}; {only}")
            }
            ErrorKind::Postgres(e) => {
                let text = match e.as_db_error() {
                    Some(db) => db.message().to_string(),
                    None => {
                        let mut text = e.to_string();
                        let mut source = std::error::Error::source(e);
                        while let Some(s) = source {
                            text = format!("{text}: {s}");
                            source = s.source();
                        }
                        text
                    }
                };
                write!(
                    f,
                    "{server}: {}",
                    text.lines().next().unwrap_or("database error")
                )
            }
        }
    }
}

impl std::error::Error for StoreError {}

pub(super) fn err(server: &str, e: postgres::Error) -> StoreError {
    StoreError {
        server: server.to_string(),
        kind: ErrorKind::Postgres(e),
    }
}

pub(super) fn fail(server: &str, kind: ErrorKind) -> StoreError {
    StoreError {
        server: server.to_string(),
        kind,
    }
}
