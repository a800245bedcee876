//! Seeded job sizes and failures: the same `--seed` gives the same jobs on every machine.

use rand::{RngExt as _, SeedableRng as _, rngs::StdRng};
use std::time::Duration;

/// What one job should do: how long to work, and whether to fail at the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobSpec {
    /// Jobs are numbered from 1, in the order they are made.
    pub id: u64,
    /// How long the simulated work takes.
    pub work: Duration,
    /// Whether the job reports an error when its work is done.
    pub fails: bool,
}

/// Makes `count` jobs whose work is spread evenly between half and one and a half times `mean`,
/// and each of which fails with probability `fail_percent`/100, all decided by `seed`.
///
/// ```
/// use std::time::Duration;
/// use course_support::workload::jobs;
///
/// let a = jobs(20, 7, Duration::from_millis(100), 20);
/// assert_eq!(a, jobs(20, 7, Duration::from_millis(100), 20), "a seed replays the same jobs");
/// assert!(a.iter().all(|j| j.work >= Duration::from_millis(50)));
/// ```
pub fn jobs(count: usize, seed: u64, mean: Duration, fail_percent: u32) -> Vec<JobSpec> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mean_us = mean.as_micros() as u64;
    (1..=count as u64)
        .map(|id| JobSpec {
            id,
            work: Duration::from_micros(rng.random_range(mean_us / 2..=mean_us * 3 / 2)),
            fails: rng.random_range(0..100) < fail_percent,
        })
        .collect()
}

/// Picks about `percent` of `count` jobs, decided by `seed`: `true` at index `i` means job `i + 1`
/// is picked. Lessons use it for a second seeded property, such as which jobs get stuck.
///
/// ```
/// let stuck = course_support::workload::pick(10, 4, 20);
/// assert_eq!(stuck, course_support::workload::pick(10, 4, 20));
/// assert_eq!(stuck.len(), 10);
/// ```
pub fn pick(count: usize, seed: u64, percent: u32) -> Vec<bool> {
    // A different stream from `jobs` with the same seed, so the picks don't mirror failures.
    let mut rng = StdRng::seed_from_u64(seed ^ 0x9e37_79b9_7f4a_7c15);
    (0..count)
        .map(|_| rng.random_range(0..100) < percent)
        .collect()
}

/// The mean work of `jobs`, for the "ideal time" lessons print beside the measured one.
pub fn mean_work(jobs: &[JobSpec]) -> Duration {
    if jobs.is_empty() {
        return Duration::ZERO;
    }
    jobs.iter().map(|j| j.work).sum::<Duration>() / jobs.len() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn different_seeds_give_different_jobs() {
        let mean = Duration::from_millis(100);
        assert_ne!(jobs(20, 1, mean, 20), jobs(20, 2, mean, 20));
    }

    #[test]
    fn the_failure_rate_is_roughly_what_was_asked() {
        let made = jobs(10_000, 3, Duration::from_millis(10), 20);
        let failed = made.iter().filter(|j| j.fails).count();
        assert!(
            (1_700..2_300).contains(&failed),
            "{failed} of 10000 failed, asked for 20%"
        );
        assert!(
            jobs(100, 3, Duration::from_millis(10), 0)
                .iter()
                .all(|j| !j.fails)
        );
        assert!(
            jobs(100, 3, Duration::from_millis(10), 100)
                .iter()
                .all(|j| j.fails)
        );
    }
}
