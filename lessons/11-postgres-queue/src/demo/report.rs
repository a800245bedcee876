//! The end of the demo: the queue's jobs and effects, every attempt as a picture, and the check
//! that nothing was lost or done twice and that every order has its job.

use super::{Fail, Flags};
use course_support::timeline;
use lesson_11::job::State;
use lesson_11::store::Store;
use lesson_11::work;
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
    let jobs = store.jobs()?;
    let effects = store.effects()?;
    println!("The queue at the end:");
    println!("   job  input  effect  state      attempts  last error");
    for job in &jobs {
        let input = serde_json::from_str::<work::Double>(&job.payload)
            .map_or("?".into(), |d| d.n.to_string());
        let outputs: Vec<&str> = effects
            .iter()
            .filter(|(id, _)| *id == job.id)
            .map(|(_, out)| out.as_str())
            .collect();
        println!(
            "  {:>4}  {:>5}  {:>6}  {:<10} {:>4} of {:<3} {}",
            job.id,
            input,
            if outputs.is_empty() {
                "-".to_string()
            } else {
                outputs.join("+")
            },
            job.state.as_str(),
            job.attempts,
            job.max_attempts,
            job.last_error.as_deref().unwrap_or("")
        );
    }
    println!();
    let runs = store.runs()?;
    let (spans, labels) = lesson_10::picture::spans(&runs, f.workers + 1, threads, t0, killed_at);
    println!(
        "Every attempt, one row per thread of each worker process \
         (! = failed, or cut short by the kill):"
    );
    print!(
        "{}",
        timeline::render_rows(&spans, &labels, timeline::Style::for_stdout())
    );
    f.picture.draw(&spans, &labels, "Lesson 11: worker processes share one PostgreSQL queue, through a kill and a server restart");
    println!();
    let counts = store.counts()?;
    let completed = counts.of(State::Completed);
    let discarded = counts.of(State::Discarded);
    let lost = enqueued as u64 - counts.total() + counts.unfinished();
    let once = counts.doubled == 0 && counts.effects == completed;
    let orphans: i64 = store
        .client()
        .query_one(
            "SELECT count(*) FROM orders o
             WHERE NOT EXISTS (SELECT 1 FROM jobs j WHERE j.key = 'order-' || o.id)",
            &[],
        )?
        .get(0);
    println!(
        "Report: {enqueued} enqueued = {completed} completed + {discarded} discarded, {lost} lost, \
         {} ran more than once, {}; {orders} orders, {orphans} without a job.",
        counts.ran_more_than_once,
        if once {
            "every effect applied once".to_string()
        } else {
            format!(
                "{} effects for {completed} completed jobs: NOT applied exactly once",
                counts.effects
            )
        }
    );
    if lost > 0 || !once || orphans > 0 {
        return Err("the queue lost or doubled work".into());
    }
    Ok(())
}
