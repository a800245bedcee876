//! `retry` and `cancel`: a person moves one job.

use super::open;
use crate::JobArgs;
use lesson_10::backoff::Backoff;
use lesson_10::flags::print_moved;
use lesson_10::store::StoreError;

pub(crate) fn retry(a: &JobArgs) -> Result<(), StoreError> {
    print_moved("retried", open(&a.db, Backoff::default())?.retry(a.id))
}

pub(crate) fn cancel(a: &JobArgs) -> Result<(), StoreError> {
    print_moved("cancelled", open(&a.db, Backoff::default())?.cancel(a.id))
}
