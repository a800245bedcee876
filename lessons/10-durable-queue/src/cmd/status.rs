//! `status`: counts jobs per state, and effects applied (printed by `lesson_10::flags`).

use super::open;
use crate::StatusArgs;
use lesson_10::backoff::Backoff;
use lesson_10::flags;
use lesson_10::store::StoreError;

pub(crate) fn status(a: &StatusArgs) -> Result<(), StoreError> {
    let counts = open(&a.db, Backoff::default())?.counts()?;
    flags::print_status(&a.db.db.display().to_string(), &counts, a.json);
    Ok(())
}
