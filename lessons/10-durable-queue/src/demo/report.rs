//! The end of the demo: the queue's jobs and effects, every attempt as a picture, and the check
//! that nothing was lost or done twice (each printed by `lesson_10::picture`, which lesson 11's
//! demo uses too).

use super::{Fail, Flags, demo_error};
use lesson_10::picture;
use lesson_10::store::Store;
use std::time::Duration;

pub(super) fn report(
    store: &Store,
    enqueued: usize,
    f: &Flags,
    threads: usize,
    t0: Duration,
    killed_at: Duration,
) -> Result<(), Fail> {
    picture::print_jobs(&store.jobs()?, &store.effects()?);
    picture::print_attempts(
        &store.runs()?,
        (f.workers + 1, threads),
        (t0, killed_at),
        &f.picture,
        "Lesson 10: three worker processes share one SQLite queue; worker 1 is killed mid-job",
    );
    let (line, kept) = picture::verdict(enqueued, &store.counts()?);
    println!("{line}.");
    if !kept {
        return Err(demo_error("the queue lost or doubled work"));
    }
    Ok(())
}
