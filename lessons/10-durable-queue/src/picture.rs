//! The demo's final report: the queue's jobs and effects, the run picture (every attempt from
//! the `runs` table, one row per thread of each worker process), and the verdict that nothing
//! was lost or done twice. Lesson 11's demo reports the same way, with these functions.

use crate::job::{Job, State};
use crate::store::{Counts, Run};
use crate::work::Double;
use course_support::svg::SvgFlag;
use course_support::timeline::{self, Span};
use std::collections::BTreeMap;
use std::time::Duration;

/// Spans and row labels for [`course_support::timeline::render_rows`]: workers named `1` to
/// `workers`, each with `threads` rows (`worker 2.1`, `worker 2.2`, …), times measured from `t0`.
/// An attempt goes on the first row of its worker that is free when it starts. An attempt whose
/// end was never recorded (its worker was killed) is drawn until `killed`, when its worker
/// stopped, and marked like a failure.
pub fn spans(
    runs: &[Run],
    workers: usize,
    threads: usize,
    t0: Duration,
    killed: Duration,
) -> (Vec<Span>, Vec<String>) {
    let ms = |t: i64| Duration::from_millis(t as u64).saturating_sub(t0);
    let mut free: BTreeMap<(usize, usize), Duration> = BTreeMap::new();
    let mut spans = Vec::new();
    for run in runs {
        let w: usize = run.worker.parse().unwrap_or(1).clamp(1, workers);
        let start = ms(run.started_at);
        let stop = run
            .ended_at
            .map_or(killed.saturating_sub(t0).max(start), ms);
        let lane = (1..=threads)
            .find(|l| free.get(&(w, *l)).is_none_or(|until| *until <= start))
            .unwrap_or(threads);
        free.insert((w, lane), stop);
        spans.push(Span {
            worker: (w - 1) * threads + lane,
            job: run.job as u64,
            start,
            end: stop,
            failed: run.outcome.as_deref() != Some("completed"),
        });
    }
    let labels = (1..=workers)
        .flat_map(|w| (1..=threads).map(move |l| format!("worker {w}.{l}")))
        .collect();
    (spans, labels)
}

/// The demo's table of the queue at the end: a row per job with its input, its effects, its
/// state and the attempts it used. Lesson 11's demo prints the same table.
pub fn print_jobs(jobs: &[Job], effects: &[(i64, String)]) {
    println!("The queue at the end:");
    println!("   job  input  effect  state      attempts  last error");
    for job in jobs {
        let input =
            serde_json::from_str::<Double>(&job.payload).map_or("?".into(), |d| d.n.to_string());
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
}

/// The demo's picture of every attempt (see [`spans`]) on stdout, and as an image titled
/// `title` when `--svg` asks for one. Lesson 11's demo draws its runs the same way.
pub fn print_attempts(
    runs: &[Run],
    (workers, threads): (usize, usize),
    (t0, killed): (Duration, Duration),
    svg: &SvgFlag,
    title: &str,
) {
    let (spans, labels) = spans(runs, workers, threads, t0, killed);
    println!(
        "Every attempt, one row per thread of each worker process \
         (! = failed, or cut short by the kill):"
    );
    print!(
        "{}",
        timeline::render_rows(&spans, &labels, timeline::Style::for_stdout())
    );
    svg.draw(&spans, &labels, title);
    println!();
}

/// The demo's verdict on the queue's counts: the report line (without its final full stop, so
/// lesson 11 can add to it), and whether every job was kept and every effect applied once.
pub fn verdict(enqueued: usize, counts: &Counts) -> (String, bool) {
    let completed = counts.of(State::Completed);
    let discarded = counts.of(State::Discarded);
    let lost = enqueued as u64 - counts.total() + counts.unfinished();
    let once = counts.doubled == 0 && counts.effects == completed;
    let line = format!(
        "Report: {enqueued} enqueued = {completed} completed + {discarded} discarded, {lost} lost, \
         {} ran more than once, {}",
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
    (line, lost == 0 && once)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(job: i64, worker: &str, start: i64, end: Option<i64>, outcome: &str) -> Run {
        Run {
            job,
            attempt: 1,
            worker: worker.into(),
            started_at: start,
            ended_at: end,
            outcome: Some(outcome.into()),
        }
    }

    #[test]
    fn overlapping_attempts_of_one_worker_take_separate_rows_and_a_killed_one_ends_at_the_kill() {
        let runs = [
            run(1, "1", 1000, None, "lease expired"),
            run(2, "1", 1000, Some(1100), "completed"),
            run(3, "1", 1100, Some(1200), "completed"),
            run(1, "2", 1500, Some(1600), "completed"),
        ];
        let (spans, labels) = spans(
            &runs,
            2,
            2,
            Duration::from_millis(1000),
            Duration::from_millis(1300),
        );
        assert_eq!(
            labels,
            ["worker 1.1", "worker 1.2", "worker 2.1", "worker 2.2"]
        );
        let rows: Vec<(u64, usize)> = spans.iter().map(|s| (s.job, s.worker)).collect();
        assert_eq!(rows, [(1, 1), (2, 2), (3, 2), (1, 3)]);
        assert_eq!(spans[0].end, Duration::from_millis(300), "until the kill");
        assert!(spans[0].failed && !spans[1].failed);
    }
}
