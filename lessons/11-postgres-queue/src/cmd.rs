//! The queue's commands, one file each, as in lesson 10; `main.rs` reads their flags.

mod enqueue;
mod job;
mod status;
mod worker;

pub(crate) use enqueue::enqueue;
pub(crate) use job::{cancel, retry};
pub(crate) use status::status;
pub(crate) use worker::run_worker;

use crate::DbArg;
use lesson_11::backoff::Backoff;
use lesson_11::store::{Store, StoreError};

pub(crate) fn open(db: &DbArg, backoff: Backoff) -> Result<Store, StoreError> {
    Store::connect(&db.database_url, backoff)
}
