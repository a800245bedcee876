//! `enqueue`: adds jobs that double numbers, a batch per transaction: lesson 10's command
//! (`lesson_10::flags::enqueue`), on the server.

use super::open;
use crate::EnqueueArgs;
use lesson_10::flags;
use lesson_11::backoff::Backoff;
use lesson_11::store::StoreError;

pub(crate) fn enqueue(a: &EnqueueArgs) -> Result<(), StoreError> {
    let mut store = open(&a.db, Backoff::default())?;
    flags::enqueue(&a.flags, |jobs| store.enqueue(jobs))
}
