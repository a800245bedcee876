//! `enqueue`: adds jobs that double numbers, a batch per transaction (the loop is in
//! `flags.rs`, where lesson 11 takes it from).

use super::open;
use crate::EnqueueArgs;
use lesson_10::backoff::Backoff;
use lesson_10::flags;
use lesson_10::store::StoreError;

pub(crate) fn enqueue(a: &EnqueueArgs) -> Result<(), StoreError> {
    let mut store = open(&a.db, Backoff::default())?;
    flags::enqueue(&a.flags, |jobs| store.enqueue(jobs))
}
