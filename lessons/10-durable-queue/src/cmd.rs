//! The queue's commands, one file each; `main.rs` reads their flags.

mod enqueue;
mod job;
mod status;
mod worker;

pub(crate) use enqueue::enqueue;
pub(crate) use job::{cancel, retry};
pub(crate) use status::status;
pub(crate) use worker::run_worker;

use crate::DbArg;
use lesson_10::backoff::Backoff;
use lesson_10::clock::WallClock;
use lesson_10::store::{Store, StoreError};
use std::sync::Arc;

pub(crate) fn open(db: &DbArg, backoff: Backoff) -> Result<Store, StoreError> {
    Store::open(&db.db, db.synchronous, Arc::new(WallClock), backoff)
}
