//! The run picture of a queue: every attempt from the `runs` table, one row per thread of each
//! worker process. Lesson 11 draws its runs the same way.

use crate::store::Run;
use course_support::timeline::Span;
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
