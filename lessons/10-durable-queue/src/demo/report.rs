//! The end of the demo: the queue's jobs and effects, every attempt as a picture, and the check
//! that nothing was lost or done twice.

use super::{Fail, Flags, demo_error};
use course_support::timeline;
use lesson_10::job::{Job, State};
use lesson_10::picture;
use lesson_10::store::Store;
use lesson_10::work::Double;
use std::time::Duration;

pub(super) fn report(
    store: &Store,
    enqueued: usize,
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
        let input = input_of(job).map_or("?".into(), |n| n.to_string());
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
    let (spans, labels) = picture::spans(&runs, f.workers + 1, threads, t0, killed_at);
    println!(
        "Every attempt, one row per thread of each worker process \
         (! = failed, or cut short by the kill):"
    );
    print!(
        "{}",
        timeline::render_rows(&spans, &labels, timeline::Style::for_stdout())
    );
    f.picture.draw(
        &spans,
        &labels,
        "Lesson 10: three worker processes share one SQLite queue; worker 1 is killed mid-job",
    );
    println!();

    let counts = store.counts()?;
    let completed = counts.of(State::Completed);
    let discarded = counts.of(State::Discarded);
    let lost = enqueued as u64 - counts.total() + counts.unfinished();
    let once = counts.doubled == 0 && counts.effects == completed;
    println!(
        "Report: {enqueued} enqueued = {completed} completed + {discarded} discarded, {lost} lost, \
         {} ran more than once, {}.",
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
    if lost > 0 || !once {
        return Err(demo_error("the queue lost or doubled work"));
    }
    Ok(())
}

/// The input number of a demo job, for the final table.
fn input_of(job: &Job) -> Option<i64> {
    serde_json::from_str::<Double>(&job.payload)
        .ok()
        .map(|d| d.n)
}
