//! The end of the demo: the queue's jobs and effects, every attempt as a picture, and the check
//! that nothing was lost or done twice (each printed by lesson 10's `picture`), and new: that
//! every order has its job.

use super::{Fail, Flags};
use lesson_11::store::Store;
use std::time::Duration;

pub(super) fn report(
    store: &mut Store,
    enqueued: usize,
    orders: i64,
    f: &Flags,
    threads: usize,
    t0: Duration,
    killed_at: Duration,
) -> Result<(), Fail> {
    let (jobs, effects) = (store.jobs()?, store.effects()?);
    lesson_10::picture::print_jobs(&jobs, &effects);
    let runs = store.runs()?;
    lesson_10::picture::print_attempts(
        &runs,
        (f.workers + 1, threads),
        (t0, killed_at),
        &f.picture,
        "Lesson 11: worker processes share one PostgreSQL queue, through a kill and a server restart",
    );
    let (line, kept) = lesson_10::picture::verdict(enqueued, &store.counts()?);
    let orphans: i64 = store
        .client()
        .query_one(
            "SELECT count(*) FROM orders o
             WHERE NOT EXISTS (SELECT 1 FROM jobs j WHERE j.key = 'order-' || o.id)",
            &[],
        )?
        .get(0);
    println!("{line}; {orders} orders, {orphans} without a job.");
    if !kept || orphans > 0 {
        return Err("the queue lost or doubled work".into());
    }
    Ok(())
}
