//! `enqueue`: adds jobs that double numbers, a batch per transaction.

use super::open;
use crate::EnqueueArgs;
use lesson_11::backoff::Backoff;
use lesson_11::job::NewJob;
use lesson_11::store::{Enqueued, StoreError};
use lesson_11::work;
use std::io::Write as _;

// ANCHOR: enqueue_cmd
pub(crate) fn enqueue(a: &EnqueueArgs) -> Result<(), StoreError> {
    let mut store = open(&a.db, Backoff::default())?;
    let plan = work::plan(
        a.first,
        a.jobs,
        a.work_ms.as_millis() as u64,
        a.fail_percent,
        a.seed,
    );
    let (mut new, mut existing) = (0, 0);
    for (chunk_no, chunk) in plan.chunks(a.batch).enumerate() {
        let jobs: Vec<NewJob> = chunk
            .iter()
            .enumerate()
            .map(|(i, d)| NewJob {
                payload: d.to_payload(),
                max_attempts: a.max_attempts,
                delay_ms: a.delay_ms.as_millis() as u64,
                key: a
                    .key_prefix
                    .as_ref()
                    .map(|p| format!("{p}-{}", chunk_no * a.batch + i + 1)),
            })
            .collect();
        let ids = store.enqueue(&jobs)?;
        new += ids.iter().filter(|e| matches!(e, Enqueued::New(_))).count();
        existing += ids.len() - ids.iter().filter(|e| matches!(e, Enqueued::New(_))).count();
        // Printed only after the commit: a line here is a promise that these jobs are stored.
        println!(
            "committed {} jobs (ids {}..={})",
            ids.len(),
            ids.first().map_or(0, |e| e.id()),
            ids.last().map_or(0, |e| e.id())
        );
        let _ = std::io::stdout().flush();
    }
    println!("Enqueued {new} new jobs ({existing} were already there, by key).");
    Ok(())
}
// ANCHOR_END: enqueue_cmd
