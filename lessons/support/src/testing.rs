//! Helpers for the lessons' tests: every wait is bounded and says what probably went wrong.

use std::collections::BTreeMap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

mod book;
mod flags;
mod normalize;
mod run;
pub use book::{Recording, recorded_output, recording};
pub use flags::{assert_hostile_flags, assert_rejected};
pub use normalize::normalize;
pub use run::{Running, run_bin, spawn_lines, stdout_of};

/// Runs `f` on its own thread and waits at most `limit` for it.
///
/// On time-out the test fails with `what` and `hint` (the likely cause), instead of hanging the
/// test run. A panic inside `f` fails the test with that panic.
///
/// ```
/// use std::time::Duration;
/// let sum = course_support::testing::within(Duration::from_secs(5), "adding", "never", || 2 + 2);
/// assert_eq!(sum, 4);
/// ```
#[track_caller]
pub fn within<T, F>(limit: Duration, what: &str, hint: &str, f: F) -> T
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = std::thread::spawn(move || {
        let value = f();
        // The receiver is gone only if the wait below already timed out.
        let _ = tx.send(());
        value
    });
    match rx.recv_timeout(limit) {
        Ok(()) | Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => match handle.join() {
            Ok(value) => value,
            Err(panic) => std::panic::resume_unwind(panic),
        },
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("{what} did not finish within {limit:?}: {hint}")
        }
    }
}

/// A gate that jobs wait at until the test opens it: how a test holds jobs inside a pool for
/// exactly as long as it needs, without sleeping. Clones share one gate; once open, it stays
/// open. Every wait is bounded ([`Gate::LIMIT`]), so a test that never opens its gate fails on
/// its own assertions instead of hanging.
///
/// ```
/// use course_support::testing::Gate;
/// let gate = Gate::new();
/// let job = { let gate = gate.clone(); std::thread::spawn(move || gate.wait()) };
/// gate.open();
/// assert!(job.join().unwrap(), "the job went through once the gate opened");
/// ```
#[derive(Debug, Clone, Default)]
pub struct Gate(Arc<(Mutex<bool>, Condvar)>);

impl Gate {
    /// The longest a job waits at a gate that stays shut.
    pub const LIMIT: Duration = Duration::from_secs(5);

    /// A shut gate.
    pub fn new() -> Gate {
        Gate::default()
    }

    /// Opens the gate: every job waiting at it goes on, and so does every job that comes later.
    pub fn open(&self) {
        let (open, changed) = &*self.0;
        *open.lock().expect("never poisoned") = true;
        changed.notify_all();
    }

    /// Whether the gate has been opened.
    pub fn is_open(&self) -> bool {
        *self.0.0.lock().expect("never poisoned")
    }

    /// Waits until the gate is open, for at most [`Gate::LIMIT`]. Returns whether it opened.
    pub fn wait(&self) -> bool {
        let (open, changed) = &*self.0;
        let guard = open.lock().expect("never poisoned");
        let (guard, _) = changed
            .wait_timeout_while(guard, Gate::LIMIT, |open| !*open)
            .expect("never poisoned");
        *guard
    }
}

// ANCHOR: threads
/// Threads in this process right now: the entries of `/proc/self/task` (Linux).
///
/// # Panics
///
/// If `/proc/self/task` cannot be read (not Linux).
pub fn threads_now() -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task lists this process's threads (Linux only)")
        .count()
}

/// Waits at most `limit` until no more than `at_most` threads are left in this process.
///
/// A thread that has been joined is gone, but one that was only told to stop (a runtime's
/// blocking thread, say) may take a moment to exit. Returns the count it saw last on time-out.
pub fn threads_settle(at_most: usize, limit: Duration) -> Result<(), usize> {
    let give_up = Instant::now() + limit;
    loop {
        let now = threads_now();
        if now <= at_most {
            return Ok(());
        }
        if Instant::now() >= give_up {
            return Err(now);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}
// ANCHOR_END: threads

/// Counts how many jobs are running at once, and the most there ever were.
///
/// A job calls [`Gauge::enter`] when it starts; the returned guard leaves when dropped.
#[derive(Debug, Default)]
pub struct Gauge {
    state: Mutex<(usize, usize)>,
    changed: Condvar,
}

/// Held by a running job; dropping it marks the job as no longer running.
pub struct Inside<'a>(&'a Gauge);

impl Gauge {
    /// A gauge with nothing running.
    pub fn new() -> Gauge {
        Gauge::default()
    }

    /// Marks one more job as running.
    pub fn enter(&self) -> Inside<'_> {
        let mut state = self.state.lock().unwrap();
        state.0 += 1;
        state.1 = state.1.max(state.0);
        self.changed.notify_all();
        Inside(self)
    }

    /// The most jobs that were ever running at once.
    pub fn max(&self) -> usize {
        self.state.lock().unwrap().1
    }

    /// Jobs running now.
    pub fn now(&self) -> usize {
        self.state.lock().unwrap().0
    }

    /// Waits until `n` jobs have been running at once, for at most `limit`.
    ///
    /// Jobs that call this hold their worker until the pool has started `n` of them together,
    /// which proves the pool really runs `n` at a time, without guessing with sleeps. Returns
    /// whether the peak was reached.
    pub fn wait_for_peak(&self, n: usize, limit: Duration) -> bool {
        let state = self.state.lock().unwrap();
        let (state, _) = self
            .changed
            .wait_timeout_while(state, limit, |s| s.1 < n)
            .unwrap();
        state.1 >= n
    }
}

