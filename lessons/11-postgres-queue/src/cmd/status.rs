//! `status`: counts jobs per state, and effects applied, as lesson 10 prints them.

use super::open;
use crate::StatusArgs;
use lesson_10::flags;
use lesson_11::backoff::Backoff;
use lesson_11::store::StoreError;

pub(crate) fn status(a: &StatusArgs) -> Result<(), StoreError> {
    let mut store = open(&a.db, Backoff::default())?;
    let counts = store.counts()?;
    flags::print_status(store.server(), &counts, a.json);
    Ok(())
}
