//! One PostgreSQL server for a whole test binary, and a fresh database for each test; and lesson
//! 10's shared test helpers.
#![allow(dead_code)]

use course_support::postgres::{self, Server};

use lesson_11::store::Store;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

/// Lesson 10's test helpers, which lesson 11's tests reuse: running a queue command, the
/// SIGTERM test, the crash rounds' processes, the jobs the store tests are written with.
#[path = "../../../10-durable-queue/tests/shared/mod.rs"]
pub mod shared;

pub const BIN: &str = env!("CARGO_BIN_EXE_lesson-11");

/// The server every test of this binary shares, started once. A throwaway server is stopped and
/// its folder deleted when the test binary exits (its shell sees its input close).
pub fn server() -> Option<&'static Server> {
    static SERVER: OnceLock<Option<Server>> = OnceLock::new();
    SERVER
        .get_or_init(|| postgres::for_tests("lesson 11's tests against PostgreSQL"))
        .as_ref()
}

/// A fresh, empty database for one test, and its URL.
pub fn database(test: &str) -> Option<String> {
    static N: AtomicU32 = AtomicU32::new(0);
    let server = server()?;
    let name = format!(
        "t{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        test.chars()
            .filter(char::is_ascii_alphanumeric)
            .take(30)
            .collect::<String>()
            .to_lowercase()
    );
    Some(
        server
            .fresh_database(&name)
            .unwrap_or_else(|e| panic!("{test}: {e}")),
    )
}

/// A store on a fresh database, or `None` when there is no server (the test then passes after
/// the NOT RUN line).
pub fn store(test: &str) -> Option<(String, Store)> {
    let url = database(test)?;
    let store =
        Store::connect(&url, shared::jobs::backoff()).unwrap_or_else(|e| panic!("{test}: {e}"));
    Some((url, store))
}
