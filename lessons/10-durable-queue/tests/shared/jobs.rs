//! The jobs and the ends of attempts the store tests are written with, and their backoff: the
//! same in lesson 10's and lesson 11's `tests/store.rs` (lesson 11 reuses this file).
#![allow(dead_code)]

use lesson_10::backoff::Backoff;
use lesson_10::job::NewJob;
use lesson_10::store::Finished;
use std::time::Duration;

/// The backoff the tests use: seeded, small.
pub fn backoff() -> Backoff {
    Backoff {
        base: Duration::from_millis(150),
        cap: Duration::from_secs(10),
        seed: 5,
    }
}

/// A job with this payload, allowed `max_attempts` attempts.
pub fn job(payload: &str, max_attempts: u32) -> NewJob {
    NewJob {
        max_attempts,
        ..NewJob::new(payload)
    }
}

/// An attempt at job `id`, under the claim `token`, that returned `out`.
pub fn ok(id: i64, token: i64, out: &str) -> Finished {
    Finished {
        id,
        token,
        result: Ok(out.into()),
    }
}

/// An attempt at job `id`, under the claim `token`, that failed with `why`.
pub fn failed(id: i64, token: i64, why: &str) -> Finished {
    Finished {
        id,
        token,
        result: Err(why.into()),
    }
}