impl Drop for Inside<'_> {
    fn drop(&mut self) {
        let mut state = self.0.state.lock().unwrap();
        state.0 -= 1;
        self.0.changed.notify_all();
    }
}

/// Counts how often each job ran.
#[derive(Debug, Default)]
pub struct RunCounts(Mutex<BTreeMap<u64, usize>>);

impl RunCounts {
    /// No job has run yet.
    pub fn new() -> RunCounts {
        RunCounts::default()
    }

    /// Records one run of `job`.
    pub fn ran(&self, job: u64) {
        *self.0.lock().unwrap().entry(job).or_default() += 1;
    }

    /// Fails the test unless each of `jobs` ran exactly once and nothing else ran.
    pub fn assert_each_ran_once(&self, jobs: impl IntoIterator<Item = u64>) {
        let counts = self.0.lock().unwrap();
        let mut expected: Vec<u64> = jobs.into_iter().collect();
        expected.sort_unstable();
        let missing: Vec<u64> = expected
            .iter()
            .copied()
            .filter(|j| !counts.contains_key(j))
            .collect();
        let twice: Vec<(u64, usize)> = counts
            .iter()
            .filter(|(_, n)| **n > 1)
            .map(|(j, n)| (*j, *n))
            .collect();
        let stray: Vec<u64> = counts
            .keys()
            .copied()
            .filter(|j| expected.binary_search(j).is_err())
            .collect();
        assert!(
            missing.is_empty() && twice.is_empty() && stray.is_empty(),
            "every job should run exactly once: never ran {missing:?}; ran more than once \
             (job, runs) {twice:?}; ran but never submitted {stray:?}"
        );
    }
}

/// The numbers on a lesson's report line (the first line that starts with `Report: `), such as
/// `[12, 11, 1, 0]` from `Report: 12 submitted = 11 done + 1 failed + 0 abandoned.`
///
/// Fails the test, showing the output, if there is no report line or it has fewer than `N`
/// numbers; numbers past the first `N` are ignored.
pub fn report_counts<const N: usize>(output: &str) -> [u64; N] {
    let line = output
        .lines()
        .find(|l| l.starts_with("Report: "))
        .unwrap_or_else(|| panic!("no report line in:\n{output}"));
    let numbers: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse().ok())
        .collect();
    numbers
        .get(..N)
        .and_then(|first| first.try_into().ok())
        .unwrap_or_else(|| panic!("expected {N} numbers on the report line: {line}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_counts_reads_the_report_line() {
        let output = "intro 7\nReport: 12 submitted = 11 done + 1 failed + 0 abandoned; 3 late\n";
        assert_eq!(report_counts::<4>(output), [12, 11, 1, 0]);
    }

    #[test]
    #[should_panic(expected = "no report line")]
    fn report_counts_fails_without_a_report() {
        report_counts::<1>("nothing here");
    }

    #[test]
    fn a_gauge_tracks_the_peak() {
        let gauge = Gauge::new();
        let a = gauge.enter();
        let b = gauge.enter();
        drop(a);
        assert_eq!((gauge.now(), gauge.max()), (1, 2));
        drop(b);
        assert!(gauge.wait_for_peak(2, Duration::from_millis(1)));
        assert!(!gauge.wait_for_peak(3, Duration::from_millis(1)));
    }

    #[test]
    #[should_panic(expected = "never ran [3]")]
    fn run_counts_name_the_job_that_never_ran() {
        let counts = RunCounts::new();
        counts.ran(1);
        counts.ran(2);
        counts.assert_each_ran_once([1, 2, 3]);
    }

    #[test]
    #[should_panic(expected = "did not finish within")]
    fn within_fails_instead_of_hanging() {
        within(
            Duration::from_millis(20),
            "a stuck job",
            "it sleeps",
            || std::thread::sleep(Duration::from_secs(2)),
        );
    }
}
